//! HyperLogLog commands.

use super::Registration;

pub const COMMANDS: &[Registration] = &[];
