//! CLIENT subcommands, HELLO/AUTH/RESET live in connection.rs.

use super::Registration;

pub const COMMANDS: &[Registration] = &[];
