//! FUNCTION / FCALL: replies byte for byte as Redis 7.0.15 gives them.

mod common;

use common::{Raw, Server};

const LIB: &[u8] = b"#!lua name=mylib\nredis.register_function{function_name='f1', callback=function(k,a) return a[1] end, description='desc', flags={'no-writes','allow-stale'}}\nredis.register_function('f2', function(k,a) return redis.call('set',k[1],a[1]) end)";

fn load(r: &mut Raw, code: &[u8], expected: &[u8]) {
    r.roundtrip(&[b"FUNCTION", b"LOAD", b"REPLACE", code], expected);
}

#[test]
fn load_call_list_delete() {
    let srv = Server::start(&[]);
    let mut r = srv.raw();
    r.roundtrip(&[b"FUNCTION", b"LOAD", LIB], b"$5\r\nmylib\r\n");
    r.roundtrip(&[b"FCALL", b"f1", b"0", b"hi"], b"$2\r\nhi\r\n");
    r.roundtrip(&[b"FCALL_RO", b"F1", b"0", b"hi"], b"$2\r\nhi\r\n");
    r.roundtrip(&[b"FCALL_RO", b"f2", b"1", b"k", b"v"], b"-ERR Can not execute a script with write flag using *_ro command.\r\n");
    r.roundtrip(&[b"FCALL", b"F2", b"1", b"k", b"v"], b"+OK\r\n");
    r.roundtrip(&[b"GET", b"k"], b"$1\r\nv\r\n");
    r.roundtrip(
        &[b"FUNCTION", b"LIST"],
        b"*1\r\n*6\r\n$12\r\nlibrary_name\r\n$5\r\nmylib\r\n$6\r\nengine\r\n$3\r\nLUA\r\n$9\r\nfunctions\r\n*2\r\n\
*6\r\n$4\r\nname\r\n$2\r\nf1\r\n$11\r\ndescription\r\n$4\r\ndesc\r\n$5\r\nflags\r\n*2\r\n+no-writes\r\n+allow-stale\r\n\
*6\r\n$4\r\nname\r\n$2\r\nf2\r\n$11\r\ndescription\r\n$-1\r\n$5\r\nflags\r\n*0\r\n",
    );
    r.roundtrip(&[b"FUNCTION", b"LIST", b"LIBRARYNAME", b"nomatch*"], b"*0\r\n");
    r.roundtrip(&[b"FUNCTION", b"LIST", b"LIBRARYNAME"], b"-ERR library name argument was not given\r\n");
    r.roundtrip(&[b"FUNCTION", b"LIST", b"X\r\n+INJECTED"], b"-ERR Unknown argument X  +INJECTED\r\n");
    r.roundtrip(&[b"FUNCTION", b"LIST", b"WITHCODE", b"WITHCODE"], b"-ERR Unknown argument WITHCODE\r\n");
    r.roundtrip(
        &[b"FUNCTION", b"STATS"],
        b"*4\r\n$14\r\nrunning_script\r\n$-1\r\n$7\r\nengines\r\n*2\r\n$3\r\nLUA\r\n*4\r\n$15\r\nlibraries_count\r\n:1\r\n$15\r\nfunctions_count\r\n:2\r\n",
    );
    r.roundtrip(&[b"FUNCTION", b"LOAD", LIB], b"-ERR Library 'mylib' already exists\r\n");
    r.roundtrip(&[b"FUNCTION", b"DELETE", b"nolib"], b"-ERR Library not found\r\n");
    r.roundtrip(&[b"FCALL", b"nofn", b"0"], b"-ERR Function not found\r\n");
    r.roundtrip(&[b"FCALL", b"f1", b"x"], b"-ERR Bad number of keys provided\r\n");
    r.roundtrip(&[b"FCALL", b"f1", b"10", b"k"], b"-ERR Number of keys can't be greater than number of args\r\n");
    r.roundtrip(&[b"FCALL", b"f1", b"-1", b"k"], b"-ERR Number of keys can't be negative\r\n");
    r.roundtrip(&[b"FUNCTION", b"DELETE", b"mylib"], b"+OK\r\n");
    r.roundtrip(&[b"FUNCTION", b"LIST"], b"*0\r\n");
    r.roundtrip(&[b"FUNCTION", b"FLUSH", b"bad"], b"-ERR FUNCTION FLUSH only supports SYNC|ASYNC option\r\n");
    r.roundtrip(
        &[b"FUNCTION", b"FLUSH", b"sync", b"extra"],
        b"-ERR unknown subcommand or wrong number of arguments for 'FLUSH'. Try FUNCTION HELP.\r\n",
    );
    r.roundtrip(&[b"FUNCTION", b"KILL"], b"-NOTBUSY No scripts in execution right now.\r\n");
}

