//! The wire forms of command metadata: COMMAND INFO and COMMAND DOCS entries (server.c
//! `addReplyCommandInfo` / `addReplyCommandDocs`, byte for byte in RESP2 and RESP3 apart
//! from the order of commands and subcommands), and the replies of the COMMAND
//! subcommands, each limited to what the dispatcher implements.

use super::{
    get_keys, lookup_by_fullname, resolve, visible, visible_subs, Arg, BeginSearch, CommandMeta,
    FindKeys, Implemented, ACL_CATEGORIES,
};
use crate::protocol::ReplyBuf;

/// COMMAND HELP's lines (for the generic help reply).
pub const COMMAND_HELP: &[&str] = &[
    "(no subcommand)",
    "    Return details about all Redis commands.",
    "COUNT",
    "    Return the total number of commands in this Redis server.",
    "LIST",
    "    Return a list of all commands in this Redis server.",
    "INFO [<command-name> ...]",
    "    Return details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "DOCS [<command-name> ...]",
    "    Return documentation details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "GETKEYS <full-command>",
    "    Return the keys from a full Redis command.",
    "GETKEYSANDFLAGS <full-command>",
    "    Return the keys and the access flags from a full Redis command.",
];

/// A set of status replies (Redis `addReplyCommandFlags`).
fn status_set<S: AsRef<str>>(out: &mut ReplyBuf, items: &[S]) {
    out.set(items.len());
    for s in items {
        out.simple(s.as_ref());
    }
}

fn field_str(out: &mut ReplyBuf, name: &str, value: &str) {
    out.bulk_str(name);
    out.bulk_str(value);
}

fn field_int(out: &mut ReplyBuf, name: &str, value: i32) {
    out.bulk_str(name);
    out.int(value as i64);
}

/// A set of status replies under `name`, left out when empty.
fn field_flags(out: &mut ReplyBuf, name: &str, flags: &[String]) {
    if !flags.is_empty() {
        out.bulk_str(name);
        status_set(out, flags);
    }
}

fn field_opt(out: &mut ReplyBuf, name: &str, value: &Option<String>) {
    if let Some(v) = value {
        field_str(out, name, v);
    }
}

/// One COMMAND INFO entry: name, arity, flags, first key, last key, step, ACL categories,
/// tips, key specs, subcommands (only the implemented ones).
pub fn write_command_info(out: &mut ReplyBuf, m: &CommandMeta, implemented: Implemented) {
    out.array(10);
    out.bulk_str(&m.name);
    out.int(m.arity as i64);
    status_set(out, &m.flags);
    out.int(m.first_key as i64);
    out.int(m.last_key as i64);
    out.int(m.step as i64);
    status_set(out, &m.acl_categories);
    out.set(m.tips.len());
    for t in &m.tips {
        out.bulk_str(t);
    }
    out.set(m.key_specs.len());
    for spec in &m.key_specs {
        out.map(3 + spec.notes.is_some() as usize);
        field_opt(out, "notes", &spec.notes);
        out.bulk_str("flags");
        status_set(out, &spec.flags);
        out.bulk_str("begin_search");
        match &spec.begin_search {
            BeginSearch::Index(pos) => {
                search_type(out, "index", 1);
                field_int(out, "index", *pos);
            }
            BeginSearch::Keyword { keyword, startfrom } => {
                search_type(out, "keyword", 2);
                field_str(out, "keyword", keyword);
                field_int(out, "startfrom", *startfrom);
            }
            BeginSearch::Unknown => search_type(out, "unknown", 0),
        }
        out.bulk_str("find_keys");
        let (kind, fields) = match spec.find_keys {
            FindKeys::Range {
                lastkey,
                keystep,
                limit,
            } => (
                "range",
                [("lastkey", lastkey), ("keystep", keystep), ("limit", limit)],
            ),
            FindKeys::Keynum {
                keynumidx,
                firstkey,
                keystep,
            } => (
                "keynum",
                [
                    ("keynumidx", keynumidx),
                    ("firstkey", firstkey),
                    ("keystep", keystep),
                ],
            ),
            FindKeys::Unknown => {
                search_type(out, "unknown", 0);
                continue;
            }
        };
        search_type(out, kind, 3);
        for (name, v) in fields {
            field_int(out, name, v);
        }
    }
    if m.subcommands.is_empty() {
        out.set(0);
    } else {
        let subs: Vec<&CommandMeta> = visible_subs(m, implemented).collect();
        out.array(subs.len());
        for s in subs {
            write_command_info(out, s, implemented);
        }
    }
}

