//! Key extraction, as Redis 7.0's COMMAND GETKEYS / GETKEYSANDFLAGS does it
//! (`getKeysFromCommandWithSpecs` in db.c): the key specs first, and where they cannot
//! answer (unknown or incomplete specs, keys whose flags depend on the arguments, or a spec
//! that does not fit the call) the command's own getkeys function. Both are transcribed
//! literally, quirks included, so cluster routing and ACL see the keys Redis would see.

use super::{BeginSearch, CommandMeta, FindKeys, KeySpec};
use crate::util::numfmt::parse_i64;
use smallvec::{smallvec, SmallVec};

/// A key argument: its index in argv (argv[0] is the command name) and its flags as
/// COMMAND GETKEYSANDFLAGS shows them ("RW", "access", ...; empty when Redis gives none).
pub type KeyRef = (usize, Vec<&'static str>);

/// Where a found key's flags come from: its key spec, or a native getkeys function.
#[derive(Clone, Copy)]
enum Flags {
    Spec(&'static KeySpec),
    Fixed(&'static [&'static str]),
}

/// Keys found, before the flags are spelled out (no allocation for up to 8 keys).
type Found = SmallVec<[(usize, Flags); 8]>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GetKeysError {
    /// "ERR Invalid arguments specified for command"
    InvalidArgs,
    /// "ERR The command has no key arguments"
    NoKeys,
    /// "ERR Invalid number of arguments specified for command"
    Arity,
}

impl GetKeysError {
    pub fn message(self) -> &'static str {
        match self {
            GetKeysError::InvalidArgs => "ERR Invalid arguments specified for command",
            GetKeysError::NoKeys => "ERR The command has no key arguments",
            GetKeysError::Arity => "ERR Invalid number of arguments specified for command",
        }
    }
}

/// Whether the command can have key arguments at all (Redis `doesCommandHaveKeys`).
pub fn has_keys(meta: &CommandMeta) -> bool {
    native_getkeys(&meta.name).is_some() || meta.key_specs.iter().any(|s| !spec_has(s, "not_key"))
}

/// The keys of a concrete call `argv` of `meta` (argv[0] is the command name; for a
/// subcommand argv[1] is its name), with COMMAND GETKEYS's checks and errors.
/// `Ok(vec![])` only for commands flagged "no_mandatory_keys" (EVAL with 0 keys, ...).
pub fn get_keys(meta: &'static CommandMeta, argv: &[&[u8]]) -> Result<Vec<KeyRef>, GetKeysError> {
    if !has_keys(meta) {
        return Err(GetKeysError::NoKeys);
    }
    let argc = argv.len() as i64;
    let arity = meta.arity as i64;
    if (arity > 0 && arity != argc) || argc < -arity {
        return Err(GetKeysError::Arity);
    }
    let keys = keys_with_specs(meta, argv);
    if keys.is_empty() && !meta.has_flag("no_mandatory_keys") {
        return Err(GetKeysError::InvalidArgs);
    }
    let spell = |(pos, flags)| match flags {
        Flags::Spec(spec) => (pos, spec.flags.iter().map(String::as_str).collect()),
        Flags::Fixed(names) => (pos, names.to_vec()),
    };
    Ok(keys.into_iter().map(spell).collect())
}

/// The key positions of a call, for routing, locking and ACL (what Redis's dispatcher, ACL
/// and cluster code get from the same function): `get_keys` without its checks, none
/// found being empty. Allocates nothing for up to 8 keys.
pub fn key_positions(meta: &'static CommandMeta, argv: &[&[u8]]) -> SmallVec<[usize; 8]> {
    keys_with_specs(meta, argv)
        .into_iter()
        .map(|(pos, _)| pos)
        .collect()
}

/// The keys of a call with their flags, without `get_keys`'s checks (ACL key checks).
pub fn key_refs(meta: &'static CommandMeta, argv: &[&[u8]]) -> Vec<KeyRef> {
    keys_with_specs(meta, argv)
        .into_iter()
        .map(|(pos, flags)| match flags {
            Flags::Spec(spec) => (pos, spec.flags.iter().map(String::as_str).collect()),
            Flags::Fixed(names) => (pos, names.to_vec()),
        })
        .collect()
}