#[test]
fn load_errors() {
    let srv = Server::start(&[]);
    let mut r = srv.raw();
    let cases: &[(&[u8], &[u8])] = &[
        (b"return 1", b"-ERR Missing library metadata\r\n"),
        (b"#!lua name=x", b"-ERR Invalid library metadata\r\n"),
        (b"#! name=test\nx", b"-ERR Engine '' not found\r\n"),
        (b"#!lua name=test foo=bar\nx", b"-ERR Invalid metadata value given: foo=bar\r\n"),
        (b"#!lua\nx", b"-ERR Library name was not given\r\n"),
        (b"#!lua name=foo name=bar\nx", b"-ERR Invalid metadata value, name argument was given multiple times\r\n"),
        (b"#!bad_engine name=t\nx", b"-ERR Engine 'bad_engine' not found\r\n"),
        (b"#!lua name=bad-name\nx", b"-ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long\r\n"),
        (b"#!lua name=t\nbad script", b"-ERR Error compiling function: user_function:2: '=' expected near 'script'\r\n"),
        (b"#!lua name=t\nreturn 1", b"-ERR No functions registered\r\n"),
        (b"#!lua name=t\nerror('x')", b"-ERR Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable 'error'\r\n"),
        (b"#!lua name=t\nlocal a = nil; a.b = 1", b"-ERR Error registering functions: ERR user_function:2: attempt to index local 'a' (a nil value)\r\n"),
        (b"#!lua name=t\nredis.register_function('f', 1)", b"-ERR Error registering functions: ERR second argument to redis.register_function must be a function\r\n"),
        (b"#!lua name=t\nredis.register_function()", b"-ERR Error registering functions: ERR wrong number of arguments to redis.register_function\r\n"),
        (b"#!lua name=t\nredis.register_function('f')", b"-ERR Error registering functions: ERR calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).\r\n"),
        (b"#!lua name=t\nredis.register_function{function_name='f', callback=function() end, flags={'unknown'}}", b"-ERR Error registering functions: ERR unknown flag given\r\n"),
        (b"#!lua name=t\nredis.register_function{function_name='f', callback=function() end, x=1}", b"-ERR Error registering functions: ERR unknown argument given to redis.register_function\r\n"),
        (b"#!lua name=t\nredis.register_function{callback=function() end}", b"-ERR Error registering functions: ERR redis.register_function must get a function name argument\r\n"),
        (b"#!lua name=t\nredis.register_function{function_name='f'}", b"-ERR Error registering functions: ERR redis.register_function must get a callback argument\r\n"),
        (b"#!lua name=t\nredis.register_function('f', function() end)\nredis.register_function('f', function() end)", b"-ERR Error registering functions: ERR Function already exists in the library\r\n"),
        (b"#!lua name=t\nreturn redis.call('ping')", b"-ERR Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable 'call'\r\n"),
        (b"#!lua name=t\nreturn math.random()", b"-ERR Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable 'math'\r\n"),
        (b"#!lua name=t\na = 1", b"-ERR Error registering functions: ERR user_function:2: Attempt to modify a readonly table\r\n"),
        (b"#!lua name=t\nlocal a = 1 while 1 do a = a + 1 end", b"-ERR Error registering functions: ERR FUNCTION LOAD timeout\r\n"),
    ];
    for (code, expected) in cases {
        load(&mut r, code, expected);
    }
    r.roundtrip(&[b"FUNCTION", b"LOAD", b"foo", b"bar", LIB], b"-ERR Unknown option given: foo\r\n");
    r.roundtrip(&[b"FUNCTION", b"LOAD", b"#!lua name=\"foo\"\nredis.register_function('foo', function() return 1 end)"], b"$3\r\nfoo\r\n");
    // a failed replace keeps the old library
    load(&mut r, b"#!lua name=foo\nerror('x')", b"-ERR Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable 'error'\r\n");
    r.roundtrip(&[b"FCALL", b"foo", b"0"], b":1\r\n");
    // function names are unique across libraries
    r.roundtrip(&[b"FUNCTION", b"LOAD", b"#!lua name=other\nredis.register_function('FOO', function() return 2 end)"], b"-ERR Function FOO already exists\r\n");
}

