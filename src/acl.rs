//! ACL users and permission checks (Redis 7.0's acl.c).
//!
//! Owns the user registry (`Acl::users`, the `default` user always present and kept in
//! sync with `requirepass`), the rules of ACL SETUSER (`UserDef::apply`), the text forms
//! ACL LIST / GETUSER show (`describe`), the permission check the dispatcher, EXEC and
//! scripts run before a command (`check`: command bits, key patterns from the command's
//! key specs, Pub/Sub channels), and the ACL LOG. A user is an `Arc<User>` shared by
//! its clients; its rules live behind a lock so ACL SETUSER changes apply to clients
//! already authenticated as it (as Redis changes the user in place). `unrestricted`
//! mirrors "all commands, all keys, all channels" so the default user costs the
//! dispatcher one atomic load.

use crate::commands::meta::ACL_CATEGORIES;
use crate::commands::{flags, Command, CommandTable};
use parking_lot::{Mutex, RwLock};
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;

/// acllog-max-len (refreshed with the hot config).
pub static LOG_MAX_LEN: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(128);

/// acl-pubsub-default is allchannels: new selectors and `reset` allow every channel.
pub static PUBSUB_DEFAULT_ALL: AtomicBool = AtomicBool::new(false);

pub const PERM_READ: u8 = 1;
pub const PERM_WRITE: u8 = 2;
pub const PERM_ALL: u8 = 3;

/// One set of permissions: the root one of a user, or a `(...)` selector.
#[derive(Clone, Default, PartialEq)]
pub struct Selector {
    pub root: bool,
    pub allkeys: bool,
    pub allchannels: bool,
    pub allcommands: bool,
    /// Redis's reserved "future commands" bit: set by +@all, cleared by -@all only.
    pub future: bool,
    /// Allowed command ids (table ids, subcommands included).
    pub allowed: Vec<u64>,
    /// Allowed first arguments of otherwise blocked commands (+select|0).
    pub firstargs: BTreeMap<usize, Vec<Vec<u8>>>,
    pub patterns: Vec<(u8, Vec<u8>)>,
    pub channels: Vec<Vec<u8>>,
}

#[derive(Clone, Default)]
pub struct UserDef {
    pub on: bool,
    pub nopass: bool,
    pub skip_sanitize: bool,
    pub sanitize: bool,
    /// SHA-256 hex of each password, in the order added.
    pub passwords: Vec<String>,
    /// [0] is the root selector.
    pub selectors: Vec<Selector>,
}

pub struct User {
    pub name: Vec<u8>,
    pub def: RwLock<UserDef>,
    /// All commands, keys and channels in the root selector: no check needed.
    unrestricted: AtomicBool,
}

impl User {
    /// All commands, keys and channels allowed: nothing to check.
    #[inline]
    pub fn is_unrestricted(&self) -> bool {
        self.unrestricted.load(Relaxed)
    }

    fn new(name: &[u8], def: UserDef) -> Arc<User> {
        let u = Arc::new(User { name: name.to_vec(), def: RwLock::new(UserDef::default()), unrestricted: AtomicBool::new(false) });
        u.set(def);
        u
    }

    pub fn set(&self, def: UserDef) {
        let s = &def.selectors[0];
        self.unrestricted.store(s.allcommands && s.allkeys && s.allchannels, Relaxed);
        *self.def.write() = def;
    }

    pub fn name_str(&self) -> String {
        String::from_utf8_lossy(&self.name).into_owned()
    }
}

/// Why a command was refused (Redis's ACL_DENIED_*, ordered as Redis ranks them).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Denied {
    Cmd,
    /// argv index of the key
    Key(usize),
    Auth,
    /// argv index of the channel
    Channel(usize),
}

impl Denied {
    fn rank(self) -> (u8, usize) {
        match self {
            Denied::Cmd => (1, 0),
            Denied::Key(i) => (2, i),
            Denied::Auth => (3, 0),
            Denied::Channel(i) => (4, i),
        }
    }

    /// The dispatcher's -NOPERM error.
    pub fn error(self, cmd: &Command) -> String {
        match self {
            Denied::Cmd => format!("NOPERM this user has no permissions to run the '{}' command", cmd.name),
            Denied::Key(_) => "NOPERM this user has no permissions to access one of the keys used as arguments".into(),
            Denied::Channel(_) => "NOPERM this user has no permissions to access one of the channels used as arguments".into(),
            Denied::Auth => "NOPERM no permission".into(),
        }
    }

