//! Scripting commands: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, SCRIPT *, FCALL, FCALL_RO,
//! FUNCTION *. The engines live in `crate::scripting`; this file parses arguments and
//! writes replies.
//!
//! EVAL/FCALL are registered ALL_SHARDS: a script may touch any key, and runs with every
//! shard locked (atomic like MULTI/EXEC).

use super::{eq_ic, flags, Ctx, Registration};
use crate::scripting::{eval, functions};

pub const COMMANDS: &[Registration] = &[
    ("eval", eval_cmd, flags::ALL_SHARDS | flags::MAY_REPLICATE),
    ("evalsha", evalsha_cmd, flags::ALL_SHARDS | flags::MAY_REPLICATE),
    ("eval_ro", eval_ro_cmd, flags::ALL_SHARDS),
    ("evalsha_ro", evalsha_ro_cmd, flags::ALL_SHARDS),
    ("fcall", fcall_cmd, flags::ALL_SHARDS | flags::MAY_REPLICATE),
    ("fcall_ro", fcall_ro_cmd, flags::ALL_SHARDS),
    ("script|load", script_load, 0),
    ("script|exists", script_exists, 0),
    ("script|flush", script_flush, 0),
    ("script|kill", script_kill, 0),
    ("script|debug", script_debug, 0),
    ("script|help", script_help, 0),
    ("function|load", function_load, 0),
    ("function|delete", function_delete, 0),
    ("function|flush", function_flush, 0),
    ("function|list", function_list, 0),
    ("function|dump", function_dump, 0),
    ("function|restore", function_restore, 0),
    ("function|stats", function_stats, 0),
    ("function|kill", function_kill, 0),
    ("function|help", function_help, 0),
];

fn eval_cmd(ctx: &mut Ctx, argv: &[&[u8]]) {
    eval::eval_command(ctx, argv, false, false)
}

fn evalsha_cmd(ctx: &mut Ctx, argv: &[&[u8]]) {
    eval::eval_command(ctx, argv, true, false)
}

fn eval_ro_cmd(ctx: &mut Ctx, argv: &[&[u8]]) {
    eval::eval_command(ctx, argv, false, true)
}

fn evalsha_ro_cmd(ctx: &mut Ctx, argv: &[&[u8]]) {
    eval::eval_command(ctx, argv, true, true)
}

fn fcall_cmd(ctx: &mut Ctx, argv: &[&[u8]]) {
    functions::fcall_command(ctx, argv, false)
}

fn fcall_ro_cmd(ctx: &mut Ctx, argv: &[&[u8]]) {
    functions::fcall_command(ctx, argv, true)
}

/// addReplyHelp: a header line, the given lines, then HELP.
fn help_reply(ctx: &mut Ctx, cmd: &str, lines: &[&str]) {
    ctx.out.array(lines.len() + 3);
    ctx.out.simple(&format!("{cmd} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"));
    for l in lines {
        ctx.out.simple(l);
    }
    ctx.out.simple("HELP");
    ctx.out.simple("    Prints this help.");
}

/// addReplySubcommandSyntaxError.
fn subcommand_syntax_error(ctx: &mut Ctx, argv: &[&[u8]]) {
    let sub = String::from_utf8_lossy(&argv[1][..argv[1].len().min(128)]).into_owned();
    let cmd = String::from_utf8_lossy(argv[0]).to_ascii_uppercase();
    ctx.out.error(&format!("ERR unknown subcommand or wrong number of arguments for '{sub}'. Try {cmd} HELP."));
}

/// FLUSH's optional SYNC|ASYNC argument: Some(()) when valid.
fn flush_mode(argv: &[&[u8]]) -> Option<()> {
    match argv.get(2) {
        None => Some(()),
        Some(a) if eq_ic(a, "sync") || eq_ic(a, "async") => Some(()),
        Some(_) => None,
    }
}

// ---------------------------------------------------------------------------------------
// SCRIPT

fn script_load(ctx: &mut Ctx, argv: &[&[u8]]) {
    let res = ctx.srv.scripting.eval.lock().create(argv[2]);
    match res {
        Ok(sha) => ctx.out.bulk(&sha),
        Err(e) => ctx.out.error(&e),
    }
}

fn script_exists(ctx: &mut Ctx, argv: &[&[u8]]) {
    let eng = ctx.srv.scripting.eval.lock();
    ctx.out.array(argv.len() - 2);
    for sha in &argv[2..] {
        ctx.out.int(eng.exists(sha) as i64);
    }
}

fn script_flush(ctx: &mut Ctx, argv: &[&[u8]]) {
    if argv.len() > 3 || flush_mode(argv).is_none() {
        return ctx.out.error("ERR SCRIPT FLUSH only support SYNC|ASYNC option");
    }
    ctx.srv.scripting.eval.lock().reset();
    ctx.out.ok();
}

