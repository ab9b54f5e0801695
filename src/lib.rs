//! ferrodis: a Redis-compatible data store.
//!
//! Module map (see docs/architecture.md):
//! - `protocol`  RESP2/RESP3 request parsing and reply encoding
//! - `net`       worker threads, event loops, client connections
//! - `keyspace`  databases, the dict, entries and values, expiry
//! - `commands`  the command table and one file per command family
//! - `config`    redis.conf parsing, CONFIG GET/SET/REWRITE
//! - `util`      glob matching, number formatting, small helpers

pub mod config;
pub mod protocol;
pub mod util;
