//! Command metadata: the facts Redis 7.0.15 publishes about every command, and the code
//! that reads or replies with them.
//!
//! This module owns:
//! - the table (`commands.json`, embedded and parsed once at first use): arity, flags, ACL
//!   categories, tips, key specs, subcommands and docs of every Redis 7.0.15 command, taken
//!   from the real server by `scripts/gen-command-meta.py` (rerun it to regenerate);
//! - lookups by name (`lookup`, `lookup_sub`, `lookup_by_fullname`, `resolve`);
//! - key extraction exactly as Redis's COMMAND GETKEYS does it (`keys.rs`);
//! - the wire forms of COMMAND INFO / COMMAND DOCS entries and the replies of the COMMAND
//!   subcommands (`reply.rs`).
//!
//! It does not decide which commands exist on this server: the dispatcher does. Everything
//! that lists commands takes an `Implemented` filter (called with full names such as "get"
//! or "config|get"), so COMMAND COUNT / LIST / INFO / DOCS show only what is implemented.
//!
//! Order: Redis lists commands and subcommands in hash-table order (random per process);
//! here both are alphabetical.

mod keys;
mod reply;
#[cfg(test)]
mod tests;

use serde::Deserialize;
use std::collections::HashMap;
use std::sync::OnceLock;

pub use keys::{get_keys, has_keys, key_positions, key_refs, GetKeysError, KeyRef};
pub use reply::{
    reply_command, reply_count, reply_docs, reply_getkeys, reply_info, reply_list,
    write_command_docs, write_command_info, COMMAND_HELP,
};

/// Which commands the server implements, asked with full names ("get", "config|get").
pub type Implemented<'a> = &'a dyn Fn(&str) -> bool;

/// One command or subcommand, as COMMAND INFO and COMMAND DOCS describe it.
#[derive(Debug)]
pub struct CommandMeta {
    /// Lowercase; subcommands as "config|get".
    pub name: String,
    pub arity: i32,
    /// As COMMAND INFO shows them: "write", "readonly", "denyoom", "fast", ...
    pub flags: Vec<String>,
    /// The legacy (first, last, step) key range.
    pub first_key: i32,
    pub last_key: i32,
    pub step: i32,
    /// With the '@': "@keyspace", "@read", ...
    pub acl_categories: Vec<String>,
    /// "nondeterministic_output", "request_policy:all_shards", ...
    pub tips: Vec<String>,
    pub key_specs: Vec<KeySpec>,
    /// Sorted by name.
    pub subcommands: Vec<CommandMeta>,
    pub docs: Docs,
}

#[derive(Debug, Deserialize)]
pub struct KeySpec {
    #[serde(default, rename = "bs")]
    pub begin_search: BeginSearch,
    #[serde(default, rename = "fk")]
    pub find_keys: FindKeys,
    /// "RO", "RW", "OW", "RM", "access", "update", "insert", "delete", "not_key",
    /// "incomplete", "variable_flags" (in that order).
    pub flags: Vec<String>,
    #[serde(default)]
    pub notes: Option<String>,
}

#[derive(Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum BeginSearch {
    Index(i32),
    Keyword {
        keyword: String,
        startfrom: i32,
    },
    #[default]
    Unknown,
}

#[derive(Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum FindKeys {
    Range {
        lastkey: i32,
        keystep: i32,
        limit: i32,
    },
    Keynum {
        keynumidx: i32,
        firstkey: i32,
        keystep: i32,
    },
    #[default]
    Unknown,
}

/// COMMAND DOCS fields. Absent fields are `None` / empty and are left out of the reply.
#[derive(Debug, Deserialize)]
pub struct Docs {
    pub summary: Option<String>,
    pub since: Option<String>,
    /// "generic", "string", "server", ...
    pub group: String,
    pub complexity: Option<String>,
    /// "deprecated", "syscmd".
    #[serde(default)]
    pub doc_flags: Vec<String>,
    pub deprecated_since: Option<String>,
    pub replaced_by: Option<String>,
    /// (since, changes) pairs.
    #[serde(default)]
    pub history: Vec<(String, String)>,
    #[serde(default, rename = "args")]
    pub arguments: Vec<Arg>,
}

/// One argument in COMMAND DOCS (recursive for "oneof" and "block").
#[derive(Debug, Deserialize)]
pub struct Arg {
    pub name: String,
    /// "string", "integer", "double", "key", "pattern", "unix-time", "pure-token", "oneof",
    /// "block".
    #[serde(rename = "type")]
    pub arg_type: String,
    pub key_spec_index: Option<i32>,
    pub token: Option<String>,
    pub summary: Option<String>,
    pub since: Option<String>,
    pub deprecated_since: Option<String>,
    /// "optional", "multiple", "multiple_token".
    #[serde(default)]
    pub flags: Vec<String>,
    #[serde(default, rename = "args")]
    pub arguments: Vec<Arg>,
}

/// The ACL categories in Redis's order (ACL CAT), without the '@'.
pub const ACL_CATEGORIES: &[&str] = &[
    "keyspace",
    "read",
    "write",
    "set",
    "sortedset",
    "list",
    "hash",
    "string",
    "bitmap",
    "hyperloglog",
    "geo",
    "stream",
    "pubsub",
    "admin",
    "fast",
    "slow",
    "blocking",
    "dangerous",
    "connection",
    "transaction",
    "scripting",
];

impl CommandMeta {
    pub fn has_flag(&self, flag: &str) -> bool {
        self.flags.iter().any(|f| f == flag)
    }

