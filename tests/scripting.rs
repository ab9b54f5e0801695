//! EVAL / EVALSHA / SCRIPT: replies byte for byte as Redis 7.0.15 gives them (the
//! expected bytes were taken from a real redis-server), busy scripts and SCRIPT KILL.

mod common;

use common::{Raw, Server};

fn eval(r: &mut Raw, script: &str, args: &[&str], expected: &[u8]) {
    let mut a: Vec<&[u8]> = vec![b"EVAL", script.as_bytes()];
    a.extend(args.iter().map(|s| s.as_bytes()));
    r.roundtrip(&a, expected);
}

#[test]
fn lua_to_redis_conversions() {
    let srv = Server::start(&[]);
    let mut r = srv.raw();
    eval(&mut r, "return 'hello'", &["0"], b"$5\r\nhello\r\n");
    eval(&mut r, "return 100.5", &["0"], b":100\r\n");
    eval(&mut r, "return -3.7", &["0"], b":-3\r\n");
    eval(&mut r, "return true", &["0"], b":1\r\n");
    eval(&mut r, "return false", &["0"], b"$-1\r\n");
    eval(&mut r, "return nil", &["0"], b"$-1\r\n");
    eval(&mut r, "return {ok='fine'}", &["0"], b"+fine\r\n");
    eval(&mut r, "return {err='My error'}", &["0"], b"-My error\r\n");
    eval(&mut r, "return {1,2,3,'ciao',{1,2}}", &["0"], b"*5\r\n:1\r\n:2\r\n:3\r\n$4\r\nciao\r\n*2\r\n:1\r\n:2\r\n");
    // an array stops at the first nil
    eval(&mut r, "return {1,2,nil,4}", &["0"], b"*2\r\n:1\r\n:2\r\n");
    eval(&mut r, "return {1,{err='y'}}", &["0"], b"*2\r\n:1\r\n-y\r\n");
    eval(&mut r, "return _G", &["0"], b"*0\r\n");
    eval(&mut r, "return {KEYS[1],KEYS[2],ARGV[1],ARGV[2]}", &["2", "a", "b", "c", "d"], b"*4\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n");
    eval(&mut r, "return redis.error_reply('MY x y')", &["0"], b"-MY x y\r\n");
    eval(&mut r, "return redis.error_reply('x')", &["0"], b"-ERR x\r\n");
    eval(&mut r, "return redis.status_reply('FINE')", &["0"], b"+FINE\r\n");
    eval(&mut r, "return redis.error_reply(1)", &["0"], b"-ERR wrong number or type of arguments\r\n");
    eval(&mut r, "error(redis.error_reply('X\\r\\n+INJECTED'))", &["0"], b"-ERR X  +INJECTED script: ");
    r.read_until_crlf();
    // a recursive table runs out of stack
    r.cmd(&[b"EVAL", b"local a = {}; local b = {a}; a[1] = b; return a", b"0"]);
    loop {
        let line = r.read_until_crlf();
        if line == b"-ERR reached lua stack limit\r\n" {
            break;
        }
        assert_eq!(line, b"*1\r\n");
    }
    r.roundtrip(&[b"PING"], b"+PONG\r\n");
}