/// `{type: <kind>, spec: {<n fields follow>}}` of a begin_search / find_keys spec.
fn search_type(out: &mut ReplyBuf, kind: &str, spec_fields: usize) {
    out.map(2);
    field_str(out, "type", kind);
    out.bulk_str("spec");
    out.map(spec_fields);
}

/// The value of one COMMAND DOCS entry (a map; the caller writes the name before it).
/// Subcommands are limited to the implemented ones.
pub fn write_command_docs(out: &mut ReplyBuf, m: &CommandMeta, implemented: Implemented) {
    let d = &m.docs;
    let present = [
        d.summary.is_some(),
        d.since.is_some(),
        true, // group
        d.complexity.is_some(),
        !d.doc_flags.is_empty(),
        d.deprecated_since.is_some(),
        d.replaced_by.is_some(),
        !d.history.is_empty(),
        !d.arguments.is_empty(),
        !m.subcommands.is_empty(),
    ];
    out.map(present.iter().filter(|&&p| p).count());
    field_opt(out, "summary", &d.summary);
    field_opt(out, "since", &d.since);
    field_str(out, "group", &d.group);
    field_opt(out, "complexity", &d.complexity);
    field_flags(out, "doc_flags", &d.doc_flags);
    field_opt(out, "deprecated_since", &d.deprecated_since);
    field_opt(out, "replaced_by", &d.replaced_by);
    if !d.history.is_empty() {
        out.bulk_str("history");
        out.set(d.history.len());
        for (since, changes) in &d.history {
            out.array(2);
            out.bulk_str(since);
            out.bulk_str(changes);
        }
    }
    if !d.arguments.is_empty() {
        out.bulk_str("arguments");
        write_args(out, &d.arguments);
    }
    if !m.subcommands.is_empty() {
        out.bulk_str("subcommands");
        let subs: Vec<&CommandMeta> = visible_subs(m, implemented).collect();
        out.map(subs.len());
        for s in subs {
            out.bulk_str(&s.name);
            write_command_docs(out, s, implemented);
        }
    }
}

/// Redis `addReplyCommandArgList`.
fn write_args(out: &mut ReplyBuf, args: &[Arg]) {
    out.array(args.len());
    for a in args {
        let nested = a.arg_type == "oneof" || a.arg_type == "block";
        let optional = [
            a.key_spec_index.is_some(),
            a.token.is_some(),
            a.summary.is_some(),
            a.since.is_some(),
            a.deprecated_since.is_some(),
            !a.flags.is_empty(),
            nested,
        ];
        out.map(2 + optional.iter().filter(|&&p| p).count());
        field_str(out, "name", &a.name);
        field_str(out, "type", &a.arg_type);
        if let Some(i) = a.key_spec_index {
            field_int(out, "key_spec_index", i);
        }
        field_opt(out, "token", &a.token);
        field_opt(out, "summary", &a.summary);
        field_opt(out, "since", &a.since);
        field_opt(out, "deprecated_since", &a.deprecated_since);
        field_flags(out, "flags", &a.flags);
        if nested {
            out.bulk_str("arguments");
            write_args(out, &a.arguments);
        }
    }
}

// ---------------------------------------------------------------------------------------
// The COMMAND subcommands. `argv` is the whole call, argv[0] = "COMMAND"; the dispatcher
// has checked the subcommand's arity.

/// COMMAND (no arguments): every implemented command's INFO entry.
pub fn reply_command(out: &mut ReplyBuf, implemented: Implemented) {
    let cmds: Vec<&CommandMeta> = visible(implemented).collect();
    out.array(cmds.len());
    for m in cmds {
        write_command_info(out, m, implemented);
    }
}

