//! Placeholder for the list type (filled in by the collection types work).

#[derive(Default)]
pub struct ListValue {}

impl ListValue {
    pub fn encoding(&self) -> &'static str {
        "listpack"
    }
    pub fn mem_usage(&self) -> usize {
        0
    }
}