    /// getAclErrorMessage (scripts: "The user executing the script <this>").
    pub fn short_message(self) -> &'static str {
        match self {
            Denied::Cmd => "can't run this command or subcommand",
            Denied::Key(_) => "can't access at least one of the keys mentioned in the command arguments",
            Denied::Channel(_) => "can't publish to the channel mentioned in the command",
            Denied::Auth => "lacking the permissions for the command",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum LogContext {
    Toplevel,
    Multi,
    Lua,
}

pub struct LogEntry {
    pub count: u64,
    pub reason: &'static str,
    pub context: LogContext,
    pub object: Vec<u8>,
    pub username: Vec<u8>,
    pub ctime: i64,
    pub cinfo: String,
}

pub struct Acl {
    pub users: RwLock<BTreeMap<Vec<u8>, Arc<User>>>,
    pub default: Arc<User>,
    pub log: Mutex<VecDeque<LogEntry>>,
    /// Category bit mask of each command id (bit i = ACL_CATEGORIES[i]).
    cats: Vec<u32>,
    /// Parent id of each subcommand row, and the subcommand ids of each container.
    parent: Vec<Option<usize>>,
    subs: Vec<Vec<usize>>,
    /// The requirepass value last applied to the default user.
    applied_requirepass: Mutex<Option<Option<Vec<u8>>>>,
}

/// Error of one ACL SETUSER rule (Redis's errno values).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RuleError {
    Syntax,
    Unknown,
    KeysAfterAll,
    ChannelsAfterAll,
    NoSuchPassword,
    BadHash,
    FirstArgOfSub,
}

impl RuleError {
    pub fn message(self) -> &'static str {
        match self {
            RuleError::Unknown => "Unknown command or category name in ACL",
            RuleError::Syntax => "Syntax error",
            RuleError::KeysAfterAll => "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns",
            RuleError::ChannelsAfterAll => "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels",
            RuleError::NoSuchPassword => "The password you are trying to remove from the user does not exist",
            RuleError::BadHash => "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters",
            RuleError::FirstArgOfSub => "Allowing first-arg of a subcommand is not supported",
        }
    }
}

fn has_spaces(s: &[u8]) -> bool {
    s.iter().any(|&c| c == 0 || c == b' ' || (b'\t'..=b'\r').contains(&c))
}

pub fn hash_password(p: &[u8]) -> String {
    sha256(p).iter().map(|b| format!("{b:02x}")).collect()
}

fn valid_hash(h: &[u8]) -> bool {
    h.len() == 64 && h.iter().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c))
}

fn category_index(name: &[u8]) -> Option<usize> {
    ACL_CATEGORIES.iter().position(|c| c.as_bytes().eq_ignore_ascii_case(name))
}

impl Acl {
    pub fn new(table: &CommandTable) -> Acl {
        let n = table.len();
        let mut cats = vec![0u32; n];
        let mut parent = vec![None; n];
        let mut subs = vec![Vec::new(); n];
        for c in &table.cmds {
            if let Some(m) = c.meta {
                for cat in &m.acl_categories {
                    if let Some(i) = category_index(cat.trim_start_matches('@').as_bytes()) {
                        cats[c.id] |= 1 << i;
                    }
                }
            }
            for &s in c.subcommands.values() {
                parent[s] = Some(c.id);
                subs[c.id].push(s);
            }
        }
        for s in subs.iter_mut() {
            s.sort_unstable();
        }
        let mut acl = Acl {
            users: RwLock::new(BTreeMap::new()),
            default: User::new(b"default", UserDef::default_new(n)),
            log: Mutex::new(VecDeque::new()),
            cats,
            parent,
            subs,
            applied_requirepass: Mutex::new(None),
        };
        let mut d = acl.new_def();
        for r in ["+@all", "~*", "&*", "on", "nopass"] {
            acl.apply(&mut d, r.as_bytes()).expect("default user rules");
        }
        acl.default = User::new(b"default", d);
        acl.users.write().insert(b"default".to_vec(), acl.default.clone());
        acl
    }

    fn ncmds(&self) -> usize {
        self.cats.len()
    }