/// Redis `getKeysFromCommandWithSpecs` (no errors: no keys is an empty list).
fn keys_with_specs(meta: &'static CommandMeta, argv: &[&[u8]]) -> Found {
    let has_keyspec = meta.key_specs.iter().any(|s| !spec_has(s, "not_key"));
    let has_varflags = meta.key_specs.iter().any(|s| spec_has(s, "variable_flags"));
    if has_keyspec && !has_varflags {
        if let Some(keys) = keys_from_specs(meta, argv) {
            return keys;
        }
    }
    match native_getkeys(&meta.name) {
        Some(f) => f(argv),
        None => Found::new(),
    }
}

fn spec_has(spec: &KeySpec, flag: &str) -> bool {
    spec.flags.iter().any(|f| f == flag)
}

/// Redis `getKeysUsingKeySpecs` with default search flags: None where it returns -1
/// (an unknown or incomplete spec, or one that does not fit the arguments).
fn keys_from_specs(meta: &'static CommandMeta, argv: &[&[u8]]) -> Option<Found> {
    let argc = argv.len() as i64;
    let mut keys = Found::new();
    for spec in &meta.key_specs {
        if spec_has(spec, "not_key") {
            continue;
        }
        let first = match &spec.begin_search {
            BeginSearch::Index(pos) => *pos as i64,
            BeginSearch::Keyword { keyword, startfrom } => {
                match find_keyword(argv, keyword, *startfrom as i64) {
                    Some(i) => i + 1,
                    None => continue, // keyword not found: this spec has no keys
                }
            }
            BeginSearch::Unknown => return None,
        };
        let (first, last, step) = match spec.find_keys {
            FindKeys::Range {
                lastkey,
                keystep,
                limit,
            } => {
                let (lastkey, limit) = (lastkey as i64, limit as i64);
                let last = if lastkey >= 0 {
                    first + lastkey
                } else if limit == 0 {
                    argc + lastkey
                } else {
                    first + ((argc - first) / limit + lastkey)
                };
                (first, last, keystep as i64)
            }
            FindKeys::Keynum {
                keynumidx,
                firstkey,
                keystep,
            } => {
                if keynumidx as i64 >= argc {
                    return None;
                }
                let numkeys = argv
                    .get((first + keynumidx as i64) as usize)
                    .and_then(|a| parse_i64(a));
                let numkeys = numkeys.filter(|&n| n >= 0)?;
                let first = first + firstkey as i64;
                // Redis casts the count to int.
                (first, first + (numkeys as i32) as i64 - 1, keystep as i64)
            }
            FindKeys::Unknown => return None,
        };
        if last >= argc || last < first || first >= argc {
            return None;
        }
        let mut i = first;
        while i <= last {
            keys.push((i as usize, Flags::Spec(spec)));
            i += step.max(1);
        }
        if spec_has(spec, "incomplete") {
            return None;
        }
    }
    Some(keys)
}

/// The index of `keyword` for a keyword begin-search spec, scanning as Redis does: forward
/// from `startfrom` up to (not including) the last argument, or for a negative `startfrom`
/// backward from argc+startfrom down to (not including) argv[1].
fn find_keyword(argv: &[&[u8]], keyword: &str, startfrom: i64) -> Option<i64> {
    let argc = argv.len() as i64;
    let (start, end) = if startfrom > 0 {
        (startfrom, argc - 1)
    } else {
        (argc + startfrom, 1)
    };
    let dir = if start <= end { 1 } else { -1 };
    let mut i = start;
    while i != end {
        if i >= argc || i < 1 {
            break;
        }
        if eq_nocase(argv[i as usize], keyword) {
            return Some(i);
        }
        i += dir;
    }
    None
}

/// `strcasecmp` on an argument: C compares up to the first NUL.
fn eq_nocase(arg: &[u8], word: &str) -> bool {
    let end = arg.iter().position(|&b| b == 0).unwrap_or(arg.len());
    arg[..end].eq_ignore_ascii_case(word.as_bytes())
}

