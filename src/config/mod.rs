//! redis.conf parsing and CONFIG GET/SET/REWRITE, matching Redis 7.0.15.
//!
//! Owns every directive's current value. `table::TABLE` lists each CONFIG-visible
//! directive once (name, alias, kind, limits, default, flags); the directives that
//! exist only in files (`include`, `rename-command`, `user`, `loadmodule`, module
//! `a.b` configs, `sentinel`) are handled by the loader and kept as lists.
//!
//! Invariants:
//! - `vals[i]` always holds a value valid for `TABLE[i]` (the variant matches
//!   its kind); special directives live in their own typed fields.
//! - CONFIG SET is all-or-nothing: on any error the previous state (and the
//!   working directory, which *is* the `dir` value, as in Redis) is restored.
//! - `generation` grows on every successful CONFIG SET, so callers can cache.
//! - Error strings are byte-exact Redis texts; start-up errors are the complete
//!   text Redis writes (print with `eprint!("{e}")`, then exit(1)).

mod rewrite;
mod table;
pub(crate) mod text;

/// Redis's sdscatrepr quoting (also used by MONITOR and client logs).
pub use text::repr;

use std::collections::HashSet;
use std::sync::OnceLock;

use crate::util::glob::glob_match;
use table::{Kind, Num, Special, TABLE};
use text::{cstr, split_args, string2ll, strtoll_all};
pub use text::memtoull;