fn script_kill(ctx: &mut Ctx, _argv: &[&[u8]]) {
    crate::scripting::kill(ctx, true)
}

fn script_debug(ctx: &mut Ctx, argv: &[&[u8]]) {
    if eq_ic(argv[2], "no") {
        ctx.out.ok()
    } else if eq_ic(argv[2], "yes") || eq_ic(argv[2], "sync") {
        ctx.out.error("ERR SCRIPT DEBUG is not supported by this server")
    } else {
        ctx.out.error("ERR Use SCRIPT DEBUG YES/SYNC/NO")
    }
}

fn script_help(ctx: &mut Ctx, _argv: &[&[u8]]) {
    help_reply(
        ctx,
        "SCRIPT",
        &[
            "DEBUG (YES|SYNC|NO)",
            "    Set the debug mode for subsequent scripts executed.",
            "EXISTS <sha1> [<sha1> ...]",
            "    Return information about the existence of the scripts in the script cache.",
            "FLUSH [ASYNC|SYNC]",
            "    Flush the Lua scripts cache. Very dangerous on replicas.",
            "    When called without the optional mode argument, the behavior is determined by the",
            "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
            "    * ASYNC: Asynchronously flush the scripts cache.",
            "    * SYNC: Synchronously flush the scripts cache.",
            "KILL",
            "    Kill the currently executing Lua script.",
            "LOAD <script>",
            "    Load a script into the scripts cache without executing it.",
        ],
    );
}

// ---------------------------------------------------------------------------------------
// FUNCTION

fn function_load(ctx: &mut Ctx, argv: &[&[u8]]) {
    let mut replace = false;
    let mut i = 2;
    while i < argv.len() - 1 {
        if eq_ic(argv[i], "replace") {
            replace = true;
            i += 1;
            continue;
        }
        return ctx.out.error(&format!("ERR Unknown option given: {}", String::from_utf8_lossy(argv[i])));
    }
    let timeout = if ctx.client.flag(crate::net::client::cflags::MASTER) { 0 } else { functions::LOAD_TIMEOUT_MS };
    match functions::load(ctx.srv, argv[argv.len() - 1], replace, timeout) {
        Ok(name) => {
            ctx.ks.dirty(1);
            ctx.out.bulk(name.as_bytes())
        }
        Err(e) => ctx.out.error(&format!("ERR {e}")),
    }
}

fn function_delete(ctx: &mut Ctx, argv: &[&[u8]]) {
    let deleted = ctx.srv.scripting.libraries.lock().delete(argv[2]);
    if !deleted {
        return ctx.out.error("ERR Library not found");
    }
    ctx.ks.dirty(1);
    ctx.out.ok();
}

fn function_flush(ctx: &mut Ctx, argv: &[&[u8]]) {
    if argv.len() > 3 {
        return subcommand_syntax_error(ctx, argv);
    }
    if flush_mode(argv).is_none() {
        return ctx.out.error("ERR FUNCTION FLUSH only supports SYNC|ASYNC option");
    }
    functions::flush(ctx.srv);
    ctx.ks.dirty(1);
    ctx.out.ok();
}

fn function_list(ctx: &mut Ctx, argv: &[&[u8]]) {
    let mut with_code = false;
    let mut pattern: Option<&[u8]> = None;
    let mut i = 2;
    while i < argv.len() {
        let a = argv[i];
        if !with_code && eq_ic(a, "withcode") {
            with_code = true;
            i += 1;
            continue;
        }
        if pattern.is_none() && eq_ic(a, "libraryname") {
            if i >= argv.len() - 1 {
                return ctx.out.error("ERR library name argument was not given");
            }
            pattern = Some(argv[i + 1]);
            i += 2;
            continue;
        }
        return ctx.out.error(&format!("ERR Unknown argument {}", String::from_utf8_lossy(a)));
    }
    let libs = ctx.srv.scripting.libraries.lock();
    let matching: Vec<_> = libs
        .iter()
        .filter(|l| pattern.is_none_or(|p| crate::util::glob::glob_match(p, l.name.as_bytes(), true)))
        .collect();
    ctx.out.array(matching.len());
    for lib in matching {
        ctx.out.map(if with_code { 4 } else { 3 });
        ctx.out.bulk(b"library_name");
        ctx.out.bulk(lib.name.as_bytes());
        ctx.out.bulk(b"engine");
        ctx.out.bulk(lib.engine.as_bytes());
        ctx.out.bulk(b"functions");
        ctx.out.array(lib.functions.len());
        for f in &lib.functions {
            ctx.out.map(3);
            ctx.out.bulk(b"name");
            ctx.out.bulk(f.name.as_bytes());
            ctx.out.bulk(b"description");
            match &f.desc {
                Some(d) => ctx.out.bulk(d),
                None => ctx.out.null(),
            }
            ctx.out.bulk(b"flags");
            let names: Vec<&str> =
                crate::scripting::sflags::NAMES.iter().filter(|(_, b)| f.flags & b != 0).map(|(n, _)| *n).collect();
            ctx.out.set(names.len());
            for n in names {
                ctx.out.simple(n);
            }
        }
        if with_code {
            ctx.out.bulk(b"library_code");
            ctx.out.bulk(&lib.code);
        }
    }
}