    /// A user as ACL SETUSER creates it (off, no passwords, nothing allowed).
    pub fn new_def(&self) -> UserDef {
        UserDef::default_new(self.ncmds())
    }

    pub fn get(&self, name: &[u8]) -> Option<Arc<User>> {
        self.users.read().get(name).cloned()
    }

    // ---- rules -------------------------------------------------------------------------

    fn set_bit(s: &mut Selector, id: usize, v: bool) {
        let (w, b) = (id / 64, 1u64 << (id % 64));
        if v {
            s.allowed[w] |= b;
        } else {
            s.allowed[w] &= !b;
            s.allcommands = false;
        }
    }

    fn bit(s: &Selector, id: usize) -> bool {
        s.allowed[id / 64] & (1 << (id % 64)) != 0
    }

    /// ACLChangeSelectorPerm: a command and, for a container, all its subcommands.
    fn change_perm(&self, s: &mut Selector, id: usize, v: bool) {
        Self::set_bit(s, id, v);
        s.firstargs.remove(&id);
        for &sub in &self.subs[id] {
            Self::set_bit(s, sub, v);
        }
    }

    fn set_category(&self, s: &mut Selector, cat: usize, v: bool) {
        for id in 0..self.ncmds() {
            if self.cats[id] & (1 << cat) != 0 {
                self.change_perm(s, id, v);
            }
        }
    }

    fn count_category(&self, s: &Selector, cat: usize) -> (usize, usize) {
        let (mut on, mut off) = (0, 0);
        for id in 0..self.ncmds() {
            if self.cats[id] & (1 << cat) != 0 {
                if Self::bit(s, id) {
                    on += 1;
                } else {
                    off += 1;
                }
            }
        }
        (on, off)
    }

    /// ACLSetSelector: one rule applied to a selector.
    fn apply_selector(&self, table: Option<&CommandTable>, s: &mut Selector, op: &[u8]) -> Result<(), RuleError> {
        let is = |w: &str| op.eq_ignore_ascii_case(w.as_bytes());
        if is("allkeys") || op == b"~*" {
            s.allkeys = true;
            s.patterns.clear();
        } else if is("resetkeys") {
            s.allkeys = false;
            s.patterns.clear();
        } else if is("allchannels") || op == b"&*" {
            s.allchannels = true;
            s.channels.clear();
        } else if is("resetchannels") {
            s.allchannels = false;
            s.channels.clear();
        } else if is("allcommands") || is("+@all") {
            s.allowed.iter_mut().for_each(|w| *w = !0);
            s.allcommands = true;
            s.future = true;
            s.firstargs.clear();
        } else if is("nocommands") || is("-@all") {
            s.allowed.iter_mut().for_each(|w| *w = 0);
            s.allcommands = false;
            s.future = false;
            s.firstargs.clear();
        } else if op[0] == b'~' || op[0] == b'%' {
            if s.allkeys {
                return Err(RuleError::KeysAfterAll);
            }
            let mut fl = 0u8;
            let mut off = 1;
            if op[0] == b'%' {
                let mut ok = true;
                while off < op.len() {
                    let c = op[off].to_ascii_uppercase();
                    if c == b'R' && fl & PERM_READ == 0 {
                        fl |= PERM_READ;
                    } else if c == b'W' && fl & PERM_WRITE == 0 {
                        fl |= PERM_WRITE;
                    } else if op[off] == b'~' {
                        off += 1;
                        break;
                    } else {
                        ok = false;
                        break;
                    }
                    off += 1;
                }
                if fl == 0 || !ok {
                    return Err(RuleError::Syntax);
                }
            } else {
                fl = PERM_ALL;
            }
            let pat = &op[off..];
            if has_spaces(pat) {
                return Err(RuleError::Syntax);
            }
            match s.patterns.iter_mut().find(|(_, p)| p == pat) {
                Some(p) => p.0 |= fl,
                None => s.patterns.push((fl, pat.to_vec())),
            }
            s.allkeys = false;
        } else if op[0] == b'&' {
            if s.allchannels {
                return Err(RuleError::ChannelsAfterAll);
            }
            let pat = &op[1..];
            if has_spaces(pat) {
                return Err(RuleError::Syntax);
            }
            if !s.channels.iter().any(|c| c == pat) {
                s.channels.push(pat.to_vec());
            }
            s.allchannels = false;
        } else if (op[0] == b'+' || op[0] == b'-') && op.get(1) == Some(&b'@') {
            let cat = category_index(&op[2..]).ok_or(RuleError::Unknown)?;
            self.set_category(s, cat, op[0] == b'+');
        } else if op[0] == b'+' || op[0] == b'-' {
            let table = table.ok_or(RuleError::Unknown)?;
            let name = &op[1..];
            let split = if op[0] == b'+' { name.iter().rposition(|&c| c == b'|') } else { None };
            match split {
                None => {
                    let id = lookup_full(table, name).ok_or(RuleError::Unknown)?;
                    self.change_perm(s, id, op[0] == b'+');
                }
                Some(p) => {
                    let (cname, sub) = (&name[..p], &name[p + 1..]);
                    let id = lookup_full(table, cname).ok_or(RuleError::Unknown)?;
                    if self.parent[id].is_some() {
                        return Err(RuleError::FirstArgOfSub);
                    }
                    if sub.is_empty() {
                        return Err(RuleError::Syntax);
                    }
                    if !self.subs[id].is_empty() {
                        let sid = lookup_full(table, name).ok_or(RuleError::Unknown)?;
                        self.change_perm(s, sid, true);
                    } else {
                        let l = s.firstargs.entry(id).or_default();
                        if !l.iter().any(|a| a.eq_ignore_ascii_case(sub)) {
                            l.push(sub.to_vec());
                        }
                    }
                }
            }
        } else {
            return Err(RuleError::Syntax);
        }
        Ok(())
    }