/// COMMAND COUNT: the number of implemented top-level commands.
pub fn reply_count(out: &mut ReplyBuf, implemented: Implemented) {
    out.int(visible(implemented).count() as i64);
}

/// COMMAND LIST [FILTERBY MODULE <name> | ACLCAT <category> | PATTERN <pattern>]: the full
/// names of the implemented commands, each followed by its subcommands.
/// `glob_nocase(pattern, name)` is Redis `stringmatchlen` with nocase = 1.
pub fn reply_list(
    out: &mut ReplyBuf,
    argv: &[&[u8]],
    implemented: Implemented,
    glob_nocase: &dyn Fn(&[u8], &[u8]) -> bool,
) {
    let keep: Box<dyn Fn(&CommandMeta) -> bool + '_> = match argv.get(2..) {
        None | Some([]) => Box::new(|_| true),
        Some([opt, kind, arg]) if opt.eq_ignore_ascii_case(b"filterby") => {
            let arg = *arg;
            if kind.eq_ignore_ascii_case(b"module") {
                Box::new(|_| false) // no module commands here
            } else if kind.eq_ignore_ascii_case(b"aclcat") {
                match ACL_CATEGORIES
                    .iter()
                    .find(|c| c.as_bytes().eq_ignore_ascii_case(arg))
                {
                    Some(cat) => Box::new(move |m| m.in_acl_category(cat)),
                    None => Box::new(|_| false),
                }
            } else if kind.eq_ignore_ascii_case(b"pattern") {
                Box::new(move |m| glob_nocase(arg, m.name.as_bytes()))
            } else {
                return out.error("ERR syntax error");
            }
        }
        Some(_) => return out.error("ERR syntax error"),
    };
    let mut names = Vec::new();
    for m in visible(implemented) {
        for c in std::iter::once(m).chain(visible_subs(m, implemented)) {
            if keep(c) {
                names.push(c.name.as_str());
            }
        }
    }
    out.bulk_array(names);
}

/// COMMAND INFO [name ...]: an entry (or a null) per name, or all implemented commands.
pub fn reply_info(out: &mut ReplyBuf, argv: &[&[u8]], implemented: Implemented) {
    let names = argv.get(2..).unwrap_or_default();
    if names.is_empty() {
        return reply_command(out, implemented);
    }
    out.array(names.len());
    for name in names {
        match lookup_by_fullname(name, implemented) {
            Some(m) => write_command_info(out, m, implemented),
            None => out.null(),
        }
    }
}

/// COMMAND DOCS [name ...]: a map of the named commands that exist (unknown names are left
/// out), or of all implemented commands.
pub fn reply_docs(out: &mut ReplyBuf, argv: &[&[u8]], implemented: Implemented) {
    let names = argv.get(2..).unwrap_or_default();
    let cmds: Vec<&CommandMeta> = if names.is_empty() {
        visible(implemented).collect()
    } else {
        names
            .iter()
            .filter_map(|n| lookup_by_fullname(n, implemented))
            .collect()
    };
    out.map(cmds.len());
    for m in cmds {
        out.bulk_str(&m.name);
        write_command_docs(out, m, implemented);
    }
}

/// COMMAND GETKEYS / COMMAND GETKEYSANDFLAGS <command> [arg ...].
pub fn reply_getkeys(
    out: &mut ReplyBuf,
    argv: &[&[u8]],
    implemented: Implemented,
    with_flags: bool,
) {
    let call = argv.get(2..).unwrap_or_default();
    let Some(m) = resolve(call, implemented) else {
        return out.error("ERR Invalid command specified");
    };
    match get_keys(m, call) {
        Err(e) => out.error(e.message()),
        Ok(keys) => {
            out.array(keys.len());
            for (pos, flags) in keys {
                if with_flags {
                    out.array(2);
                    out.bulk(call[pos]);
                    status_set(out, &flags);
                } else {
                    out.bulk(call[pos]);
                }
            }
        }
    }
}
