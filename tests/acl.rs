//! ACL through raw RESP, byte for byte as Redis 7.0.15: users and rules (SETUSER,
//! GETUSER, LIST, DELUSER), AUTH user pass, NOPERM for commands, keys and channels (at
//! top level, queued in MULTI, from scripts), the ACL LOG, requirepass as the default
//! user's password, config-file `user` directives, and interop with the real server.
mod common;
use common::{same_replies, same_replies_resp3, RealRedis, Raw, Server};

const NOPERM_KEY: &[u8] = b"-NOPERM this user has no permissions to access one of the keys used as arguments\r\n";
const WRONGPASS: &[u8] = b"-WRONGPASS invalid username-password pair or user is disabled.\r\n";

fn auth(c: &mut Raw, user: &str, pass: &str) {
    c.roundtrip(&[b"AUTH", user.as_bytes(), pass.as_bytes()], b"+OK\r\n");
}

#[test]
fn limited_user_keys_and_commands() {
    let srv = Server::start(&[]);
    let mut admin = srv.raw();
    admin.roundtrip(&[b"ACL", b"SETUSER", b"lim", b"on", b">secret", b"~foo:*", b"+get"], b"+OK\r\n");
    admin.roundtrip(&[b"SET", b"foo:1", b"v"], b"+OK\r\n");
    let mut c = srv.raw();
    c.roundtrip(&[b"AUTH", b"lim", b"wrong"], WRONGPASS);
    c.roundtrip(&[b"AUTH", b"nosuch", b"secret"], WRONGPASS);
    auth(&mut c, "lim", "secret");
    c.roundtrip(&[b"ACL", b"WHOAMI"], b"-NOPERM this user has no permissions to run the 'acl|whoami' command\r\n");
    c.roundtrip(&[b"GET", b"foo:1"], b"$1\r\nv\r\n");
    c.roundtrip(&[b"GET", b"bar"], NOPERM_KEY);
    c.roundtrip(&[b"SET", b"foo:1", b"x"], b"-NOPERM this user has no permissions to run the 'set' command\r\n");
    c.roundtrip(&[b"CONFIG", b"GET", b"x"], b"-NOPERM this user has no permissions to run the 'config|get' command\r\n");
    // commands without auth requirement still run (AUTH itself)
    c.roundtrip(&[b"AUTH", b"default", b"x"], b"+OK\r\n");
    c.roundtrip(&[b"SET", b"bar", b"1"], b"+OK\r\n");
    // CLIENT LIST shows the user
    auth(&mut c, "lim", "secret");
    let list = String::from_utf8(admin.call(&[b"CLIENT", b"LIST"])).unwrap();
    assert!(list.contains(" user=lim "), "{list}");
    // a disabled user cannot authenticate
    admin.roundtrip(&[b"ACL", b"SETUSER", b"lim", b"off"], b"+OK\r\n");
    let mut d = srv.raw();
    d.roundtrip(&[b"AUTH", b"lim", b"secret"], WRONGPASS);
    // deleting the user disconnects its clients
    admin.roundtrip(&[b"ACL", b"DELUSER", b"lim", b"nosuch"], b":1\r\n");
    assert!(c.closed());
    admin.roundtrip(&[b"ACL", b"DELUSER", b"default"], b"-ERR The 'default' user cannot be removed\r\n");
}

#[test]
fn read_write_patterns_and_channels() {
    let srv = Server::start(&[]);
    let mut admin = srv.raw();
    admin.roundtrip(
        &[b"ACL", b"SETUSER", b"rw", b"on", b"nopass", b"%R~r*", b"%W~w*", b"&news.*", b"+@all"],
        b"+OK\r\n",
    );
    let mut c = srv.raw();
    auth(&mut c, "rw", "anything");
    c.roundtrip(&[b"GET", b"r1"], b"$-1\r\n");
    c.roundtrip(&[b"SET", b"r1", b"v"], NOPERM_KEY);
    c.roundtrip(&[b"SET", b"w1", b"v"], b"+OK\r\n");
    c.roundtrip(&[b"GET", b"w1"], NOPERM_KEY);
    c.roundtrip(&[b"COPY", b"w1", b"r1"], NOPERM_KEY);
    c.roundtrip(&[b"PUBLISH", b"news.x", b"hi"], b":0\r\n");
    c.roundtrip(
        &[b"PUBLISH", b"other", b"hi"],
        b"-NOPERM this user has no permissions to access one of the channels used as arguments\r\n",
    );
    // PSUBSCRIBE patterns must match an allowed pattern literally
    c.roundtrip(
        &[b"PSUBSCRIBE", b"news.a*"],
        b"-NOPERM this user has no permissions to access one of the channels used as arguments\r\n",
    );
    c.roundtrip(&[b"PSUBSCRIBE", b"news.*"], b"*3\r\n$10\r\npsubscribe\r\n$6\r\nnews.*\r\n:1\r\n");
}