    /// ACLSetUser: one rule (`(...)` selectors included) applied to a user definition.
    pub fn apply_with(&self, table: Option<&CommandTable>, d: &mut UserDef, op: &[u8]) -> Result<(), RuleError> {
        let is = |w: &str| op.eq_ignore_ascii_case(w.as_bytes());
        if op.is_empty() {
            return Ok(());
        }
        if is("on") {
            d.on = true;
        } else if is("off") {
            d.on = false;
        } else if is("skip-sanitize-payload") {
            d.skip_sanitize = true;
            d.sanitize = false;
        } else if is("sanitize-payload") {
            d.skip_sanitize = false;
            d.sanitize = true;
        } else if is("nopass") {
            d.nopass = true;
            d.passwords.clear();
        } else if is("resetpass") {
            d.nopass = false;
            d.passwords.clear();
        } else if op[0] == b'>' || op[0] == b'#' {
            let h = if op[0] == b'>' {
                hash_password(&op[1..])
            } else {
                if !valid_hash(&op[1..]) {
                    return Err(RuleError::BadHash);
                }
                String::from_utf8_lossy(&op[1..]).into_owned()
            };
            if !d.passwords.contains(&h) {
                d.passwords.push(h);
            }
            d.nopass = false;
        } else if op[0] == b'<' || op[0] == b'!' {
            let h = if op[0] == b'<' {
                hash_password(&op[1..])
            } else {
                if !valid_hash(&op[1..]) {
                    return Err(RuleError::BadHash);
                }
                String::from_utf8_lossy(&op[1..]).into_owned()
            };
            match d.passwords.iter().position(|p| *p == h) {
                Some(i) => {
                    d.passwords.remove(i);
                }
                None => return Err(RuleError::NoSuchPassword),
            }
        } else if op[0] == b'(' && op[op.len() - 1] == b')' {
            let inner = &op[1..op.len() - 1];
            let args = crate::config::text::split_args(inner).ok_or(RuleError::Syntax)?;
            let mut s = Selector {
                allowed: vec![0; self.ncmds().div_ceil(64)],
                allchannels: PUBSUB_DEFAULT_ALL.load(Relaxed),
                ..Default::default()
            };
            for a in &args {
                self.apply_selector(table, &mut s, a)?;
            }
            d.selectors.push(s);
        } else if is("clearselectors") {
            d.selectors.truncate(1);
        } else if is("reset") {
            for r in ["resetpass", "resetkeys", "resetchannels", "off", "sanitize-payload", "clearselectors", "-@all"] {
                self.apply_with(table, d, r.as_bytes())?;
            }
            if PUBSUB_DEFAULT_ALL.load(Relaxed) {
                self.apply_with(table, d, b"allchannels")?;
            }
        } else {
            self.apply_selector(table, &mut d.selectors[0], op)?;
        }
        Ok(())
    }