#[test]
fn runtime_errors_and_sandbox() {
    let srv = Server::start(&[]);
    let mut r = srv.raw();
    let lib = b"#!lua name=t\nredis.register_function('f', function(keys, args) return redis.call('nosuch') end)\n\
redis.register_function('g', function(keys, args) error('boom') end)\n\
redis.register_function('k', function(keys, args) return a end)\n\
redis.register_function('r', function() redis.register_function('x', function() end) end)\n\
local lib = redis\nredis.register_function('m', function() lib.register_function('y', function() end) end)";
    r.roundtrip(&[b"FUNCTION", b"LOAD", lib], b"$1\r\nt\r\n");
    r.roundtrip(&[b"FCALL", b"f", b"0"], b"-ERR Unknown Redis command called from script script: f, on @user_function:2.\r\n");
    r.roundtrip(&[b"FCALL", b"g", b"0"], b"-ERR user_function:3: boom script: g, on @user_function:3.\r\n");
    r.roundtrip(&[b"FCALL", b"k", b"0"], b"-ERR user_function:4: Script attempted to access nonexistent global variable 'a' script: k, on @user_function:4.\r\n");
    r.roundtrip(&[b"FCALL", b"r", b"0"], b"-ERR user_function:5: attempt to call field 'register_function' (a nil value) script: r, on @user_function:5.\r\n");
    r.roundtrip(&[b"FCALL", b"m", b"0"], b"-ERR redis.register_function can only be called on FUNCTION LOAD command script: m, on @user_function:7.\r\n");
}