#[test]
fn redis_to_lua_conversions() {
    let srv = Server::start(&[]);
    let mut r = srv.raw();
    r.roundtrip(&[b"SET", b"x", b"0"], b"+OK\r\n");
    eval(&mut r, "local foo = redis.pcall('incr',KEYS[1]) return {type(foo),foo}", &["1", "x"], b"*2\r\n$6\r\nnumber\r\n:1\r\n");
    eval(&mut r, "local foo = redis.pcall('get',KEYS[1]) return {type(foo),foo}", &["1", "x"], b"*2\r\n$6\r\nstring\r\n$1\r\n1\r\n");
    eval(&mut r, "local foo = redis.pcall('set',KEYS[1],'v') return {type(foo),foo['ok']}", &["1", "x"], b"*2\r\n$5\r\ntable\r\n$2\r\nOK\r\n");
    eval(
        &mut r,
        "local foo = redis.pcall('incr',KEYS[1]) return {type(foo),foo['err']}",
        &["1", "x"],
        b"*2\r\n$5\r\ntable\r\n$43\r\nERR value is not an integer or out of range\r\n",
    );
    eval(&mut r, "local foo = redis.pcall('get','nokey') return {type(foo),foo == false}", &["0"], b"*2\r\n$7\r\nboolean\r\n:1\r\n");
    eval(&mut r, "return redis.call('mget','x','nokey')", &["0"], b"*2\r\n$1\r\nv\r\n$-1\r\n");
    // numbers are sent with %.17g
    eval(&mut r, "redis.call('set','n',9007199254740991) return redis.call('get','n')", &["0"], b"$16\r\n9007199254740991\r\n");
    // RESP3 values as the script sees them with setresp(3), sent to a RESP2 client
    eval(&mut r, "redis.setresp(3) return {double=3.5}", &["0"], b"$3\r\n3.5\r\n");
    eval(&mut r, "redis.setresp(3) return {true, false}", &["0"], b"*2\r\n:1\r\n:0\r\n");
    eval(&mut r, "return {map={a=1}}", &["0"], b"*2\r\n$1\r\na\r\n:1\r\n");
    eval(&mut r, "return {set={a=true}}", &["0"], b"*1\r\n$1\r\na\r\n");
    eval(&mut r, "return {big_number='123\\r\\n4'}", &["0"], b"$6\r\n123  4\r\n");
    eval(&mut r, "return {verbatim_string={format='txt',string='hi'}}", &["0"], b"$2\r\nhi\r\n");
    eval(&mut r, "return redis.setresp(4)", &["0"], b"-ERR RESP version must be 2 or 3. script: ");
    r.read_until_crlf();
}

#[test]
fn script_errors_match_redis() {
    let srv = Server::start(&[]);
    let mut r = srv.raw();
    eval(&mut r, "a=10", &["0"], b"-ERR user_script:1: Attempt to modify a readonly table script: 933044db579a2f8fd45d8065f04a8d0249383e57, on @user_script:1.\r\n");
    eval(&mut r, "return a", &["0"], b"-ERR user_script:1: Script attempted to access nonexistent global variable 'a' script: bbfcd1ececc90deec823f7fb730e4bfb2a4ba625, on @user_script:1.\r\n");
    eval(&mut r, "setmetatable(_G, {})", &["0"], b"-ERR Attempt to modify a readonly table script: 0bf0a51fbb051c942113de0105d3f8e18cdcddb5, on @user_script:1.\r\n");
    eval(&mut r, "redis.call('nosuch')", &["0"], b"-ERR Unknown Redis command called from script script: 430a4c08007a56d804d36fb3892501d47c06f338, on @user_script:1.\r\n");
    eval(&mut r, "return redis.pcall('nosuch')", &["0"], b"-ERR Unknown Redis command called from script\r\n");
    eval(&mut r, "redis.call('get','a','b')", &["0"], b"-ERR Wrong number of args calling Redis command from script script: 60abc8784953be134715999deef5e07bed35e3d8, on @user_script:1.\r\n");
    eval(&mut r, "return redis.call()", &["0"], b"-ERR Please specify at least one argument for this redis lib call script: 0a907e1429221a4d85516cab7fd219a82a9439d8, on @user_script:1.\r\n");
    eval(&mut r, "error('x')", &["0"], b"-ERR user_script:1: x script: 9851144f39f03a0d597a980c5aa79c80cb696891, on @user_script:1.\r\n");
    eval(&mut r, "error(nil)", &["0"], b"-ERR nil script: c402aa49952c86c38f35fb311d54977d08f3bf01, on @user_script:1.\r\n");
    eval(&mut r, "local x = 1\nx.y = 2", &["0"], b"-ERR user_script:2: attempt to index local 'x' (a number value) script: 9d499ac1fd9aefe1e768fc0b23595dc70aa1419b, on @user_script:2.\r\n");
    eval(&mut r, "print('x')", &["0"], b"-ERR user_script:1: Script attempted to access nonexistent global variable 'print' script: af544869f07ee0ff98e955508566826cfc6fcf49, on @user_script:1.\r\n");
    eval(&mut r, "return redis.call('eval','return 1','0')", &["0"], b"-ERR This Redis command is not allowed from script script: ");
    r.read_until_crlf();
    eval(&mut r, "return loadstring(string.dump(function() return 1 end))()", &["0"], b"-ERR user_script:1: attempt to call a nil value script: ");
    r.read_until_crlf();
    eval(&mut r, "local ok, e = pcall(redis.call, 'nosuch') return e", &["0"], b"$44\r\nERR Unknown Redis command called from script\r\n");
    eval(&mut r, "return redis.call('ping', {})", &["0"], b"-ERR Lua redis lib command arguments must be strings or integers script: ");
    r.read_until_crlf();
    eval(&mut r, "return 1", &["-12"], b"-ERR Number of keys can't be negative\r\n");
    eval(&mut r, "return 1", &["2", "a"], b"-ERR Number of keys can't be greater than number of args\r\n");
    eval(&mut r, "return 1", &["x"], b"-ERR value is not an integer or out of range\r\n");
    eval(&mut r, "return 'x' --trailing comment", &["0"], b"$1\r\nx\r\n");
    eval(&mut r, "return {", &["0"], b"-ERR Error compiling script (new function): user_script:1: unexpected symbol near '<eof>'\r\n");
}