    fn apply(&self, d: &mut UserDef, op: &[u8]) -> Result<(), RuleError> {
        self.apply_with(None, d, op)
    }

    /// ACLMergeSelectorArguments: `(` ... `)` spread over several arguments become one.
    pub fn merge_selector_args(args: &[&[u8]]) -> Result<Vec<Vec<u8>>, Vec<u8>> {
        let mut out = Vec::new();
        let mut open: Option<(usize, Vec<u8>)> = None;
        for (j, &a) in args.iter().enumerate() {
            if let Some((_, sel)) = open.as_mut() {
                sel.push(b' ');
                sel.extend_from_slice(a);
                if a.last() == Some(&b')') {
                    out.push(open.take().unwrap().1);
                }
                continue;
            }
            if a.first() == Some(&b'(') && a.last() != Some(&b')') {
                open = Some((j, a.to_vec()));
                continue;
            }
            if a.len() == 1 && a[0] == b'(' {
                open = Some((j, a.to_vec()));
                continue;
            }
            out.push(a.to_vec());
        }
        if let Some((j, _)) = open {
            return Err(args[j].to_vec());
        }
        Ok(out)
    }

    /// ACLStringSetUser: all the rules or none; creates the user if needed.
    /// Returns the error text (without "ERR ").
    pub fn set_user(&self, table: &CommandTable, name: &[u8], rules: &[&[u8]]) -> Result<Arc<User>, String> {
        let merged = Self::merge_selector_args(rules).map_err(|a| {
            format!("Unmatched parenthesis in acl selector starting at '{}'.", String::from_utf8_lossy(&a))
        })?;
        let existing = self.get(name);
        let mut d = match &existing {
            Some(u) => u.def.read().clone(),
            None => self.new_def(),
        };
        for r in &merged {
            if let Err(e) = self.apply_with(Some(table), &mut d, r) {
                return Err(format!("Error in ACL SETUSER modifier '{}': {}", String::from_utf8_lossy(r), e.message()));
            }
        }
        Ok(match existing {
            Some(u) => {
                u.set(d);
                u
            }
            None => {
                let u = User::new(name, d);
                self.users.write().insert(name.to_vec(), u.clone());
                u
            }
        })
    }

    /// Keep the default user's password in sync with `requirepass` (only when the config
    /// value changed: ACL SETUSER default survives unrelated CONFIG SETs).
    pub fn sync_requirepass(&self, pass: Option<Vec<u8>>) {
        let mut last = self.applied_requirepass.lock();
        if last.as_ref() == Some(&pass) {
            return;
        }
        let mut d = self.default.def.read().clone();
        let _ = self.apply(&mut d, b"resetpass");
        match &pass {
            Some(p) => {
                let mut r = b">".to_vec();
                r.extend_from_slice(p);
                let _ = self.apply(&mut d, &r);
            }
            None => {
                let _ = self.apply(&mut d, b"nopass");
            }
        }
        self.default.set(d);
        *last = Some(pass);
    }

    /// Redis's authRequired for new connections: the default user needs a password.
    pub fn default_needs_auth(&self) -> bool {
        let d = self.default.def.read();
        !d.nopass || !d.on
    }

    /// ACLCheckUserCredentials.
    pub fn check_credentials(&self, name: &[u8], pass: &[u8]) -> Option<Arc<User>> {
        let u = self.get(name)?;
        let ok = {
            let d = u.def.read();
            if !d.on {
                false
            } else if d.nopass {
                true
            } else {
                let h = hash_password(pass);
                d.passwords.iter().fold(false, |acc, p| acc | constant_time_eq(p.as_bytes(), h.as_bytes()))
            }
        };
        ok.then_some(u)
    }

    // ---- checks ------------------------------------------------------------------------

    /// ACLCheckAllUserCommandPerm.
    pub fn check(&self, table: &CommandTable, user: &User, cmd: &Command, argv: &[&[u8]]) -> Result<(), Denied> {
        if user.unrestricted.load(Relaxed) {
            return Ok(());
        }
        let d = user.def.read();
        let mut relevant = Denied::Cmd;
        for s in &d.selectors {
            match self.check_selector(table, s, cmd, argv) {
                Ok(()) => return Ok(()),
                Err(e) => {
                    if e.rank() > relevant.rank() {
                        relevant = e;
                    }
                }
            }
        }
        Err(relevant)
    }