#[test]
fn multi_and_scripts_use_the_callers_user() {
    let srv = Server::start(&[]);
    let mut admin = srv.raw();
    admin.roundtrip(
        &[b"ACL", b"SETUSER", b"s", b"on", b">p", b"~x*", b"+@scripting", b"+set", b"+multi", b"+exec"],
        b"+OK\r\n",
    );
    let mut c = srv.raw();
    auth(&mut c, "s", "p");
    // queue-time refusal flags the transaction
    c.roundtrip(&[b"MULTI"], b"+OK\r\n");
    c.roundtrip(&[b"SET", b"y", b"1"], NOPERM_KEY);
    c.roundtrip(&[b"EXEC"], b"-EXECABORT Transaction discarded because of previous errors.\r\n");
    // rules changed between queueing and EXEC
    c.roundtrip(&[b"MULTI"], b"+OK\r\n");
    c.roundtrip(&[b"SET", b"x1", b"1"], b"+QUEUED\r\n");
    admin.roundtrip(&[b"ACL", b"SETUSER", b"s", b"-set"], b"+OK\r\n");
    c.roundtrip(&[b"EXEC"], b"*1\r\n-NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: no permission to execute the command or subcommand\r\n");
    admin.roundtrip(&[b"ACL", b"SETUSER", b"s", b"+set"], b"+OK\r\n");
    c.roundtrip(&[b"EVAL", b"return redis.call('set','x2','1')", b"1", b"x2"], b"+OK\r\n");
    c.roundtrip(
        &[b"EVAL", b"return redis.call('set','y','1')", b"0"],
        b"-ERR The user executing the script can't access at least one of the keys mentioned in the command arguments script: ca07b64f186c73f68613407130f7ceb87c038f2e, on @user_script:1.\r\n",
    );
    c.roundtrip(&[b"EVAL", b"return redis.acl_check_cmd('hset','x','f','v')", b"0"], b"$-1\r\n");
    c.roundtrip(&[b"EVAL", b"return redis.acl_check_cmd('set','x','v')", b"0"], b":1\r\n");
}

#[test]
fn acl_log_records_denials() {
    let srv = Server::start(&[]);
    let mut admin = srv.raw();
    admin.roundtrip(&[b"ACL", b"SETUSER", b"lg", b"on", b"nopass", b"~k*", b"+get"], b"+OK\r\n");
    let mut c = srv.raw();
    auth(&mut c, "lg", "x");
    c.roundtrip(&[b"GET", b"other"], NOPERM_KEY);
    c.roundtrip(&[b"GET", b"other"], NOPERM_KEY);
    c.roundtrip(&[b"DEL", b"k1"], b"-NOPERM this user has no permissions to run the 'del' command\r\n");
    c.roundtrip(&[b"AUTH", b"lg2", b"x"], WRONGPASS);
    let log = String::from_utf8_lossy(&admin.call(&[b"ACL", b"LOG"])).into_owned();
    let entries: Vec<&str> = log.split("$5\r\ncount\r\n").skip(1).collect();
    assert_eq!(entries.len(), 3, "{log}");
    assert!(entries[0].starts_with(":1\r\n$6\r\nreason\r\n$4\r\nauth\r\n$7\r\ncontext\r\n$8\r\ntoplevel\r\n$6\r\nobject\r\n$4\r\nAUTH\r\n$8\r\nusername\r\n$3\r\nlg2\r\n"), "{log}");
    assert!(entries[1].starts_with(":1\r\n$6\r\nreason\r\n$7\r\ncommand\r\n$7\r\ncontext\r\n$8\r\ntoplevel\r\n$6\r\nobject\r\n$3\r\ndel\r\n$8\r\nusername\r\n$2\r\nlg\r\n"), "{log}");
    // the same key denial twice is one entry with count 2
    assert!(entries[2].starts_with(":2\r\n$6\r\nreason\r\n$3\r\nkey\r\n$7\r\ncontext\r\n$8\r\ntoplevel\r\n$6\r\nobject\r\n$5\r\nother\r\n"), "{log}");
    assert!(entries[2].contains(" user=lg "), "{log}");
    admin.roundtrip(&[b"ACL", b"LOG", b"RESET"], b"+OK\r\n");
    admin.roundtrip(&[b"ACL", b"LOG"], b"*0\r\n");
}

