//! List commands, including the blocking pops.

use super::Registration;

pub const COMMANDS: &[Registration] = &[];