    /// ACLUserCheckCmdWithUnrestrictedKeyAccess(.., CMD_KEY_ACCESS): some selector allows
    /// the command and reads of every key (SORT BY/GET patterns).
    pub fn has_unrestricted_read(&self, table: &CommandTable, user: &User, cmd: &Command, argv: &[&[u8]]) -> bool {
        if user.unrestricted.load(Relaxed) {
            return true;
        }
        let d = user.def.read();
        d.selectors.iter().any(|s| {
            self.check_selector(table, s, cmd, argv).is_ok()
                && (s.allkeys || s.patterns.iter().any(|(f, p)| f & PERM_READ != 0 && p.as_slice() == b"*"))
        })
    }

    fn check_selector(&self, _table: &CommandTable, s: &Selector, cmd: &Command, argv: &[&[u8]]) -> Result<(), Denied> {
        if !s.allcommands && !cmd.has(flags::NO_AUTH) && !Self::bit(s, cmd.id) {
            let idx = if self.parent[cmd.id].is_some() { 2 } else { 1 };
            let ok = argv.len() >= 2
                && argv.len() > idx
                && s.firstargs.get(&cmd.id).is_some_and(|l| l.iter().any(|a| a.eq_ignore_ascii_case(argv[idx])));
            if !ok {
                return Err(Denied::Cmd);
            }
        }
        if !s.allkeys {
            if let Some(m) = cmd.meta {
                if crate::commands::meta::has_keys(m) {
                    for (pos, kflags) in crate::commands::meta::key_refs(m, argv) {
                        let mut need = 0;
                        for f in kflags {
                            match f {
                                "access" => need |= PERM_READ,
                                "insert" | "delete" | "update" => need |= PERM_WRITE,
                                _ => {}
                            }
                        }
                        let key = argv[pos];
                        let ok = s
                            .patterns
                            .iter()
                            .any(|(pf, p)| pf & need == need && crate::util::glob::glob_match(p, key, false));
                        if !ok {
                            return Err(Denied::Key(pos));
                        }
                    }
                }
            }
        }
        if !s.allchannels {
            let (pattern, start, count) = match cmd.name.as_str() {
                "publish" | "spublish" => (false, 1, Some(1)),
                "subscribe" | "ssubscribe" => (false, 1, None),
                "psubscribe" => (true, 1, None),
                _ => return Ok(()),
            };
            let end = count.map_or(argv.len(), |c| (start + c).min(argv.len()));
            for (i, ch) in argv.iter().enumerate().take(end).skip(start) {
                let ok = s.channels.iter().any(|p| {
                    if pattern {
                        p.as_slice() == *ch
                    } else {
                        crate::util::glob::glob_match(p, ch, false)
                    }
                });
                if !ok {
                    return Err(Denied::Channel(i));
                }
            }
        }
        Ok(())
    }

    // ---- description -------------------------------------------------------------------

    /// ACLDescribeSelectorCommandRules.
    pub fn describe_commands(&self, table: &CommandTable, s: &Selector) -> String {
        let n = self.ncmds();
        let mut rules = String::new();
        let mut fake = Selector { allowed: vec![0; n.div_ceil(64)], ..Default::default() };
        let additive = !s.future;
        if s.future {
            rules.push_str("+@all ");
            fake.allowed.iter_mut().for_each(|w| *w = !0);
        } else {
            rules.push_str("-@all ");
        }
        let mut temp = Selector { allowed: s.allowed.clone(), ..Default::default() };
        let mut applied = [false; 32];
        loop {
            let mut best = None;
            let (mut mindiff, mut maxsame) = (usize::MAX, 0);
            for (j, _) in ACL_CATEGORIES.iter().enumerate() {
                if applied[j] {
                    continue;
                }
                let (on, off) = self.count_category(&temp, j);
                let (diff, same) = if additive { (off, on) } else { (on, off) };
                if same > diff && (diff < mindiff || (diff == mindiff && same > maxsame)) {
                    best = Some(j);
                    mindiff = diff;
                    maxsame = same;
                }
            }
            let Some(b) = best else { break };
            self.set_category(&mut fake, b, additive);
            self.set_category(&mut temp, b, !additive);
            rules.push_str(if additive { "+@" } else { "-@" });
            rules.push_str(ACL_CATEGORIES[b]);
            rules.push(' ');
            applied[b] = true;
        }
        // single commands, parents before their subcommands
        for c in table.top_level() {
            self.describe_single(table, s, &mut fake, c.id, &mut rules);
        }
        rules.pop();
        rules
    }