#[test]
fn requirepass_is_the_default_users_password() {
    let srv = Server::start(&["--requirepass", "pw"]);
    let mut c = srv.raw();
    c.roundtrip(&[b"GET", b"k"], b"-NOAUTH Authentication required.\r\n");
    c.roundtrip(&[b"AUTH", b"default", b"pw"], b"+OK\r\n");
    let l = c.call(&[b"ACL", b"LIST"]);
    let want = format!("user default on #{} ~* &* +@all", "30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4");
    assert!(String::from_utf8_lossy(&l).contains(&want), "{}", String::from_utf8_lossy(&l));
    c.roundtrip(&[b"CONFIG", b"SET", b"requirepass", b""], b"+OK\r\n");
    let mut d = srv.raw();
    d.roundtrip(&[b"ACL", b"WHOAMI"], b"$7\r\ndefault\r\n");
    d.roundtrip(&[b"AUTH", b"x"], b"-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n");
    // ACL SETUSER default >pass makes new connections need AUTH
    d.roundtrip(&[b"ACL", b"SETUSER", b"default", b"resetpass", b">np"], b"+OK\r\n");
    let mut e = srv.raw();
    e.roundtrip(&[b"PING"], b"-NOAUTH Authentication required.\r\n");
    e.roundtrip(&[b"HELLO", b"2", b"AUTH", b"default", b"bad"], WRONGPASS);
    e.roundtrip(&[b"AUTH", b"np"], b"+OK\r\n");
}

#[test]
fn config_file_users() {
    let srv = Server::start(&["--user", "alice", "on", ">apw", "~a:*", "+get", "--user", "bob", "off"]);
    let mut c = srv.raw();
    c.roundtrip(&[b"ACL", b"USERS"], b"*3\r\n$5\r\nalice\r\n$3\r\nbob\r\n$7\r\ndefault\r\n");
    auth(&mut c, "alice", "apw");
    c.roundtrip(&[b"GET", b"a:1"], b"$-1\r\n");
    c.roundtrip(&[b"GET", b"b"], NOPERM_KEY);
}

/// The ACL subcommands' replies and errors, compared with the real server.
#[test]
fn same_as_redis() {
    let dir = std::env::temp_dir().join(format!("ferrodis-acl-real-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let Some(real) = RealRedis::start(&dir, &[]) else { return };
    let srv = Server::start(&[]);
    let script = "
        ACL SETUSER u on >p1 ~foo:* %R~bar %W~baz &ch* +@string -@string +get -get +get +config|get -@all +@hash -hset nopass
        ACL GETUSER u
        ACL LIST
        ACL SETUSER u +@all -get
        ACL GETUSER u
        ACL SETUSER v
        ACL SETUSER v reset
        ACL LIST
        ACL USERS
        ACL WHOAMI
        ACL SETUSER w foo
        ACL SETUSER w +nosuch
        ACL SETUSER w +@nosuch
        ACL SETUSER w <nopw
        ACL SETUSER w #abc
        ACL SETUSER w %X~a
        ACL SETUSER w allkeys ~x
        ACL SETUSER w allchannels &x
        ACL SETUSER w +config|get|x
        ACL SETUSER w on >a >b <a -@all +@set +@hash +acl
        ACL GETUSER w
        ACL GETUSER nosuch
        ACL SETUSER x (+get ~x) (%R~y +set
        ACL SETUSER x (+get ~x) (%R~y +set)
        ACL GETUSER x
        ACL LIST
        ACL CAT
        ACL CAT nosuch
        ACL GENPASS 0
        ACL GENPASS x
        ACL DRYRUN u get foo:1
        ACL DRYRUN u get bar
        ACL DRYRUN w get bar
        ACL DRYRUN w smembers bar
        ACL DRYRUN x set y 1
        ACL DRYRUN nosuch get bar
        ACL DRYRUN u nosuch bar
        ACL DRYRUN u get
        ACL DELUSER u v w x nosuch
        ACL LOAD
        ACL SAVE
        ACL HELP
        ACL foo
    ";
    same_replies(&mut srv.raw(), &mut real.raw(), script);
    same_replies_resp3(&mut srv.raw(), &mut real.raw(), "ACL SETUSER r3 on ~k &c +get\nACL GETUSER r3\nACL GETUSER default");
    let _ = std::fs::remove_dir_all(&dir);
}
