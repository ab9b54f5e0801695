//! Geo commands against replies recorded from Redis 7.0.15 (byte-exact: scores, distances,
//! coordinates, geohashes, search order, errors, STORE/STOREDIST).
mod common;
use common::{check_replies, Server};

#[test]
fn replies_match_redis() {
    let srv = Server::start(&[]);
    let mut c = srv.raw();
    let cases: &[(&str, &[u8])] = &[
        ("geoadd Sicily 13.361389 38.115556 Palermo 15.087269 37.502669 Catania", b":2\r\n"),
        ("geoadd Sicily NX CH 13.361389 38.115556 Palermo 13.5 38.0 Other", b":1\r\n"),
        ("geoadd Sicily XX NX 1 2 x", b"-ERR syntax error\r\n"),
        ("geoadd Sicily 1 2", b"-ERR wrong number of arguments for 'geoadd' command\r\n"),
        ("geoadd Sicily 200 100 bad", b"-ERR invalid longitude,latitude pair 200.000000,100.000000\r\n"),
        ("geoadd Sicily abc 1 bad", b"-ERR value is not a valid float\r\n"),
        ("geodist Sicily Palermo Catania", b"$11\r\n166274.1516\r\n"),
        ("geodist Sicily Palermo Catania km", b"$8\r\n166.2742\r\n"),
        ("geodist Sicily Palermo Catania parsec", b"-ERR unsupported unit provided. please use M, KM, FT, MI\r\n"),
        ("geodist Sicily Palermo nope", b"$-1\r\n"),
        ("geodist Sicily Palermo Catania km x", b"-ERR syntax error\r\n"),
        ("geopos Sicily Palermo nope", b"*2\r\n*2\r\n$20\r\n13.36138933897018433\r\n$20\r\n38.11555639549629859\r\n*-1\r\n"),
        ("geohash Sicily Palermo Catania nope", b"*3\r\n$11\r\nsqc8b49rny0\r\n$11\r\nsqdtr74hyu0\r\n$-1\r\n"),
        ("georadius Sicily 15 37 200 km WITHDIST WITHCOORD WITHHASH ASC", b"*3\r\n*4\r\n$7\r\nCatania\r\n$7\r\n56.4413\r\n:3479447370796909\r\n*2\r\n$20\r\n15.08726745843887329\r\n$20\r\n37.50266842333162032\r\n*4\r\n$5\r\nOther\r\n$8\r\n172.8860\r\n:3479097324432493\r\n*2\r\n$20\r\n13.50000053644180298\r\n$19\r\n38.0000009925631943\r\n*4\r\n$7\r\nPalermo\r\n$8\r\n190.4424\r\n:3479099956230698\r\n*2\r\n$20\r\n13.36138933897018433\r\n$20\r\n38.11555639549629859\r\n"),
        ("georadius Sicily 15 37 200 km COUNT 1 DESC", b"*1\r\n$7\r\nPalermo\r\n"),
        ("georadius Sicily 15 37 -1 km", b"-ERR radius cannot be negative\r\n"),
        ("georadius Sicily 15 37 x km", b"-ERR need numeric radius\r\n"),
        ("georadius Sicily 15 37 200 km COUNT 0", b"-ERR COUNT must be > 0\r\n"),
        ("georadius Sicily 15 37 200 km ANY", b"-ERR the ANY argument requires COUNT argument\r\n"),
        ("georadius Sicily 15 37 200 km STORE dst WITHDIST", b"-ERR STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and WITHCOORD options\r\n"),
        ("georadius_ro Sicily 15 37 200 km STORE dst", b"-ERR syntax error\r\n"),
        ("georadiusbymember Sicily Palermo 100 km", b"*2\r\n$5\r\nOther\r\n$7\r\nPalermo\r\n"),
        ("georadiusbymember Sicily nope 100 km", b"-ERR could not decode requested zset member\r\n"),
        ("georadiusbymember nokey nope 100 km", b"*0\r\n"),
        ("geosearch Sicily FROMLONLAT 15 37 BYBOX 400 400 km ASC WITHDIST", b"*3\r\n*2\r\n$7\r\nCatania\r\n$7\r\n56.4413\r\n*2\r\n$5\r\nOther\r\n$8\r\n172.8860\r\n*2\r\n$7\r\nPalermo\r\n$8\r\n190.4424\r\n"),
        ("geosearch Sicily FROMMEMBER Palermo BYRADIUS 100 km", b"*2\r\n$5\r\nOther\r\n$7\r\nPalermo\r\n"),
        ("geosearch Sicily BYRADIUS 100 km", b"-ERR wrong number of arguments for 'geosearch' command\r\n"),
        ("geosearch Sicily FROMLONLAT 15 37", b"-ERR wrong number of arguments for 'geosearch' command\r\n"),
        ("geosearch Sicily FROMLONLAT 15 37 FROMMEMBER Palermo BYRADIUS 1 km", b"-ERR syntax error\r\n"),
        ("geosearch Sicily FROMLONLAT 15 37 BYBOX -1 2 km", b"-ERR height or width cannot be negative\r\n"),
        ("geosearchstore dst Sicily FROMLONLAT 15 37 BYRADIUS 200 km STOREDIST", b":3\r\n"),
        ("zrange dst 0 -1 withscores", b"*6\r\n$7\r\nCatania\r\n$18\r\n56.441257870158204\r\n$5\r\nOther\r\n$18\r\n172.88599581603299\r\n$7\r\nPalermo\r\n$18\r\n190.44242984775784\r\n"),
        ("geosearchstore dst Sicily FROMLONLAT 15 37 BYRADIUS 200 km WITHDIST", b"-ERR GEOSEARCHSTORE is not compatible with WITHDIST, WITHHASH and WITHCOORD options\r\n"),
        ("geosearchstore dst nokey FROMLONLAT 15 37 BYRADIUS 200 km", b":0\r\n"),
        ("exists dst", b":0\r\n"),
        ("set str x", b"+OK\r\n"),
        ("geoadd str 1 1 a", b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        ("geopos str a", b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    ];
    check_replies(&mut c, cases);
}

/// Random points and searches, replies compared with the real redis-server when installed.
#[test]
fn searches_match_real_redis() {
    use rand::{Rng, SeedableRng};
    let srv = Server::start(&[]);
    let Some(real) = common::RealRedis::start(&srv.dir, &[]) else { return };
    let (mut ours, mut theirs) = (srv.raw(), real.raw());
    let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
    let centres: [(f64, f64); 5] = [(13.36, 38.11), (-122.4, 37.7), (0.0, 0.0), (179.9, 84.9), (2.35, 48.85)];
    let mut script = String::new();
    for i in 0..400 {
        let (cx, cy) = centres[i % centres.len()];
        let sp: f64 = [0.01, 1.0, 20.0][i % 3];
        let lon = (cx + rng.gen_range(-sp..sp)).clamp(-180.0, 180.0);
        let lat = (cy + rng.gen_range(-sp..sp)).clamp(-85.0, 85.0);
        script.push_str(&format!("GEOADD g {lon:.6} {lat:.6} m{i}\n"));
    }
    for i in 0..300 {
        let (cx, cy) = centres[i % centres.len()];
        let (lon, lat) = (cx + rng.gen_range(-0.5..0.5), (cy + rng.gen_range(-0.5..0.5f64)).clamp(-85.0, 85.0));
        let r = [1, 50, 200, 1000, 5000][i % 5];
        let opts = ["WITHDIST WITHCOORD ASC", "WITHHASH DESC COUNT 5", "COUNT 3 ANY", "", "WITHDIST"][(i / 5) % 5];
        script.push_str(&format!("GEORADIUS g {lon:.5} {lat:.5} {r} km {opts}\n"));
        script.push_str(&format!("GEOSEARCH g FROMMEMBER m{i} BYBOX {r} {} km {opts}\n", r * 2));
        script.push_str(&format!("GEODIST g m{i} m{} mi\n", i + 1));
    }
    common::same_replies(&mut ours, &mut theirs, &script);
}