    fn describe_single(&self, table: &CommandTable, s: &Selector, fake: &mut Selector, id: usize, rules: &mut String) {
        let ub = Self::bit(s, id);
        let fb = Self::bit(fake, id);
        let name = &table.cmds[id].name;
        if ub != fb {
            rules.push(if ub { '+' } else { '-' });
            rules.push_str(name);
            rules.push(' ');
            self.change_perm(fake, id, ub);
        }
        for &sub in &self.subs[id] {
            self.describe_single(table, s, fake, sub, rules);
        }
        if !ub {
            if let Some(l) = s.firstargs.get(&id) {
                for a in l {
                    rules.push('+');
                    rules.push_str(name);
                    rules.push('|');
                    rules.push_str(&String::from_utf8_lossy(a));
                    rules.push(' ');
                }
            }
        }
    }

    pub fn describe_keys(s: &Selector, sep_prefix: bool) -> String {
        if s.allkeys {
            return "~*".into();
        }
        let mut v = Vec::new();
        for (f, p) in &s.patterns {
            let pre = match *f {
                PERM_READ => "%R~",
                PERM_WRITE => "%W~",
                _ => "~",
            };
            v.push(format!("{pre}{}", String::from_utf8_lossy(p)));
        }
        let _ = sep_prefix;
        v.join(" ")
    }

    pub fn describe_channels(s: &Selector) -> String {
        if s.allchannels {
            return "&*".into();
        }
        s.channels.iter().map(|c| format!("&{}", String::from_utf8_lossy(c))).collect::<Vec<_>>().join(" ")
    }

    /// ACLDescribeSelector: keys, channels, commands.
    pub fn describe_selector(&self, table: &CommandTable, s: &Selector) -> String {
        let mut r = String::new();
        if s.allkeys {
            r.push_str("~* ");
        } else {
            for k in Self::describe_keys(s, false).split(' ').filter(|k| !k.is_empty()) {
                r.push_str(k);
                r.push(' ');
            }
        }
        if s.allchannels {
            r.push_str("&* ");
        } else {
            r.push_str("resetchannels ");
            for c in &s.channels {
                r.push('&');
                r.push_str(&String::from_utf8_lossy(c));
                r.push(' ');
            }
        }
        r.push_str(&self.describe_commands(table, s));
        r
    }

    /// User flags in Redis's order.
    pub fn flag_names(d: &UserDef) -> Vec<&'static str> {
        let mut f = Vec::new();
        f.push(if d.on { "on" } else { "off" });
        if d.nopass {
            f.push("nopass");
        }
        if d.skip_sanitize {
            f.push("skip-sanitize-payload");
        }
        if d.sanitize {
            f.push("sanitize-payload");
        }
        f
    }

    /// ACLDescribeUser (without the "user <name> " prefix).
    pub fn describe_user(&self, table: &CommandTable, u: &User) -> String {
        let d = u.def.read();
        let mut r = String::new();
        for f in Self::flag_names(&d) {
            r.push_str(f);
            r.push(' ');
        }
        for p in &d.passwords {
            r.push('#');
            r.push_str(p);
            r.push(' ');
        }
        for s in &d.selectors {
            let desc = self.describe_selector(table, s);
            if s.root {
                r.push_str(&desc);
            } else {
                r.push_str(&format!(" ({desc})"));
            }
        }
        r
    }

    // ---- log ---------------------------------------------------------------------------

    /// addACLLogEntry.
    pub fn log_entry(&self, reason: &'static str, context: LogContext, object: Vec<u8>, username: Vec<u8>, cinfo: String) {
        let now = crate::server::now_ms();
        let mut log = self.log.lock();
        let pos = log.iter().take(10).position(|e| {
            e.reason == reason
                && e.context == context
                && (e.ctime - now).abs() <= 60000
                && e.object == object
                && e.username == username
        });
        if let Some(i) = pos {
            let mut e = log.remove(i).unwrap();
            e.cinfo = cinfo;
            e.ctime = now;
            e.count += 1;
            log.push_front(e);
            return;
        }
        log.push_front(LogEntry { count: 1, reason, context, object, username, ctime: now, cinfo });
        let max = LOG_MAX_LEN.load(Relaxed) as usize;
        while log.len() > max {
            log.pop_back();
        }
    }
}