/// glibc `atoi`: leading whitespace, an optional sign, digits; `strtol`'s saturation,
/// then the cast to int.
fn atoi(arg: &[u8]) -> i64 {
    let mut s = arg
        .iter()
        .copied()
        .skip_while(|b| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))
        .peekable();
    let neg = match s.peek() {
        Some(b'-') => {
            s.next();
            true
        }
        Some(b'+') => {
            s.next();
            false
        }
        _ => false,
    };
    let mut v: i64 = 0;
    for b in s.take_while(u8::is_ascii_digit) {
        let d = (b - b'0') as i64;
        v = if neg {
            v.saturating_mul(10).saturating_sub(d)
        } else {
            v.saturating_mul(10).saturating_add(d)
        };
    }
    v as i32 as i64
}

// ---------------------------------------------------------------------------------------
// The native getkeys functions (db.c), for the commands whose specs cannot always answer.

type NativeGetKeys = fn(&[&[u8]]) -> Found;

const NO_FLAGS: Flags = Flags::Fixed(&[]);

const RO_ACCESS: Flags = Flags::Fixed(&["RO", "access"]);
const RW_ACCESS_UPDATE: Flags = Flags::Fixed(&["RW", "access", "update"]);
const RW_ACCESS_DELETE: Flags = Flags::Fixed(&["RW", "access", "delete"]);
const OW_UPDATE: Flags = Flags::Fixed(&["OW", "update"]);

fn native_getkeys(name: &str) -> Option<NativeGetKeys> {
    Some(match name {
        "zunionstore" | "zinterstore" | "zdiffstore" => |a| generic_getkeys(a, 1, 2, 3),
        "zunion" | "zinter" | "zdiff" | "zintercard" | "sintercard" | "lmpop" | "zmpop" => {
            |a| generic_getkeys(a, 0, 1, 2)
        }
        // BZMPOP uses BLMPOP's function.
        "eval" | "evalsha" | "eval_ro" | "evalsha_ro" | "fcall" | "fcall_ro" | "blmpop"
        | "bzmpop" => |a| generic_getkeys(a, 0, 2, 3),
        "sort" => sort_getkeys,
        "sort_ro" => |_| smallvec![(1, RO_ACCESS)],
        "migrate" => migrate_getkeys,
        "georadius" | "georadiusbymember" => georadius_getkeys,
        "xread" | "xreadgroup" => xread_getkeys,
        "set" => set_getkeys,
        "bitfield" => bitfield_getkeys,
        _ => return None,
    })
}

/// Redis `genericGetKeys`: `COMMAND [destkey] <numkeys> <key> ... <options>`, key step 1,
/// flags not given. No keys when numkeys is below 1 or more than the arguments left.
fn generic_getkeys(argv: &[&[u8]], store_at: usize, numkeys_at: usize, first_at: usize) -> Found {
    let argc = argv.len() as i64;
    let num = argv.get(numkeys_at).map_or(0, |a| atoi(a));
    if num < 1 || num > argc - first_at as i64 {
        return Found::new();
    }
    let mut keys: Found = (0..num as usize)
        .map(|i| (first_at + i, NO_FLAGS))
        .collect();
    if store_at != 0 {
        keys.push((store_at, NO_FLAGS));
    }
    keys
}

/// Redis `sortGetKeys`: the sorted key, and the key after the last STORE, skipping the
/// arguments of LIMIT, GET and BY.
fn sort_getkeys(argv: &[&[u8]]) -> Found {
    const SKIP: &[(&str, usize)] = &[("limit", 2), ("get", 1), ("by", 1)];
    let mut keys: Found = smallvec![(1, RO_ACCESS)];
    let mut store = None;
    let mut i = 2;
    while i < argv.len() {
        for &(name, skip) in SKIP {
            if eq_nocase(argv[i], name) {
                i += skip;
                break;
            } else if eq_nocase(argv[i], "store") && i + 1 < argv.len() {
                // Keep scanning: the last STORE wins (the loop goes on at the store key).
                store = Some(i + 1);
                break;
            }
        }
        i += 1;
    }
    keys.extend(store.map(|s| (s, OW_UPDATE)));
    keys
}