fn function_dump(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let payload = functions::dump(&ctx.srv.scripting.libraries.lock());
    ctx.out.bulk(&payload);
}

fn function_restore(ctx: &mut Ctx, argv: &[&[u8]]) {
    if argv.len() > 4 {
        return subcommand_syntax_error(ctx, argv);
    }
    #[derive(PartialEq)]
    enum Policy {
        Flush,
        Append,
        Replace,
    }
    let policy = match argv.get(3) {
        None => Policy::Append,
        Some(p) if eq_ic(p, "append") => Policy::Append,
        Some(p) if eq_ic(p, "replace") => Policy::Replace,
        Some(p) if eq_ic(p, "flush") => Policy::Flush,
        Some(_) => {
            return ctx.out.error("ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.");
        }
    };
    if !functions::verify_payload(argv[2]) {
        return ctx.out.error("ERR DUMP payload version or checksum are wrong");
    }
    let srv = ctx.srv;
    let restored = match functions::restore_payload(srv, argv[2]) {
        Ok(l) => l,
        Err(e) => return ctx.out.error(&format!("ERR {e}")),
    };
    let mut libs = srv.scripting.libraries.lock();
    let res = if policy == Policy::Flush {
        libs.replace_all(restored);
        Ok(())
    } else {
        libs.join(restored, policy == Policy::Replace)
    };
    functions::collect_garbage(srv, &mut libs);
    drop(libs);
    match res {
        Ok(()) => {
            ctx.ks.dirty(1);
            ctx.out.ok()
        }
        Err(e) => ctx.out.error(&format!("ERR {e}")),
    }
}

fn function_stats(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let sc = &ctx.srv.scripting;
    if sc.is_running() && sc.run.is_eval.load(std::sync::atomic::Ordering::Relaxed) {
        return ctx.out.error(crate::scripting::BUSY_EVAL);
    }
    ctx.out.map(2);
    ctx.out.bulk(b"running_script");
    match sc.run.info.lock().as_ref() {
        Some(info) if sc.is_running() => {
            ctx.out.map(3);
            ctx.out.bulk(b"name");
            ctx.out.bulk(info.name.as_bytes());
            ctx.out.bulk(b"command");
            ctx.out.bulk_array(info.argv.iter());
            ctx.out.bulk(b"duration_ms");
            ctx.out.int(info.start.elapsed().as_millis() as i64);
        }
        _ => ctx.out.null(),
    }
    ctx.out.bulk(b"engines");
    ctx.out.map(1);
    ctx.out.bulk(b"LUA");
    ctx.out.map(2);
    let libs = sc.libraries.lock();
    ctx.out.bulk(b"libraries_count");
    ctx.out.int(libs.library_count() as i64);
    ctx.out.bulk(b"functions_count");
    ctx.out.int(libs.function_count() as i64);
}

fn function_kill(ctx: &mut Ctx, _argv: &[&[u8]]) {
    crate::scripting::kill(ctx, false)
}

fn function_help(ctx: &mut Ctx, _argv: &[&[u8]]) {
    help_reply(
        ctx,
        "FUNCTION",
        &[
            "LOAD [REPLACE] <FUNCTION CODE>",
            "    Create a new library with the given library name and code.",
            "DELETE <LIBRARY NAME>",
            "    Delete the given library.",
            "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
            "    Return general information on all the libraries:",
            "    * Library name",
            "    * The engine used to run the Library",
            "    * Library description",
            "    * Functions list",
            "    * Library code (if WITHCODE is given)",
            "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
            "STATS",
            "    Return information about the current function running:",
            "    * Function name",
            "    * Command used to run the function",
            "    * Duration in MS that the function is running",
            "    If no function is running, return nil",
            "    In addition, returns a list of available engines.",
            "KILL",
            "    Kill the current running function.",
            "FLUSH [ASYNC|SYNC]",
            "    Delete all the libraries.",
            "    When called without the optional mode argument, the behavior is determined by the",
            "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
            "    * ASYNC: Asynchronously flush the libraries.",
            "    * SYNC: Synchronously flush the libraries.",
            "DUMP",
            "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
            "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
            "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
            "    control how to handle existing libraries (default APPEND):",
            "    * FLUSH: delete all existing libraries.",
            "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
            "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
            "      libraries with the new libraries (notice that even on this option there is a chance of failure",
            "      in case of functions name collision with another library).",
        ],
    );
}
