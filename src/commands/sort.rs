//! SORT and SORT_RO.

use super::Registration;

pub const COMMANDS: &[Registration] = &[];
