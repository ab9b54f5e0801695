//! RESP request parsing.
