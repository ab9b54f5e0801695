//! Introspection: COMMAND, SLOWLOG, LATENCY, DEBUG, MONITOR, OBJECT-free server info.

use super::Registration;

pub const COMMANDS: &[Registration] = &[];
