//! The wire protocol: RESP request parsing (`parse`) and reply encoding (`reply`).
pub mod parse;
pub mod reply;

pub use reply::ReplyBuf;