const REDIS_VERSION: &str = "7.0.15";
const DEFAULT_BIND: [&str; 2] = ["127.0.0.1", "-::1"];
const DEFAULT_SAVE: [(i64, i32); 3] = [(3600, 1), (300, 100), (60, 10000)];
const DEFAULT_OBUF: [ObufLimit; 3] = [
    ObufLimit {
        hard: 0,
        soft: 0,
        soft_seconds: 0,
    },
    ObufLimit {
        hard: 256 << 20,
        soft: 64 << 20,
        soft_seconds: 60,
    },
    ObufLimit {
        hard: 32 << 20,
        soft: 8 << 20,
        soft_seconds: 60,
    },
];
const DEFAULT_OOM_VALUES: [i32; 3] = [0, 200, 800];
const DEFAULT_PERCENTILES: [f64; 3] = [50.0, 99.0, 99.9];
const MAX_BIND_ADDRS: usize = 16;
const REPL_BACKLOG_MIN_SIZE: i64 = 16 * 1024;
/// notify-keyspace-events flag letters, bit i = 1 << i (Redis's NOTIFY_* values).
const NOTIFY_LETTERS: &[u8; 15] = b"KEg$lshzxetm?dn";
/// The event classes 'A' stands for (all but K, E, m and the module-only bit 12).
pub const NOTIFY_ALL: u32 = 0b10_0111_1111_1100;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SaveParam {
    pub seconds: u64,
    pub changes: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ObufLimit {
    pub hard: u64,
    pub soft: u64,
    pub soft_seconds: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientClass {
    Normal,
    Replica,
    Pubsub,
}

/// Who is asking, for the checks CONFIG SET makes about the caller.
#[derive(Clone, Copy, Debug, Default)]
pub struct SetContext {
    /// The client is local (for `enable-protected-configs local`).
    pub local_client: bool,
    /// The server is loading its dataset (some configs are refused then).
    pub loading: bool,
}

#[derive(Clone, Debug, PartialEq)]
enum Val {
    Bool(bool),
    Int(i64),
    Enum(i32),
    Str(Option<Vec<u8>>),
    Special,
}

/// All current configuration values.
#[derive(Clone, Debug)]
pub struct Config {
    vals: Vec<Val>,
    save: Vec<(i64, i32)>,
    /// A `save` line was read from a file: later ones append instead of replacing the defaults.
    save_loaded: bool,
    obuf: [ObufLimit; 3],
    oom_values: [i32; 3],
    notify: u32,
    bind: Vec<Vec<u8>>,
    replicaof: Option<(Vec<u8>, i64)>,
    percentiles: Vec<f64>,
    renames: Vec<(String, String)>,
    users: Vec<String>,
    modules: Vec<Vec<String>>,
    module_configs: Vec<(String, String)>,
    config_file: Option<String>,
    generation: u64,
}

/// A failure while reading config text: a message about the current line, or
/// a complete message from a nested file.
enum LoadError {
    Line(String),
    Complete(String),
}

static COMMAND_LOOKUP: OnceLock<fn(&[u8]) -> bool> = OnceLock::new();

/// Let `rename-command` check names against the command table (lowercase name
/// in, "exists" out). Until this is called, renames are not validated.
pub fn set_command_lookup(exists: fn(&[u8]) -> bool) {
    let _ = COMMAND_LOOKUP.set(exists);
}

/// Is this directive's value secret (to redact from logs, MONITOR, SLOWLOG)?
pub fn is_sensitive(name: &[u8]) -> bool {
    table::lookup(name).is_some_and(|(i, _)| TABLE[i].flags & table::SENSITIVE != 0)
}

/// The full fatal start-up message, as Redis prints it to stderr.
fn fatal(at: Option<(usize, &[u8])>, err: &str) -> String {
    let mut out = format!("\n*** FATAL CONFIG FILE ERROR (Redis {REDIS_VERSION}) ***\n");
    if let Some((linenum, line)) = at {
        out += &format!(
            "Reading the configuration file, at line {linenum}\n>>> '{}'\n",
            String::from_utf8_lossy(line)
        );
    }
    out + err + "\n"
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

impl Default for Config {
    fn default() -> Config {
        let vals = TABLE
            .iter()
            .map(|d| match d.kind {
                Kind::Bool(b) => Val::Bool(b),
                Kind::Int { default, .. } => Val::Int(default),
                Kind::Enum { default, .. } => Val::Enum(default),
                Kind::Str { default, .. } => Val::Str(default.map(|s| s.as_bytes().to_vec())),
                Kind::Special(_) => Val::Special,
            })
            .collect();
        Config {
            vals,
            save: DEFAULT_SAVE.to_vec(),
            save_loaded: false,
            obuf: DEFAULT_OBUF,
            oom_values: DEFAULT_OOM_VALUES,
            notify: 0,
            bind: DEFAULT_BIND.iter().map(|s| s.as_bytes().to_vec()).collect(),
            replicaof: None,
            percentiles: DEFAULT_PERCENTILES.to_vec(),
            renames: Vec::new(),
            users: Vec::new(),
            modules: Vec::new(),
            module_configs: Vec::new(),
            config_file: None,
            generation: 0,
        }
    }
}

impl Config {
    // ----- start-up -------------------------------------------------------

    /// Parse redis-server's arguments (without the program name): an optional
    /// config file first, then `--name value...` options; a lone `-` first or
    /// last reads config text from stdin. File, stdin, then options are
    /// applied in that order, as one text (so line numbers run on).
    /// `-v`/`--help`/`--test-memory`/`--check-system` are the caller's to handle.
    pub fn from_args(args: &[String]) -> Result<Config, String> {
        let mut cfg = Config::default();
        if args.is_empty() {
            return Ok(cfg);
        }
        let mut j = 0;
        if !args[0].starts_with('-') {
            cfg.config_file = Some(absolute_path(&args[0]));
            j = 1;
        }
        let last = args.len() - 1;
        let (mut options, mut from_stdin, mut handled_last) = (String::new(), false, true);
        for (k, arg) in args.iter().enumerate().skip(j) {
            if arg == "-" && (k == 0 || k == last) {
                from_stdin = true;
            } else if handled_last && arg.starts_with("--") {
                if !options.is_empty() {
                    options.push('\n');
                }
                options += &arg[2..];
                options.push(' ');
                let name_only = split_args(arg.as_bytes()).is_some_and(|v| v.len() == 1);
                handled_last = !name_only;
                // `--save` with no value means `save ""`; `--sentinel` takes none.
                let next_is_option = k < last && args[k + 1].starts_with("--");
                if name_only && arg.eq_ignore_ascii_case("--save") && (next_is_option || k == last)
                {
                    options += "\"\"";
                    handled_last = true;
                } else if name_only && arg.eq_ignore_ascii_case("--sentinel") {
                    handled_last = next_is_option;
                }
            } else {
                options += &text::repr(arg.as_bytes());
                options.push(' ');
                handled_last = true;
            }
        }
        let mut content = match &cfg.config_file {
            Some(path) => read_config_source(path.as_bytes())?,
            None => Vec::new(),
        };
        if from_stdin {
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut content)
                .map_err(|e| text::log_line(&format!("Reading config from stdin failed: {e}")))?;
        }
        content.push(b'\n');
        content.extend_from_slice(options.as_bytes());
        cfg.load_bytes(&content)?;
        Ok(cfg)
    }

    /// Apply config-file text on top of the current values. The label is for
    /// the caller's logs only: Redis's messages name lines, not files. On error
    /// the values may be partly applied (start-up stops anyway).
    pub fn load_str(&mut self, text: &str, _file_label: &str) -> Result<(), String> {
        self.load_bytes(text.as_bytes())
    }

    fn load_bytes(&mut self, content: &[u8]) -> Result<(), String> {
        for (i, raw) in cstr(content).split(|&c| c == b'\n').enumerate() {
            let line = text::trim(raw, b" \t\r\n");
            if line.is_empty() || line[0] == b'#' {
                continue;
            }
            let result = match split_args(line) {
                None => Err(LoadError::Line(
                    "Unbalanced quotes in configuration line".into(),
                )),
                Some(argv) if argv.is_empty() => Ok(()),
                Some(mut argv) => {
                    argv[0].make_ascii_lowercase();
                    self.load_directive(&argv)
                }
            };
            match result {
                Ok(()) => {}
                Err(LoadError::Line(e)) => return Err(fatal(Some((i + 1, line)), &e)),
                Err(LoadError::Complete(e)) => return Err(e),
            }
        }
        self.check_loaded().map_err(|e| fatal(None, &e))
    }

    fn load_directive(&mut self, argv: &[Vec<u8>]) -> Result<(), LoadError> {
        let line_err = |e: &str| Err(LoadError::Line(e.to_string()));
        let name = argv[0].as_slice();
        let argc = argv.len();
        if let Some((idx, _)) = table::lookup(name) {
            let multi = TABLE[idx].multi_arg();
            if !multi && argc != 2 {
                return line_err("wrong number of arguments");
            }
            let args = if multi && argc == 2 && !argv[1].is_empty() {
                // `--save "900 1 300 10"`: one argument holding several.
                split_args(&argv[1]).unwrap_or_default()
            } else {
                argv[1..].to_vec()
            };
            return self.set_value(idx, &args, true).map_err(LoadError::Line);
        }
        const DEPRECATED: [&[u8]; 3] = [
            b"list-max-ziplist-entries",
            b"list-max-ziplist-value",
            b"lua-replicate-commands",
        ];
        match name {
            _ if DEPRECATED.contains(&name) && argc == 2 => {}
            b"include" if argc == 2 => {
                let text = read_config_source(&argv[1]).map_err(LoadError::Complete)?;
                self.load_bytes(&text).map_err(LoadError::Complete)?;
            }
            b"rename-command" if argc == 3 => {
                return self
                    .rename_command(&argv[1], &argv[2])
                    .map_err(LoadError::Line)
            }
            b"user" if argc >= 2 && self.users.iter().any(|u| u.split(' ').next() == Some(lossy(&argv[1]).as_ref())) => {
                return line_err("Duplicate user found. A user can only be defined once in config files")
            }
            b"user" if argc >= 2 => self.users.push(
                argv[1..]
                    .iter()
                    .map(|a| lossy(a))
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            b"loadmodule" if argc >= 2 => self
                .modules
                .push(argv[1..].iter().map(|a| lossy(a)).collect()),
            _ if name.contains(&b'.') => {
                if argc < 2 {
                    return line_err("Module config specified without value");
                }
                let value = argv[1..]
                    .iter()
                    .map(|a| lossy(a))
                    .collect::<Vec<_>>()
                    .join(" ");
                let key = lossy(name);
                self.module_configs.retain(|(k, _)| *k != key);
                self.module_configs.push((key, value));
            }
            b"sentinel" => {
                if argc != 1 {
                    return line_err("sentinel directive while not in sentinel mode");
                }
            }
            _ => return line_err("Bad directive or wrong number of arguments"),
        }
        Ok(())
    }

    fn rename_command(&mut self, from: &[u8], to: &[u8]) -> Result<(), String> {
        let (from_s, to_s) = (
            lossy(from).to_ascii_lowercase(),
            lossy(to).to_ascii_lowercase(),
        );
        if let Some(lookup) = COMMAND_LOOKUP.get() {
            // Replay earlier renames over the real table.
            let exists = |name: &str, renames: &[(String, String)]| {
                renames.iter().fold(lookup(name.as_bytes()), |e, (f, t)| {
                    (e && name != f.to_ascii_lowercase()) || name == t.to_ascii_lowercase()
                })
            };
            if !exists(&from_s, &self.renames) {
                return Err("No such command in rename-command".into());
            }
            if !to_s.is_empty() && to_s != from_s && exists(&to_s, &self.renames) {
                return Err("Target command name already exists".into());
            }
        }
        self.renames.push((lossy(from), lossy(to)));
        Ok(())
    }

    /// The checks Redis makes after each piece of config text.
    fn check_loaded(&mut self) -> Result<(), String> {
        let logfile = self.get_str("logfile");
        if !logfile.is_empty() {
            std::fs::OpenOptions::new()
                .append(true)
                .create(true)
                .open(&logfile)
                .map_err(|e| format!("Can't open the log file: {}", text::strerror(&e)))?;
        }
        if self.get_bool("cluster-enabled") && self.replicaof.is_some() {
            return Err("replicaof directive not allowed in cluster mode".into());
        }
        Ok(())
    }

    // ----- CONFIG GET -------------------------------------------------------

    /// CONFIG GET with one pattern: (name, value) pairs; glob patterns match
    /// names and aliases case-insensitively (hidden configs need exact names).
    pub fn get(&self, pattern: &[u8]) -> Vec<(String, String)> {
        self.get_many(&[pattern])
            .into_iter()
            .map(|(k, v)| (k, lossy(&v)))
            .collect()
    }

    /// CONFIG GET with several patterns (Redis 7), values binary-safe, no duplicates.
    pub fn get_many(&self, patterns: &[&[u8]]) -> Vec<(String, Vec<u8>)> {
        let mut seen = HashSet::new(); // lowercase names, as Redis dedups case-insensitively
        let mut out = Vec::new();
        for &pattern in patterns {
            if !pattern.iter().any(|c| b"[*?".contains(c)) {
                if let Some((idx, _)) = table::lookup(pattern) {
                    if seen.insert(lossy(pattern).to_ascii_lowercase()) {
                        out.push((lossy(pattern), self.value_of(idx)));
                    }
                }
                continue;
            }
            for (idx, def) in TABLE.iter().enumerate() {
                if def.flags & table::HIDDEN != 0 {
                    continue;
                }
                for name in std::iter::once(def.name).chain(def.alias) {
                    if glob_match(pattern, name.as_bytes(), true) && seen.insert(name.to_string()) {
                        out.push((name.to_string(), self.value_of(idx)));
                    }
                }
            }
        }
        out
    }

    /// The CONFIG GET text of directive `idx`.
    fn value_of(&self, idx: usize) -> Vec<u8> {
        let def = &TABLE[idx];
        let out = match (&self.vals[idx], def.kind) {
            (Val::Bool(b), _) => (if *b { "yes" } else { "no" }).to_string(),
            (Val::Int(v), Kind::Int { num, .. }) => match num {
                Num::MemoryPercent if *v < 0 => format!("{}%", -v),
                Num::Memory | Num::MemoryPercent => (*v as u64).to_string(),
                Num::Octal => format!("{:o}", *v as u64),
                Num::Plain => v.to_string(),
            },
            (Val::Enum(v), Kind::Enum { names, multi, .. }) => enum_name(names, *v, multi),
            (Val::Str(s), _) => return s.clone().unwrap_or_default(),
            (_, Kind::Special(s)) => return self.special_value(s),
            _ => unreachable!("value does not match the kind of {}", def.name),
        };
        out.into_bytes()
    }

    fn special_value(&self, s: Special) -> Vec<u8> {
        let joined = |items: Vec<String>| items.join(" ").into_bytes();
        match s {
            Special::Dir => std::env::current_dir()
                .map(|p| p.into_os_string().into_encoded_bytes())
                .unwrap_or_default(),
            Special::Save => joined(self.save.iter().map(|(s, c)| format!("{s} {c}")).collect()),
            Special::ClientOutputBufferLimit => joined(
                ["normal", "slave", "pubsub"]
                    .iter()
                    .zip(&self.obuf)
                    .map(|(n, l)| format!("{n} {} {} {}", l.hard, l.soft, l.soft_seconds))
                    .collect(),
            ),
            Special::OomScoreAdjValues => {
                joined(self.oom_values.iter().map(|v| v.to_string()).collect())
            }
            Special::NotifyKeyspaceEvents => notify_to_string(self.notify).into_bytes(),
            Special::Bind => self.bind.join(&b' '),
            Special::ReplicaOf => match &self.replicaof {
                Some((host, port)) => [host.as_slice(), format!(" {port}").as_bytes()].concat(),
                None => Vec::new(),
            },
            Special::LatencyPercentiles => joined(
                self.percentiles
                    .iter()
                    .map(|&p| text::format_double(p))
                    .collect(),
            ),
        }
    }

    // ----- CONFIG SET -------------------------------------------------------

    /// CONFIG SET name value [name value ...] from a remote, non-loading
    /// context. See [`Config::set_with`].
    pub fn set(&mut self, pairs: &[(&[u8], &[u8])]) -> Result<Vec<String>, String> {
        self.set_with(pairs, SetContext::default())
    }

    /// CONFIG SET: all pairs or none. Ok = primary names whose value changed
    /// (for the caller to apply: bind, port, maxmemory...; if applying fails,
    /// restore a clone taken before). Err = the reply text without '-'.
    pub fn set_with(
        &mut self,
        pairs: &[(&[u8], &[u8])],
        ctx: SetContext,
    ) -> Result<Vec<String>, String> {
        let failed = |name: &str, why: &str| {
            format!("ERR CONFIG SET failed (possibly related to argument '{name}') - {why}")
        };
        let protected_ok = match self.get_i64("enable-protected-configs") {
            1 => true,
            2 => ctx.local_client,
            _ => false,
        };
        // Check every name first: the first problem is the one reported.
        let mut chosen: Vec<(usize, bool, &[u8])> = Vec::new();
        for &(name, value) in pairs {
            let Some((idx, by_alias)) = table::lookup(name) else {
                return Err(format!(
                    "ERR Unknown option or number of arguments for CONFIG SET - '{}'",
                    lossy(name)
                ));
            };
            let flags = TABLE[idx].flags;
            if flags & table::IMMUTABLE != 0 {
                return Err(failed(&lossy(name), "can't set immutable config"));
            }
            if flags & table::PROTECTED != 0 && !protected_ok {
                return Err(failed(&lossy(name), "can't set protected config"));
            }
            if ctx.loading && flags & table::DENY_LOADING != 0 {
                return Err("LOADING Redis is loading the dataset in memory".into());
            }
            // As in Redis, a name and its alias are not duplicates of each other.
            if chosen.iter().any(|c| c.0 == idx && c.1 == by_alias) {
                return Err(failed(&lossy(name), "duplicate parameter"));
            }
            chosen.push((idx, by_alias, value));
        }

        let backup = self.clone();
        let old_dir = std::env::current_dir().ok();
        let before: Vec<Vec<u8>> = chosen.iter().map(|c| self.value_of(c.0)).collect();
        for &(idx, by_alias, value) in &chosen {
            let def = &TABLE[idx];
            let args: Vec<Vec<u8>> = if !def.multi_arg() {
                vec![value.to_vec()]
            } else if value.is_empty() {
                Vec::new()
            } else {
                value.split(|&c| c == b' ').map(<[u8]>::to_vec).collect()
            };
            if let Err(why) = self.set_value(idx, &args, false) {
                *self = backup;
                if let Some(dir) =
                    old_dir.filter(|d| std::env::current_dir().ok().as_ref() != Some(d))
                {
                    let _ = std::env::set_current_dir(dir);
                }
                let shown = if by_alias {
                    def.alias.unwrap_or(def.name)
                } else {
                    def.name
                };
                return Err(failed(shown, &why));
            }
        }
        self.generation += 1;
        let changed: Vec<String> = chosen
            .iter()
            .zip(before)
            .filter(|(c, old)| self.value_of(c.0) != *old)
            .map(|(c, _)| TABLE[c.0].name.to_string())
            .collect();
        // Applying a new backlog size enforces its minimum (Redis resizeReplicationBacklog).
        if changed.iter().any(|n| n == "repl-backlog-size") {
            let idx = Self::index("repl-backlog-size");
            if let Val::Int(v) = &mut self.vals[idx] {
                *v = (*v).max(REPL_BACKLOG_MIN_SIZE);
            }
        }
        Ok(changed)
    }

    /// Parse and store one directive's value (args already split).
    fn set_value(&mut self, idx: usize, args: &[Vec<u8>], from_file: bool) -> Result<(), String> {
        let def = &TABLE[idx];
        let first = args.first().map_or(&[][..], |a| a.as_slice());
        let val = match def.kind {
            Kind::Bool(_) => {
                let on = match cstr(first).to_ascii_lowercase().as_slice() {
                    b"yes" => true,
                    b"no" => false,
                    _ => return Err("argument must be 'yes' or 'no'".into()),
                };
                if on && def.name == "activedefrag" {
                    return Err("Active defragmentation cannot be enabled: it requires a Redis server compiled with a modified Jemalloc like the one shipped by default with the Redis source distribution".into());
                }
                Val::Bool(on)
            }
            Kind::Int {
                min,
                max,
                num,
                unsigned,
                ..
            } => {
                let mut v = parse_number(num, first)?;
                check_bounds(v, min, max, num, unsigned)?;
                if def.name == "hz" {
                    v = v.clamp(1, 500);
                }
                Val::Int(v)
            }
            Kind::Enum { names, multi, .. } => {
                let v = parse_enum(names, args, multi).ok_or_else(|| {
                    let list: Vec<&str> = names.iter().map(|n| n.0).collect();
                    let mut e = format!(
                        "argument(s) must be one of the following: {}",
                        list.join(", ")
                    );
                    e.truncate(255);
                    e
                })?;
                if multi && v & table::SHUTDOWN_SAVE != 0 && v & table::SHUTDOWN_NOSAVE != 0 {
                    return Err(
                        "shutdown options SAVE and NOSAVE can't be used simultaneously".into(),
                    );
                }
                Val::Enum(v)
            }
            Kind::Str {
                empty_is_none,
                binary,
                ..
            } => {
                let v = if binary { first } else { cstr(first) };
                check_string(def.name, v, self)?;
                Val::Str((!(empty_is_none && v.is_empty())).then(|| v.to_vec()))
            }
            Kind::Special(s) => {
                self.set_special(s, args, from_file)?;
                Val::Special
            }
        };
        self.vals[idx] = val;
        Ok(())
    }

    fn set_special(&mut self, s: Special, args: &[Vec<u8>], from_file: bool) -> Result<(), String> {
        let wrong_args = || Err("wrong number of arguments".to_string());
        match s {
            Special::Dir => {
                if args.len() != 1 {
                    return wrong_args();
                }
                let path =
                    <std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(cstr(&args[0]));
                std::env::set_current_dir(path).map_err(|e| text::strerror(&e))?;
            }
            Special::Save => {
                let args = if args.len() == 1 && cstr(&args[0]).is_empty() {
                    self.save.clear();
                    &[][..]
                } else {
                    args
                };
                let invalid = || "Invalid save parameters".to_string();
                if args.len() % 2 == 1 {
                    return Err(invalid());
                }
                let mut parsed = Vec::new();
                for pair in args.chunks(2) {
                    let seconds = strtoll_all(&pair[0], 10).ok_or_else(invalid)?.0;
                    let changes = strtoll_all(&pair[1], 10).ok_or_else(invalid)?.0;
                    if seconds < 1 || changes < 0 {
                        return Err(invalid());
                    }
                    parsed.push((seconds, changes as i32));
                }
                // In files the first `save` replaces the defaults, later ones append.
                if !from_file || !self.save_loaded {
                    self.save.clear();
                    self.save_loaded |= from_file;
                }
                self.save.extend(parsed);
            }
            Special::ClientOutputBufferLimit => {
                if !args.len().is_multiple_of(4) {
                    return Err("Wrong number of arguments in buffer limit configuration.".into());
                }
                let mut new = self.obuf;
                for group in args.chunks(4) {
                    let class = match cstr(&group[0]).to_ascii_lowercase().as_slice() {
                        b"normal" => 0,
                        b"slave" | b"replica" => 1,
                        b"pubsub" => 2,
                        _ => {
                            return Err(
                                "Invalid client class specified in buffer limit configuration."
                                    .into(),
                            )
                        }
                    };
                    let secs = strtoll_all(&group[3], 10).map(|(v, _)| v as i32);
                    match (memtoull(&group[1]), memtoull(&group[2]), secs) {
                        (Some(hard), Some(soft), Some(secs)) if secs >= 0 => {
                            new[class] = ObufLimit { hard, soft, soft_seconds: secs as u64 };
                        }
                        _ => {
                            return Err("Error in hard, soft or soft_seconds setting in buffer limit configuration.".into())
                        }
                    }
                }
                self.obuf = new;
            }
            Special::OomScoreAdjValues => {
                if args.len() != 3 {
                    return wrong_args();
                }
                let mut new = [0; 3];
                for (slot, a) in new.iter_mut().zip(args) {
                    *slot = match strtoll_all(a, 10) {
                        Some((v, _)) if (-2000..=2000).contains(&v) => v as i32,
                        _ => return Err("Invalid oom-score-adj-values, elements must be between -2000 and 2000.".into()),
                    };
                }
                self.oom_values = new;
            }
            Special::NotifyKeyspaceEvents => {
                if args.len() != 1 {
                    return wrong_args();
                }
                self.notify = notify_from_str(cstr(&args[0])).ok_or_else(|| {
                    "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.".to_string()
                })?;
            }
            Special::Bind => {
                if args.len() > MAX_BIND_ADDRS {
                    return Err("Too many bind addresses specified.".into());
                }
                let args = if args.len() == 1 && args[0].is_empty() {
                    &[][..]
                } else {
                    args
                };
                self.bind = args.iter().map(|a| cstr(a).to_vec()).collect();
            }
            Special::ReplicaOf => {
                if args.len() != 2 {
                    return wrong_args();
                }
                self.replicaof = None;
                if args[0].eq_ignore_ascii_case(b"no") && args[1].eq_ignore_ascii_case(b"one") {
                    return Ok(());
                }
                match strtoll_all(&args[1], 10) {
                    Some((port, _)) if (0..=65535).contains(&port) => {
                        self.replicaof = Some((args[0].clone(), port))
                    }
                    _ => return Err("Invalid master port".into()),
                }
            }
            Special::LatencyPercentiles => {
                self.percentiles.clear();
                let args = if args.len() == 1 && args[0].is_empty() {
                    &[][..]
                } else {
                    args
                };
                let mut new = Vec::new();
                for a in args {
                    let p = parse_double(a)
                        .ok_or("Invalid latency-tracking-info-percentiles parameters")?;
                    if !(0.0..=100.0).contains(&p) {
                        return Err("latency-tracking-info-percentiles parameters should sit between [0.0,100.0]".into());
                    }
                    new.push(p);
                }
                self.percentiles = new;
            }
        }
        Ok(())
    }

    // ----- typed access ---------------------------------------------------

    fn index(name: &str) -> usize {
        table::lookup(name.as_bytes())
            .unwrap_or_else(|| panic!("unknown config directive '{name}'"))
            .0
    }

    /// Integers and memory sizes (unsigned memory values such as maxmemory
    /// are stored as their bit pattern: cast to u64); bools as 0/1, enums as
    /// Redis's numeric value. Panics on an unknown name (a programming error).
    pub fn get_i64(&self, name: &str) -> i64 {
        match self.vals[Self::index(name)] {
            Val::Int(v) => v,
            Val::Bool(b) => b as i64,
            Val::Enum(v) => v as i64,
            _ => panic!("config '{name}' is not numeric"),
        }
    }

    pub fn get_bool(&self, name: &str) -> bool {
        match self.vals[Self::index(name)] {
            Val::Bool(b) => b,
            _ => panic!("config '{name}' is not a bool"),
        }
    }

    /// Any directive's CONFIG GET text (strings, enum names, specials).
    pub fn get_str(&self, name: &str) -> String {
        lossy(&self.value_of(Self::index(name)))
    }

    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Absolute path of the config file given at start-up.
    pub fn config_file(&self) -> Option<&str> {
        self.config_file.as_deref()
    }

    pub fn save_params(&self) -> Vec<SaveParam> {
        self.save
            .iter()
            .map(|&(s, c)| SaveParam {
                seconds: s as u64,
                changes: c.max(0) as u64,
            })
            .collect()
    }

    pub fn obuf_limit(&self, class: ClientClass) -> ObufLimit {
        self.obuf[class as usize]
    }

    pub fn bind_addrs(&self) -> Vec<String> {
        self.bind.iter().map(|b| lossy(b)).collect()
    }

    /// `rename-command` directives in file order: (command, new name; "" = removed).
    pub fn rename_commands(&self) -> Vec<(String, String)> {
        self.renames.clone()
    }

    pub fn requirepass(&self) -> Option<Vec<u8>> {
        match &self.vals[Self::index("requirepass")] {
            Val::Str(v) => v.clone(),
            _ => None,
        }
    }

    pub fn masterauth(&self) -> Option<Vec<u8>> {
        match &self.vals[Self::index("masterauth")] {
            Val::Str(v) => v.clone(),
            _ => None,
        }
    }

    /// `replicaof host port`, if set.
    pub fn replicaof(&self) -> Option<(String, u16)> {
        self.replicaof.as_ref().map(|(h, p)| (lossy(h), *p as u16))
    }

    /// REPLICAOF changed the master (CONFIG REWRITE then writes it, as Redis writes
    /// server.masterhost).
    pub fn set_replicaof(&mut self, master: Option<(&str, u16)>) {
        self.replicaof = master.map(|(h, p)| (h.as_bytes().to_vec(), p as i64));
    }

    /// notify-keyspace-events as Redis's NOTIFY_* bit flags (K=1, E=2, g=4, ...).
    pub fn notify_keyspace_events(&self) -> u32 {
        self.notify
    }

    pub fn oom_score_adj_values(&self) -> [i32; 3] {
        self.oom_values
    }

    pub fn latency_tracking_info_percentiles(&self) -> Vec<f64> {
        self.percentiles.clone()
    }

    /// `user` directives, each as "name rule rule...".
    pub fn users(&self) -> Vec<String> {
        self.users.clone()
    }

    /// Replace the users CONFIG REWRITE writes (the ACL owner keeps this in
    /// sync), each as "name rule rule..." like ACL LIST without "user ".
    pub fn set_users(&mut self, users: Vec<String>) {
        self.users = users;
    }

    /// `loadmodule path args...` directives, each as [path, args...].
    pub fn load_modules(&self) -> Vec<Vec<String>> {
        self.modules.clone()
    }

    /// Module configs (`module.name value`) waiting for their module.
    pub fn module_configs(&self) -> Vec<(String, String)> {
        self.module_configs.clone()
    }

    /// CONFIG REWRITE into the file the server was started with.
    pub fn rewrite(&self) -> Result<(), String> {
        let path = self
            .config_file
            .as_deref()
            .ok_or("ERR The server is running without a config file")?;
        rewrite::rewrite_file(self, path)
            .map_err(|e| format!("ERR Rewriting config file: {}", text::strerror(&e)))
    }
}

fn parse_number(num: Num, s: &[u8]) -> Result<i64, String> {
    let parsed = match num {
        Num::Memory => memtoull(s).map(|v| v as i64),
        Num::MemoryPercent => memtoull(s).map(|v| v as i64).or_else(|| {
            let digits = s.strip_suffix(b"%").filter(|_| s.len() > 1)?;
            string2ll(digits).filter(|&v| v >= 0).map(|v| -v)
        }),
        Num::Octal => strtoll_all(s, 8)
            .filter(|&(_, overflow)| !overflow)
            .map(|(v, _)| v),
        Num::Plain => string2ll(s),
    };
    parsed.ok_or_else(|| {
        match num {
            Num::MemoryPercent => "argument must be a memory or percent value",
            Num::Memory => "argument must be a memory value",
            Num::Octal => "argument couldn't be parsed as an octal number",
            Num::Plain => "argument couldn't be parsed into an integer",
        }
        .to_string()
    })
}

fn check_bounds(v: i64, min: i64, max: i64, num: Num, unsigned: bool) -> Result<(), String> {
    if unsigned {
        let (u, lo, hi) = (v as u64, min as u64, max as u64);
        if u < lo || u > hi {
            return Err(if num == Num::Octal {
                format!("argument must be between {lo:o} and {hi:o} inclusive")
            } else {
                format!("argument must be between {lo} and {hi} inclusive")
            });
        }
    } else if num == Num::MemoryPercent && v < 0 {
        if v < min {
            return Err(format!(
                "percentage argument must be less or equal to {}",
                -min
            ));
        }
    } else if v < min || v > max {
        return Err(format!(
            "argument must be between {min} and {max} inclusive"
        ));
    }
    Ok(())
}

fn parse_enum(names: table::EnumNames, args: &[Vec<u8>], multi: bool) -> Option<i32> {
    if args.is_empty() || (!multi && args.len() != 1) {
        return None;
    }
    let mut value = 0;
    for arg in args {
        let arg = cstr(arg);
        let hits: Vec<i32> = names
            .iter()
            .filter(|n| arg.eq_ignore_ascii_case(n.0.as_bytes()))
            .map(|n| n.1)
            .collect();
        if hits.is_empty() {
            return None;
        }
        value |= hits.iter().fold(0, |a, b| a | b);
    }
    Some(value)
}

/// The name of an enum value; for bit-flag enums the names of its bits, in
/// table order; "unknown" when nothing fits.
fn enum_name(names: table::EnumNames, value: i32, multi: bool) -> String {
    let mut picked = Vec::new();
    let mut unmatched = value;
    for &(name, v) in names {
        if v == value {
            return name.to_string();
        }
        if multi && v != 0 && unmatched & v == v {
            picked.push(name);
            unmatched &= !v;
        }
    }
    if picked.is_empty() || unmatched != 0 {
        "unknown".to_string()
    } else {
        picked.join(" ")
    }
}

fn notify_from_str(s: &[u8]) -> Option<u32> {
    s.iter().try_fold(0u32, |flags, &c| match c {
        b'A' => Some(flags | NOTIFY_ALL),
        b'?' => None,
        _ => NOTIFY_LETTERS
            .iter()
            .position(|&l| l == c)
            .map(|bit| flags | 1 << bit),
    })
}

fn notify_to_string(flags: u32) -> String {
    let has =
        |letter: u8| flags & 1 << NOTIFY_LETTERS.iter().position(|&l| l == letter).unwrap() != 0;
    let mut out = String::new();
    if flags & NOTIFY_ALL == NOTIFY_ALL {
        out.push('A');
    } else {
        out.extend(
            b"g$lshzxetdn"
                .iter()
                .filter(|&&c| has(c))
                .map(|&c| c as char),
        );
    }
    out.extend(b"KEm".iter().filter(|&&c| has(c)).map(|&c| c as char));
    out
}

/// Redis string2d: the whole string must be a number, no leading blank, no NaN, no overflow.
fn parse_double(s: &[u8]) -> Option<f64> {
    let st = std::str::from_utf8(s).ok()?;
    if st.is_empty() || text::is_space(s[0]) {
        return None;
    }
    let d: f64 = st.parse().ok()?;
    let literal_inf = st
        .trim_start_matches(['+', '-'])
        .to_ascii_lowercase()
        .starts_with("inf");
    (!d.is_nan() && (d.is_finite() || literal_inf)).then_some(d)
}

/// Validators of string directives.
fn check_string(name: &str, v: &[u8], cfg: &Config) -> Result<(), String> {
    let is_path = v.contains(&b'/') || v.contains(&b'\\');
    let err = |e: &str| Err(e.to_string());
    match name {
        "dbfilename" if is_path => err("dbfilename can't be a path, just a filename"),
        "appendfilename" if v.is_empty() => err("appendfilename can't be empty"),
        "appendfilename" if is_path => err("appendfilename can't be a path, just a filename"),
        "appenddirname" if v.is_empty() => err("appenddirname can't be empty"),
        "appenddirname" if is_path => err("appenddirname can't be a path, just a dirname"),
        "cluster-announce-hostname" if v.len() >= 256 => {
            err("Hostnames must be less than 256 characters")
        }
        "cluster-announce-hostname"
            if !v
                .iter()
                .all(|c| c.is_ascii_alphanumeric() || b"-.".contains(c)) =>
        {
            err("Hostnames may only contain alphanumeric characters, hyphens or dots")
        }
        "proc-title-template" if !proc_title_valid(v, cfg) => {
            err("template format is invalid or contains unknown variables")
        }
        _ => Ok(()),
    }
}

/// A proc-title template is valid when every `{variable}` is known and the
/// expansion (with an empty title) is not blank.
fn proc_title_valid(template: &[u8], cfg: &Config) -> bool {
    let mut out = Vec::new();
    let mut rest = template;
    while !rest.is_empty() {
        let Some(open) = rest.iter().position(|&c| c == b'{') else {
            out.extend_from_slice(rest);
            break;
        };
        out.extend_from_slice(&rest[..open]);
        rest = &rest[open + 1..];
        match rest.first() {
            None => return false,
            Some(b'{') => {
                out.push(b'{');
                rest = &rest[1..];
                continue;
            }
            _ => {}
        }
        let Some(close) = rest.iter().position(|&c| c == b'}') else {
            return false;
        };
        let value = match &rest[..close] {
            b"title" => String::new(),
            b"listen-addr" | b"config-file" | b"port" | b"tls-port" => "x".to_string(),
            b"server-mode" if cfg.get_bool("cluster-enabled") => "[cluster]".to_string(),
            b"server-mode" => String::new(),
            b"unixsocket" => cfg.get_str("unixsocket"),
            _ => return false,
        };
        out.extend_from_slice(value.as_bytes());
        rest = &rest[close + 1..];
    }
    !text::trim(&out, b" ").is_empty()
}

/// Redis getAbsolutePath: join relative paths to the cwd, folding leading "../".
fn absolute_path(path: &str) -> String {
    let mut rel = path.trim_matches([' ', '\r', '\n', '\t']);
    if rel.starts_with('/') {
        return rel.to_string();
    }
    let mut abs = std::env::current_dir()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !abs.ends_with('/') {
        abs.push('/');
    }
    while let Some(stripped) = rel.strip_prefix("../") {
        rel = stripped;
        if abs.len() > 1 {
            let cut = abs[..abs.len() - 1].rfind('/').map_or(0, |n| n + 1);
            abs.truncate(cut);
        }
    }
    abs + rel
}

/// Read a config file (or, if the name has glob characters, every file it
/// matches, none being fine). Failing to open one is fatal, as a log line.
fn read_config_source(path: &[u8]) -> Result<Vec<u8>, String> {
    let path = cstr(path);
    let cant_open = |p: &str, e: std::io::Error| {
        text::log_line(&format!(
            "Fatal error, can't open config file '{p}': {}",
            text::strerror(&e)
        ))
    };
    let files = if path.iter().any(|c| b"*?[".contains(c)) {
        glob_paths(path)
    } else {
        vec![lossy(path)]
    };
    let mut content = Vec::new();
    for file in files {
        content.extend(std::fs::read(&file).map_err(|e| cant_open(&file, e))?);
    }
    Ok(content)
}

/// The paths matching a shell glob, sorted (libc glob(3)); empty when none match.
fn glob_paths(pattern: &[u8]) -> Vec<String> {
    let Ok(c_pattern) = std::ffi::CString::new(pattern) else {
        return Vec::new();
    };
    let mut paths = Vec::new();
    // SAFETY: glob fills `g`, which we read only on success and always free.
    unsafe {
        let mut g: libc::glob_t = std::mem::zeroed();
        if libc::glob(c_pattern.as_ptr(), 0, None, &mut g) == 0 {
            for i in 0..g.gl_pathc {
                let p = std::ffi::CStr::from_ptr(*g.gl_pathv.add(i));
                paths.push(p.to_string_lossy().into_owned());
            }
        }
        libc::globfree(&mut g);
    }
    paths
}

#[cfg(test)]
mod tests;
