//! ferrodis: a Redis-compatible data store.
//!
//! Module map (see docs/architecture.md):
//! - `protocol`  RESP2/RESP3 request parsing and reply encoding
//! - `net`       worker threads, event loops, client connections
//! - `dispatch`  from a parsed command to its handler (checks, locking, stats)
//! - `blocking`  clients blocked on keys (BLPOP, BZPOPMIN, XREAD BLOCK) or events (WAIT)
//! - `commands`  the command table and one file per command family
//! - `keyspace`  databases, the dict, entries and values, expiry
//! - `types`     collection data structures
//! - `config`    redis.conf parsing, CONFIG GET/SET/REWRITE
//! - `server`    process-wide state; `cron` the periodic jobs; `shutdown`; `log`
//! - `scripting` Lua scripting: EVAL scripts and FUNCTION libraries
//! - `util`      glob matching, number formatting, small helpers

pub mod acl;
pub mod blocking;
pub mod commands;
pub mod config;
pub mod cron;
pub mod dispatch;
pub mod evict;
pub mod keyspace;
pub mod log;
pub mod net;
pub mod persist;
pub mod protocol;
pub mod pubsub;
pub mod replica;
pub mod scripting;
pub mod server;
pub mod shutdown;
pub mod tracking;
pub mod types;
pub mod util;
pub mod wstream;