#[test]
fn evalsha_and_script_cache() {
    let srv = Server::start(&[]);
    let mut r = srv.raw();
    r.roundtrip(&[b"SET", b"mykey", b"myval"], b"+OK\r\n");
    r.roundtrip(&[b"EVALSHA", b"fd758d1589d044dd850a6f05d52f2eefd27f033f", b"1", b"mykey"], b"-NOSCRIPT No matching script. Please use EVAL.\r\n");
    r.roundtrip(&[b"EVALSHA", b"NotValidShaSUM", b"0"], b"-NOSCRIPT No matching script. Please use EVAL.\r\n");
    eval(&mut r, "return redis.call('get',KEYS[1])", &["1", "mykey"], b"$5\r\nmyval\r\n");
    r.roundtrip(&[b"EVALSHA", b"fd758d1589d044dd850a6f05d52f2eefd27f033f", b"1", b"mykey"], b"$5\r\nmyval\r\n");
    r.roundtrip(&[b"EVALSHA", b"FD758D1589D044DD850A6F05D52F2EEFD27F033F", b"1", b"mykey"], b"$5\r\nmyval\r\n");
    r.roundtrip(&[b"SCRIPT", b"LOAD", b"return 'loaded'"], b"$40\r\nb534286061d4b9e4026607613b95c06c06015ae8\r\n");
    r.roundtrip(&[b"EVALSHA_RO", b"b534286061d4b9e4026607613b95c06c06015ae8", b"0"], b"$6\r\nloaded\r\n");
    r.roundtrip(
        &[b"SCRIPT", b"EXISTS", b"b534286061d4b9e4026607613b95c06c06015ae8", b"b534286061d4b9e4026607613b95c06c06015ae9"],
        b"*2\r\n:1\r\n:0\r\n",
    );
    r.roundtrip(&[b"SCRIPT", b"FLUSH", b"BAD"], b"-ERR SCRIPT FLUSH only support SYNC|ASYNC option\r\n");
    r.roundtrip(&[b"SCRIPT", b"FLUSH", b"ASYNC"], b"+OK\r\n");
    r.roundtrip(&[b"SCRIPT", b"EXISTS", b"b534286061d4b9e4026607613b95c06c06015ae8"], b"*1\r\n:0\r\n");
    r.roundtrip(&[b"SCRIPT", b"LOAD", b"#!not-lua\nreturn 1"], b"-ERR Unexpected engine in script shebang: #!not-lua\r\n");
    r.roundtrip(&[b"SCRIPT", b"KILL"], b"-NOTBUSY No scripts in execution right now.\r\n");
}