    /// `category` without the '@', e.g. "keyspace".
    pub fn in_acl_category(&self, category: &str) -> bool {
        self.acl_categories.iter().any(|c| &c[1..] == category)
    }

    /// "config" for "config|get", the name itself for a top-level command.
    pub fn parent_name(&self) -> &str {
        self.name.split('|').next().unwrap_or(&self.name)
    }

    /// "get" for "config|get".
    pub fn short_name(&self) -> &str {
        self.name.rsplit('|').next().unwrap_or(&self.name)
    }
}

// ---------------------------------------------------------------------------------------
// The table.

/// The JSON form of a command (see scripts/gen-command-meta.py for the format).
#[derive(Deserialize)]
struct RawCommand {
    name: String,
    arity: i32,
    #[serde(default)]
    flags: Vec<String>,
    #[serde(default)]
    keys: [i32; 3],
    #[serde(default)]
    acl: Vec<String>,
    #[serde(default)]
    tips: Vec<String>,
    #[serde(default)]
    specs: Vec<KeySpec>,
    #[serde(default)]
    subs: Vec<RawCommand>,
    docs: Docs,
}

impl From<RawCommand> for CommandMeta {
    fn from(r: RawCommand) -> CommandMeta {
        let [first_key, last_key, step] = r.keys;
        CommandMeta {
            name: r.name,
            arity: r.arity,
            flags: r.flags,
            first_key,
            last_key,
            step,
            acl_categories: r.acl.into_iter().map(|c| format!("@{c}")).collect(),
            tips: r.tips,
            key_specs: r.specs,
            subcommands: r.subs.into_iter().map(CommandMeta::from).collect(),
            docs: r.docs,
        }
    }
}

struct Table {
    commands: Vec<CommandMeta>,
    by_name: HashMap<String, usize>,
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        let raw: Vec<RawCommand> = serde_json::from_str(include_str!("commands.json"))
            .expect("src/commands/meta/commands.json is malformed");
        let commands: Vec<CommandMeta> = raw.into_iter().map(CommandMeta::from).collect();
        let by_name = commands
            .iter()
            .enumerate()
            .map(|(i, c)| (c.name.clone(), i))
            .collect();
        Table { commands, by_name }
    })
}

/// Every Redis 7.0.15 top-level command, sorted by name.
pub fn all() -> &'static [CommandMeta] {
    &table().commands
}

/// A top-level command by name, case-insensitive.
pub fn lookup(name: &str) -> Option<&'static CommandMeta> {
    lookup_bytes(name.as_bytes())
}

/// `lookup` for a name straight from argv.
pub fn lookup_bytes(name: &[u8]) -> Option<&'static CommandMeta> {
    // Command names are short ASCII: lowercase into a stack buffer instead of allocating.
    let mut buf = [0u8; 32];
    let lower = buf.get_mut(..name.len())?;
    for (d, s) in lower.iter_mut().zip(name) {
        *d = s.to_ascii_lowercase();
    }
    let t = table();
    t.by_name
        .get(std::str::from_utf8(lower).ok()?)
        .map(|&i| &t.commands[i])
}

/// A subcommand of `parent` by its short name ("get" for "config|get"), case-insensitive.
pub fn lookup_sub(parent: &CommandMeta, sub: &str) -> Option<&'static CommandMeta> {
    lookup_sub_bytes(parent, sub.as_bytes())
}

pub fn lookup_sub_bytes(parent: &CommandMeta, sub: &[u8]) -> Option<&'static CommandMeta> {
    // Re-find the parent in the static table so the result borrows from it.
    let parent = lookup(&parent.name)?;
    parent
        .subcommands
        .iter()
        .find(|s| s.short_name().as_bytes().eq_ignore_ascii_case(sub))
}

/// The command or subcommand a call runs (Redis `lookupCommand`): the subcommand named by
/// argv[1] for a container command with at least two arguments (None if there is no such
/// subcommand), otherwise the top-level command. Unimplemented ones count as missing.
pub fn resolve(argv: &[&[u8]], implemented: Implemented) -> Option<&'static CommandMeta> {
    let base = lookup_bytes(argv.first()?)?;
    let cmd = match argv.get(1) {
        Some(sub) if !base.subcommands.is_empty() => lookup_sub_bytes(base, sub)?,
        _ => base,
    };
    implemented(&cmd.name).then_some(cmd)
}

/// A command by full name, "get" or "config|get" (Redis `lookupCommandBySds`, used by
/// COMMAND INFO and COMMAND DOCS): a container's name alone finds the container, a
/// non-container with a "|sub" suffix finds nothing. Unimplemented ones count as missing.
pub fn lookup_by_fullname(name: &[u8], implemented: Implemented) -> Option<&'static CommandMeta> {
    let mut parts = name.split(|&b| b == b'|');
    let base = lookup_bytes(parts.next()?)?;
    let cmd = match (parts.next(), parts.next()) {
        (None, _) => base,
        (Some(sub), None) => lookup_sub_bytes(base, sub)?,
        (Some(_), Some(_)) => return None,
    };
    implemented(&cmd.name).then_some(cmd)
}

/// The implemented top-level commands.
pub fn visible(implemented: Implemented<'_>) -> impl Iterator<Item = &'static CommandMeta> + '_ {
    all().iter().filter(move |c| implemented(&c.name))
}

/// The implemented subcommands of `m`.
pub(crate) fn visible_subs<'a>(
    m: &'a CommandMeta,
    implemented: Implemented<'a>,
) -> impl Iterator<Item = &'a CommandMeta> + 'a {
    m.subcommands.iter().filter(move |s| implemented(&s.name))
}
