//! Placeholder for the stream type (filled in by the collection types work).

#[derive(Default)]
pub struct StreamValue {}

impl StreamValue {
    pub fn encoding(&self) -> &'static str {
        "stream"
    }
    pub fn mem_usage(&self) -> usize {
        0
    }
}