#[test]
fn read_only_scripts_and_flags() {
    let srv = Server::start(&[]);
    let mut r = srv.raw();
    r.roundtrip(&[b"SET", b"foo", b"bar"], b"+OK\r\n");
    r.roundtrip(&[b"EVAL_RO", b"return redis.call('get', KEYS[1])", b"1", b"foo"], b"$3\r\nbar\r\n");
    r.roundtrip(
        &[b"EVAL_RO", b"return redis.call('set', KEYS[1], 'x')", b"1", b"foo"],
        b"-ERR Write commands are not allowed from read-only scripts. script: ",
    );
    r.read_until_crlf();
    r.roundtrip(
        &[b"EVAL", b"#!lua flags=no-writes\nreturn redis.call('set', KEYS[1], 'x')", b"1", b"foo"],
        b"-ERR Write commands are not allowed from read-only scripts. script: ",
    );
    r.read_until_crlf();
    r.roundtrip(&[b"EVAL_RO", b"#!lua\nreturn 1", b"0"], b"-ERR Can not execute a script with write flag using *_ro command.\r\n");
    r.roundtrip(&[b"EVAL", b"#!lua badger=data\nreturn 1", b"0"], b"-ERR Unknown lua shebang option: badger=data\r\n");
    r.roundtrip(&[b"EVAL", b"#!lua flags=allow-oom,what?\nreturn 1", b"0"], b"-ERR Unexpected flag in script shebang: what?\r\n");
    // a shebang keeps the line numbers
    r.roundtrip(&[b"EVAL", b"#!lua\nerror('x')", b"0"], b"-ERR user_script:2: x script: ");
    r.read_until_crlf();
    // SELECT in a script does not move the caller
    r.roundtrip(&[b"SELECT", b"1"], b"+OK\r\n");
    r.roundtrip(&[b"EVAL", b"redis.call('select', '2'); redis.call('set','k','in2'); return 1", b"0"], b":1\r\n");
    r.roundtrip(&[b"GET", b"k"], b"$-1\r\n");
    r.roundtrip(&[b"SELECT", b"2"], b"+OK\r\n");
    r.roundtrip(&[b"GET", b"k"], b"$3\r\nin2\r\n");
}

#[test]
fn bundled_libraries() {
    let srv = Server::start(&[]);
    let mut r = srv.raw();
    eval(&mut r, "return table.concat(cjson.decode('[0.0, -5e3, -1, 0.3e-3, 1023.2, 0e10]'), ' ')", &["0"], b"$26\r\n0 -5000 -1 0.0003 1023.2 0\r\n");
    eval(
        &mut r,
        "return cjson.encode({1,2,{a=1}, 1.5, 1e20, 0.1, 'a/b\"c', 1/3})",
        &["0"],
        b"$54\r\n[1,2,{\"a\":1},1.5,1e+20,0.1,\"a\\/b\\\"c\",0.33333333333333]\r\n",
    );
    eval(&mut r, "return cjson.encode(cjson.decode('[1,\"\\\\u00e9\",null,true,{\"a\":[]}]'))", &["0"], "$27\r\n[1,\"é\",null,true,{\"a\":{}}]\r\n".as_bytes());
    eval(&mut r, "return cjson.decode('[1,2')", &["0"], b"-ERR user_script:1: Expected comma or array end but found T_END at character 5 script: ");
    r.read_until_crlf();
    eval(&mut r, "return cjson.encode({[1]=1,[20]=2})", &["0"], b"-ERR user_script:1: Cannot serialise table: excessively sparse array script: ");
    r.read_until_crlf();
    eval(
        &mut r,
        "local e = cmsgpack.pack(0.1) local h = '' for i = 1, #e do h = h .. string.format('%02x', string.byte(e, i)) end return h",
        &["0"],
        b"$18\r\ncb3fb999999999999a\r\n",
    );
    eval(
        &mut r,
        "local e = cmsgpack.pack({a=1, b={1,2,'x'}}) local t = cmsgpack.unpack(e) return {t.a, t.b[3]}",
        &["0"],
        b"*2\r\n:1\r\n$1\r\nx\r\n",
    );
    eval(&mut r, "return {bit.band(1), bit.bxor(1,2), bit.bor(1,2,4,8,16,32,64,128), bit.tohex(65535, -2147483648), bit.lshift(1, 33)}", &["0"], b"*5\r\n:1\r\n:3\r\n:255\r\n$8\r\n0000FFFF\r\n:2\r\n");
    eval(&mut r, "return {struct.unpack('>I2', struct.pack('>I2', 258))}", &["0"], b"*2\r\n:258\r\n:3\r\n");
    eval(&mut r, "return {redis.sha1hex(''), redis.sha1hex('Pizza & Mandolino')}", &["0"], b"*2\r\n$40\r\nda39a3ee5e6b4b0d3255bfef95601890afd80709\r\n$40\r\n74822d82031af7493c20eefa13bd07ec4fada82f\r\n");
    eval(&mut r, "cjson.encode = function() return 1 end", &["0"], b"-ERR user_script:1: Attempt to modify a readonly table script: ");
    r.read_until_crlf();
    // Redis's rand48: the same sequence for a seed as redis-server gives.
    eval(&mut r, "math.randomseed(10); return {tostring(math.random()), math.random(100), math.random(5,10)}", &["0"], b"*3\r\n$16\r\n0.87885112309775\r\n:80\r\n:7\r\n");
}

