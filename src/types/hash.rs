//! Placeholder for the hash type (filled in by the collection types work).

#[derive(Default)]
pub struct HashValue {}

impl HashValue {
    pub fn encoding(&self) -> &'static str {
        "listpack"
    }
    pub fn mem_usage(&self) -> usize {
        0
    }
}