#[test]
fn dump_and_restore() {
    let srv = Server::start(&[]);
    let mut r = srv.raw();
    r.roundtrip(&[b"FUNCTION", b"LOAD", LIB], b"$5\r\nmylib\r\n");
    r.cmd(&[b"FUNCTION", b"DUMP"]);
    let payload = r.read_bulk().unwrap();
    r.roundtrip(&[b"FUNCTION", b"RESTORE", &payload], b"-ERR Library mylib already exists\r\n");
    r.roundtrip(&[b"FUNCTION", b"RESTORE", b"bad_payload"], b"-ERR DUMP payload version or checksum are wrong\r\n");
    r.roundtrip(&[b"FUNCTION", b"RESTORE", &payload, b"BAD"], b"-ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.\r\n");
    r.roundtrip(
        &[b"FUNCTION", b"RESTORE", b"a", b"b", b"c"],
        b"-ERR unknown subcommand or wrong number of arguments for 'RESTORE'. Try FUNCTION HELP.\r\n",
    );
    r.roundtrip(&[b"FUNCTION", b"RESTORE", &payload, b"REPLACE"], b"+OK\r\n");
    r.roundtrip(&[b"FUNCTION", b"FLUSH"], b"+OK\r\n");
    r.roundtrip(&[b"FUNCTION", b"LOAD", b"#!lua name=other\nredis.register_function('x', function() return 7 end)"], b"$5\r\nother\r\n");
    r.roundtrip(&[b"FUNCTION", b"RESTORE", &payload, b"APPEND"], b"+OK\r\n");
    r.roundtrip(&[b"FCALL", b"x", b"0"], b":7\r\n");
    r.roundtrip(&[b"FCALL", b"f1", b"0", b"a"], b"$1\r\na\r\n");
    r.roundtrip(&[b"FUNCTION", b"RESTORE", &payload, b"FLUSH"], b"+OK\r\n");
    r.roundtrip(&[b"FCALL", b"x", b"0"], b"-ERR Function not found\r\n");
    // A payload from redis-server 7.0.15 (its library code is LZF-compressed).
    let redis_payload: &[u8] = b"\xf5\xc3\x40\x69\x40\x75\x13\x23\x21\x6c\x75\x61\x20\x6e\x61\x6d\x65\x3d\x72\x65\x64\x69\x73\x6c\x69\x62\x0a\x60\x08\x17\x2e\x72\x65\x67\x69\x73\x74\x65\x72\x5f\x66\x75\x6e\x63\x74\x69\x6f\x6e\x28\x27\x66\x72\x6f\x6d\x60\x1c\x02\x27\x2c\x20\xe0\x00\x15\x0b\x6b\x2c\x61\x29\x20\x72\x65\x74\x75\x72\x6e\x20\x60\x21\x20\x0c\x20\x48\x1b\x20\x73\x65\x72\x76\x65\x72\x20\x37\x2e\x30\x2e\x31\x35\x20\x70\x61\x79\x6c\x6f\x61\x64\x27\x20\x65\x6e\x64\x29\x0a\x00\xb3\xbe\xbd\x0a\x93\xe8\x2d\x52";
    r.roundtrip(&[b"FUNCTION", b"RESTORE", redis_payload], b"+OK\r\n");
    r.roundtrip(&[b"FCALL", b"fromredis", b"0"], b"$32\r\nfrom redis server 7.0.15 payload\r\n");
}

#[test]
fn busy_function_is_killed() {
    let srv = Server::start(&["--busy-reply-threshold", "50"]);
    let mut runner = srv.raw();
    let mut other = srv.raw();
    runner.roundtrip(
        &[b"FUNCTION", b"LOAD", b"#!lua name=test\nredis.register_function('test', function() local a = 1 while true do a = a + 1 end end)"],
        b"$4\r\ntest\r\n",
    );
    runner.cmd(&[b"FCALL", b"test", b"0"]);
    assert_eq!(other.wait_busy(), b"-BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.\r\n");
    other.roundtrip(&[b"SCRIPT", b"KILL"], b"-BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.\r\n");
    other.cmd(&[b"FUNCTION", b"STATS"]);
    other.expect(b"*4\r\n$14\r\nrunning_script\r\n*6\r\n$4\r\nname\r\n$4\r\ntest\r\n$7\r\ncommand\r\n*3\r\n$5\r\nFCALL\r\n$4\r\ntest\r\n$1\r\n0\r\n$11\r\nduration_ms\r\n");
    other.read_until_crlf();
    other.expect(b"$7\r\nengines\r\n*2\r\n$3\r\nLUA\r\n*4\r\n$15\r\nlibraries_count\r\n:1\r\n$15\r\nfunctions_count\r\n:1\r\n");
    other.roundtrip(&[b"FUNCTION", b"KILL"], b"+OK\r\n");
    runner.expect(b"-ERR Script killed by user with SCRIPT KILL... script: test, on @user_function:2.\r\n");
    runner.roundtrip(&[b"PING"], b"+PONG\r\n");
}