#[test]
fn busy_script_is_killed() {
    let srv = Server::start(&["--busy-reply-threshold", "50"]);
    let mut runner = srv.raw();
    let mut other = srv.raw();
    runner.cmd(&[b"EVAL", b"local i = 0 while true do i = i + 1 end", b"0"]);
    // Wait for the script to pass the threshold.
    assert_eq!(other.wait_busy(), b"-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n");
    // Another client connecting now is served too.
    let mut late = srv.raw();
    late.roundtrip(&[b"GET", b"x"], b"-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n");
    other.roundtrip(&[b"FUNCTION", b"KILL"], b"-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n");
    other.roundtrip(&[b"FUNCTION", b"STATS"], b"-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n");
    other.roundtrip(&[b"SCRIPT", b"KILL"], b"+OK\r\n");
    runner.expect(b"-ERR Script killed by user with SCRIPT KILL... script: ");
    runner.read_until_crlf();
    runner.roundtrip(&[b"PING"], b"+PONG\r\n");
    other.roundtrip(&[b"PING"], b"+PONG\r\n");
}

#[test]
fn busy_script_with_pipelined_commands_and_pcall() {
    let srv = Server::start(&["--busy-reply-threshold", "50"]);
    let mut runner = srv.raw();
    let mut other = srv.raw();
    // the script and a PING in one write: the PING runs after the killed script
    runner.send(b"*3\r\n$4\r\neval\r\n$82\r\nlocal f = function() while 1 do redis.call('ping') end end while 1 do pcall(f) end\r\n$1\r\n0\r\n*1\r\n$4\r\nping\r\n");
    other.wait_busy();
    other.roundtrip(&[b"SCRIPT", b"KILL"], b"+OK\r\n");
    runner.expect(b"-ERR Script killed by user with SCRIPT KILL... script: ");
    runner.read_until_crlf();
    runner.expect(b"+PONG\r\n");
}

#[test]
fn busy_script_that_wrote_is_unkillable() {
    let srv = Server::start(&["--busy-reply-threshold", "50"]);
    let mut runner = srv.raw();
    let mut other = srv.raw();
    runner.cmd(&[b"EVAL", b"redis.call('set',KEYS[1],'y') while true do end", b"1", b"x"]);
    other.wait_busy();
    other.roundtrip(&[b"SCRIPT", b"KILL"], b"-UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.\r\n");
}

