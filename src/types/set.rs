//! Placeholder for the set type (filled in by the collection types work).

#[derive(Default)]
pub struct SetValue {}

impl SetValue {
    pub fn encoding(&self) -> &'static str {
        "listpack"
    }
    pub fn mem_usage(&self) -> usize {
        0
    }
}