#[test]
fn libraries_survive_debug_reload_and_restart() {
    let srv = Server::start(&[]);
    let mut r = srv.raw();
    r.roundtrip(&[b"FUNCTION", b"LOAD", LIB], b"$5\r\nmylib\r\n");
    r.roundtrip(&[b"DEBUG", b"RELOAD"], b"+OK\r\n");
    r.roundtrip(&[b"FCALL", b"f1", b"0", b"back"], b"$4\r\nback\r\n");
    r.roundtrip(&[b"DEBUG", b"RELOAD", b"NOFLUSH"], b"-ERR Error trying to load the RDB dump\r\n");
    r.roundtrip(&[b"DEBUG", b"RELOAD", b"NOFLUSH", b"MERGE"], b"+OK\r\n");
    r.roundtrip(
        &[b"FUNCTION", b"STATS"],
        b"*4\r\n$14\r\nrunning_script\r\n$-1\r\n$7\r\nengines\r\n*2\r\n$3\r\nLUA\r\n*4\r\n$15\r\nlibraries_count\r\n:1\r\n$15\r\nfunctions_count\r\n:2\r\n",
    );
    // the RDB file written by SAVE is loaded at start-up
    r.roundtrip(&[b"SAVE"], b"+OK\r\n");
    let dir = srv.dir.to_str().unwrap().to_string();
    let srv2 = Server::start(&["--dir", &dir]);
    let mut r2 = srv2.raw();
    r2.roundtrip(&[b"FCALL", b"f1", b"0", b"again"], b"$5\r\nagain\r\n");
}

#[test]
fn libraries_written_by_real_redis_load() {
    let dir = std::env::temp_dir().join(format!("ferrodis-fn-interop-{}", common::free_port()));
    std::fs::create_dir_all(&dir).unwrap();
    let Some(redis) = common::RealRedis::start(&dir, &[]) else { return };
    let mut c = redis.raw();
    c.roundtrip(&[b"FUNCTION", b"LOAD", LIB], b"$5\r\nmylib\r\n");
    c.roundtrip(&[b"SET", b"k", b"v"], b"+OK\r\n");
    c.roundtrip(&[b"SAVE"], b"+OK\r\n");
    drop(redis);
    let d = dir.to_str().unwrap().to_string();
    let srv = Server::start(&["--dir", &d]);
    let mut r = srv.raw();
    r.roundtrip(&[b"FCALL", b"f1", b"0", b"hi"], b"$2\r\nhi\r\n");
    r.roundtrip(&[b"GET", b"k"], b"$1\r\nv\r\n");
    // and ours loads back into real Redis
    r.roundtrip(&[b"FUNCTION", b"LOAD", b"#!lua name=two\nredis.register_function('f3', function() return 3 end)"], b"$3\r\ntwo\r\n");
    r.roundtrip(&[b"SAVE"], b"+OK\r\n");
    drop(srv);
    let Some(redis) = common::RealRedis::start(&dir, &[]) else { return };
    let mut c = redis.raw();
    c.roundtrip(&[b"FCALL", b"f3", b"0"], b":3\r\n");
    c.roundtrip(&[b"FCALL", b"f1", b"0", b"x"], b"$1\r\nx\r\n");
    drop(redis);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn libraries_survive_in_the_aof_base() {
    let srv = Server::start(&["--appendonly", "yes", "--appendfsync", "always"]);
    let mut r = srv.raw();
    r.roundtrip(&[b"FUNCTION", b"LOAD", LIB], b"$5\r\nmylib\r\n");
    r.roundtrip(&[b"BGREWRITEAOF"], b"+Background append only file rewriting started\r\n");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let manifest = srv.dir.join("appendonlydir/appendonly.aof.manifest");
    while !std::fs::read_to_string(&manifest).unwrap_or_default().contains("appendonly.aof.2.base.rdb") {
        assert!(std::time::Instant::now() < deadline, "rewrite did not finish");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // written after the rewrite: goes to the incr file
    r.roundtrip(&[b"FUNCTION", b"LOAD", b"#!lua name=two\nredis.register_function('f3', function() return 3 end)"], b"$3\r\ntwo\r\n");
    let dir = srv.dir.to_str().unwrap().to_string();
    let srv2 = Server::start(&["--dir", &dir, "--appendonly", "yes"]);
    let mut r2 = srv2.raw();
    r2.roundtrip(&[b"FCALL", b"f1", b"0", b"again"], b"$5\r\nagain\r\n");
    r2.roundtrip(&[b"FCALL", b"f3", b"0"], b":3\r\n");
}