impl UserDef {
    fn default_new(ncmds: usize) -> UserDef {
        UserDef {
            on: false,
            nopass: false,
            skip_sanitize: false,
            sanitize: false,
            passwords: Vec::new(),
            selectors: vec![Selector {
                root: true,
                allowed: vec![0; ncmds.div_ceil(64)],
                allchannels: PUBSUB_DEFAULT_ALL.load(Relaxed),
                ..Default::default()
            }],
        }
    }
}

/// A command (or "parent|sub") by its real name, ignoring rename-command (ACLLookupCommand).
fn lookup_full(table: &CommandTable, name: &[u8]) -> Option<usize> {
    let lname = String::from_utf8_lossy(name).to_ascii_lowercase();
    table.cmds.iter().find(|c| c.name == lname).map(|c| c.id)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
        0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
        0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
        0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
        0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
        0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
        0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut h: [u32; 8] =
        [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
    let mut msg = data.to_vec();
    let bitlen = (data.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bitlen.to_be_bytes());
    for chunk in msg.chunks(64) {
        let mut w = [0u32; 64];
        for i in 0..16 {
            w[i] = u32::from_be_bytes([chunk[4 * i], chunk[4 * i + 1], chunk[4 * i + 2], chunk[4 * i + 3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16].wrapping_add(s0).wrapping_add(w[i - 7]).wrapping_add(s1);
        }
        let mut v = h;
        for i in 0..64 {
            let s1 = v[4].rotate_right(6) ^ v[4].rotate_right(11) ^ v[4].rotate_right(25);
            let ch = (v[4] & v[5]) ^ (!v[4] & v[6]);
            let t1 = v[7].wrapping_add(s1).wrapping_add(ch).wrapping_add(K[i]).wrapping_add(w[i]);
            let s0 = v[0].rotate_right(2) ^ v[0].rotate_right(13) ^ v[0].rotate_right(22);
            let maj = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);
            let t2 = s0.wrapping_add(maj);
            v = [t1.wrapping_add(t2), v[0], v[1], v[2], v[3].wrapping_add(t1), v[4], v[5], v[6]];
        }
        for i in 0..8 {
            h[i] = h[i].wrapping_add(v[i]);
        }
    }
    let mut out = [0u8; 32];
    for i in 0..8 {
        out[4 * i..4 * i + 4].copy_from_slice(&h[i].to_be_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_known() {
        assert_eq!(hash_password(b"password"), "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8");
        assert_eq!(hash_password(b""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }

    #[test]
    fn describe_matches_redis() {
        let t = CommandTable::build();
        let acl = Acl::new(&t);
        let set = |rules: &[&str]| {
            let r: Vec<&[u8]> = rules.iter().map(|s| s.as_bytes()).collect();
            let mut all = vec![&b"reset"[..]];
            all.extend(r);
            let u = acl.set_user(&t, b"x", &all).unwrap();
            acl.describe_user(&t, &u)
        };
        assert_eq!(set(&["+@set", "-@set"]), "off sanitize-payload resetchannels -@all");
        assert_eq!(set(&["+@hash", "+@set"]), "off sanitize-payload resetchannels -@all +@set +@hash");
        assert_eq!(set(&["+get", "+@string", "-get"]), "off sanitize-payload resetchannels -@all +@string -get");
        assert_eq!(set(&["+@all", "-@set"]), "off sanitize-payload resetchannels +@all -@set");
        assert_eq!(set(&["+@read"]), "off sanitize-payload resetchannels -@all +@read");
        assert_eq!(set(&["~a", "%R~b", "%W~c", "&x"]), "off sanitize-payload ~a %R~b %W~c resetchannels &x -@all");
        assert_eq!(acl.describe_user(&t, &acl.default), "on nopass ~* &* +@all");
    }
}
