//! Placeholder for the zset type (filled in by the collection types work).

#[derive(Default)]
pub struct ZSetValue {}

impl ZSetValue {
    pub fn encoding(&self) -> &'static str {
        "listpack"
    }
    pub fn mem_usage(&self) -> usize {
        0
    }
}