/// Redis `migrateGetKeys`: argv[3], or with an empty argv[3] the keys after KEYS.
fn migrate_getkeys(argv: &[&[u8]]) -> Found {
    const SKIP: &[(&str, usize)] = &[("copy", 0), ("replace", 0), ("auth", 1), ("auth2", 2)];
    let (mut first, mut num) = (3, 1);
    if argv.len() > 6 {
        let mut i = 6;
        while i < argv.len() {
            if eq_nocase(argv[i], "keys") {
                if !argv[3].is_empty() {
                    num = 0; // a syntax error, which MIGRATE itself reports
                } else {
                    first = i + 1;
                    num = argv.len() - first;
                }
                break;
            }
            if let Some(&(_, skip)) = SKIP.iter().find(|(name, _)| eq_nocase(argv[i], name)) {
                i += skip;
            }
            i += 1;
        }
    }
    (first..first + num)
        .map(|i| (i, RW_ACCESS_DELETE))
        .collect()
}

/// Redis `georadiusGetKeys`: the key, and the argument after the last STORE or STOREDIST.
fn georadius_getkeys(argv: &[&[u8]]) -> Found {
    let mut stored = None;
    let mut i = 5;
    while i < argv.len() {
        if (eq_nocase(argv[i], "store") || eq_nocase(argv[i], "storedist")) && i + 1 < argv.len() {
            stored = Some(i + 1);
            i += 1;
        }
        i += 1;
    }
    std::iter::once(1)
        .chain(stored)
        .map(|p| (p, NO_FLAGS))
        .collect()
}

/// Redis `xreadGetKeys`: the first half of the arguments after STREAMS, found by skipping
/// the known options; nothing on a syntax error or an odd count.
fn xread_getkeys(argv: &[&[u8]]) -> Found {
    let mut streams = None;
    let mut i = 1;
    while i < argv.len() {
        let a = argv[i];
        if eq_nocase(a, "block") || eq_nocase(a, "count") {
            i += 1;
        } else if eq_nocase(a, "group") {
            i += 2;
        } else if eq_nocase(a, "noack") {
        } else if eq_nocase(a, "streams") {
            streams = Some(i);
            break;
        } else {
            break;
        }
        i += 1;
    }
    let Some(pos) = streams else {
        return Found::new();
    };
    let num = argv.len() - pos - 1;
    if num == 0 || !num.is_multiple_of(2) {
        return Found::new();
    }
    (pos + 1..pos + 1 + num / 2)
        .map(|i| (i, NO_FLAGS))
        .collect()
}

/// Redis `setGetKeys`: SET's key is read too when a GET option follows.
fn set_getkeys(argv: &[&[u8]]) -> Found {
    let get = argv.iter().skip(3).any(|a| eq_nocase(a, "get"));
    let flags = if get { RW_ACCESS_UPDATE } else { OW_UPDATE };
    smallvec![(1, flags)]
}

/// Redis `bitfieldGetKeys`: read-only when every operation is a complete GET (OVERFLOW
/// allowed); a SET, an INCRBY or anything unparsable makes it a write.
fn bitfield_getkeys(argv: &[&[u8]]) -> Found {
    let mut readonly = true;
    let mut i = 2;
    while i < argv.len() {
        let remaining = argv.len() - i - 1;
        let a = argv[i];
        if eq_nocase(a, "get") && remaining >= 2 {
            i += 2;
        } else if (eq_nocase(a, "set") || eq_nocase(a, "incrby")) && remaining >= 3 {
            readonly = false;
            break;
        } else if eq_nocase(a, "overflow") && remaining >= 1 {
            i += 1;
        } else {
            readonly = false;
            break;
        }
        i += 1;
    }
    let flags = if readonly {
        RO_ACCESS
    } else {
        RW_ACCESS_UPDATE
    };
    smallvec![(1, flags)]
}