/// Scripts are propagated by their effects: the AOF of both servers after the same scripts
/// (several writes wrapped in MULTI/EXEC, a single write alone, SELECT inside a script,
/// EXPIRE made absolute, set_repl(REPL_NONE), read-only scripts not at all).
#[test]
fn effects_replication_same_as_redis() {
    let scripts: &[&[&str]] = &[
        &["EVAL", "redis.call('set','a','1'); redis.call('incr','n'); return 1", "0"],
        &["EVAL", "return redis.call('set',KEYS[1],'x')", "1", "single"],
        &["EVAL", "return redis.call('get','a')", "0"],
        &["EVAL", "redis.call('set','foo1','bar1'); redis.call('select','10'); redis.call('incr','x'); redis.call('select','11'); redis.call('incr','z')", "0"],
        &["EVAL", "return redis.call('expire', KEYS[1], 100)", "1", "a"],
        &["EVAL", "redis.call('set','b','2'); redis.set_repl(redis.REPL_NONE); redis.call('set','c','3'); redis.set_repl(redis.REPL_ALL); redis.call('set','d','4')", "0"],
        &["EVAL", "redis.pcall('incr','a'); return redis.pcall('lpush','a','x')", "0"],
        &["SET", "after", "1"],
    ];
    let cmds: Vec<Vec<&[u8]>> = scripts.iter().map(|s| s.iter().map(|a| a.as_bytes()).collect()).collect();
    let Some(redis) = common::aof_after(true, &cmds) else { return };
    // PEXPIREAT carries an absolute time: compare its shape only
    let aofs = [ms_times_hidden(&redis), ms_times_hidden(&common::aof_after(false, &cmds).unwrap())];
    assert!(aofs[0].contains("MULTI") && aofs[0].contains("PEXPIREAT"), "redis's AOF: {}", aofs[0]);
    assert_eq!(aofs[1], aofs[0], "AOF (left: ours, right: redis)");
}

/// Replace the 13-digit unix-ms times (and their length prefix) with a placeholder.
fn ms_times_hidden(s: &str) -> String {
    let mut out = String::new();
    for w in s.split(' ') {
        if w.len() == 13 && w.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str("<ms> ");
        } else {
            out.push_str(w);
            out.push(' ');
        }
    }
    out
}

/// RESP3 clients: what scripts return, with and without redis.setresp(3), byte for byte
/// as redis-server sends it (Lua snippets without spaces: the helper splits on spaces).
#[test]
fn resp3_replies_same_as_redis() {
    let srv = Server::start(&[]);
    let Some(redis) = common::RealRedis::start(&srv.dir, &[]) else { return };
    let (mut ours, mut real) = (srv.raw(), redis.raw());
    common::same_replies_resp3(
        &mut ours,
        &mut real,
        "HSET h f v
        EVAL return{1,2,{ok='x'},3.7,true,false,{double=3.5},{map={a=1}},{set={a=true}},{big_number='123'},{verbatim_string={format='txt',string='hi'}}} 0
        EVAL redis.setresp(3);return{true,false,nil} 0
        EVAL return{true,false} 0
        EVAL return false 0
        EVAL return nil 0
        EVAL redis.setresp(3);return(false) 0
        EVAL redis.setresp(3);return(redis.call('hgetall','h')) 0
        EVAL redis.setresp(2);return(redis.call('hgetall','h')) 0
        EVAL redis.setresp(3);return(redis.call('hgetall','nokey')) 0
        EVAL redis.setresp(3);local(t)=redis.call('hgetall','h');return(t.map.f) 0
        EVAL redis.setresp(3);return(redis.call('get','nokey')) 0
        EVAL return(redis.call('get','nokey')) 0
        EVAL return{err='My'} 0
        EVAL return{big_number='1\\r\\n2'} 0",
    );
}

/// With several workers the script's worker is busy running it: clients of the other
/// workers get -BUSY from their own worker once the script is past the threshold, and
/// SCRIPT KILL from there stops it.
#[test]
fn busy_script_with_several_workers() {
    let srv = Server::start(&["--busy-reply-threshold", "50", "--io-threads", "2"]);
    let mut runner = srv.raw();
    // connections are dealt round-robin: one of these two is on the other worker
    let mut others = [srv.raw(), srv.raw()];
    runner.cmd(&[b"EVAL", b"local i = 0 while true do i = i + 1 end", b"0"]);
    for o in others.iter_mut() {
        assert_eq!(o.wait_busy(), b"-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n");
        o.roundtrip(&[b"SET", b"k", b"v"], b"-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n");
    }
    others[1].roundtrip(&[b"SCRIPT", b"KILL"], b"+OK\r\n");
    runner.expect(b"-ERR Script killed by user with SCRIPT KILL... script: ");
    runner.read_until_crlf();
    for o in others.iter_mut() {
        o.roundtrip(&[b"SET", b"k", b"v"], b"+OK\r\n");
    }
}
