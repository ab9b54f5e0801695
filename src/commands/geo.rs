//! Geo commands on top of sorted sets: a point is a zset member whose score is Redis's
//! 52-bit geohash (longitude and latitude each quantised to 26 bits over
//! [-180,180] x [-85.05112878,85.05112878] and interleaved, latitude in the even bits).
//! Searches compute Redis's 3x3 grid of geohash boxes around the centre at a step
//! estimated from the radius, scan each box's score range in the zset, and keep the
//! points within the circle/box by the haversine distance on Redis's Earth radius, so
//! results, their order and every printed digit match Redis (distances `%.4f`,
//! coordinates `%.17Lf` trimmed).

use super::{notify, Ctx, Ks, Registration, NOT_FLOAT, SYNTAX_ERR, WRONGTYPE};
use crate::keyspace::Value;
use crate::protocol::ReplyBuf;
use crate::types::ZSetValue;
use crate::util::numfmt::{fmt_double_with, parse_f64};

pub const COMMANDS: &[Registration] = &[
    ("geoadd", geoadd, 0),
    ("geopos", geopos, 0),
    ("geodist", geodist, 0),
    ("geohash", geohash, 0),
    ("georadius", georadius, 0),
    ("georadius_ro", georadius_ro, 0),
    ("georadiusbymember", georadiusbymember, 0),
    ("georadiusbymember_ro", georadiusbymember_ro, 0),
    ("geosearch", geosearch, 0),
    ("geosearchstore", geosearchstore, 0),
];

const LAT_MIN: f64 = -85.05112878;
const LAT_MAX: f64 = 85.05112878;
const LONG_MIN: f64 = -180.0;
const LONG_MAX: f64 = 180.0;
const STEP_MAX: u8 = 26;
const D_R: f64 = std::f64::consts::PI / 180.0;
const EARTH_RADIUS_IN_METERS: f64 = 6372797.560856;
const MERCATOR_MAX: f64 = 20037726.37;

// ---- geohash ----------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Debug, Default)]
struct Hash {
    bits: u64,
    step: u8,
}

impl Hash {
    fn is_zero(&self) -> bool {
        self.bits == 0 && self.step == 0
    }
}

#[derive(Clone, Copy, Default)]
struct Area {
    lon: (f64, f64),
    lat: (f64, f64),
}

/// Spread the bits of x and y: x in the even positions, y in the odd ones.
fn interleave64(xlo: u32, ylo: u32) -> u64 {
    fn spread(v: u32) -> u64 {
        let mut v = v as u64;
        v = (v | (v << 16)) & 0x0000_FFFF_0000_FFFF;
        v = (v | (v << 8)) & 0x00FF_00FF_00FF_00FF;
        v = (v | (v << 4)) & 0x0F0F_0F0F_0F0F_0F0F;
        v = (v | (v << 2)) & 0x3333_3333_3333_3333;
        (v | (v << 1)) & 0x5555_5555_5555_5555
    }
    spread(xlo) | (spread(ylo) << 1)
}

/// Inverse of `interleave64`: x in the low 32 bits, y in the high 32.
fn deinterleave64(v: u64) -> u64 {
    fn squash(mut v: u64) -> u64 {
        v &= 0x5555_5555_5555_5555;
        v = (v | (v >> 1)) & 0x3333_3333_3333_3333;
        v = (v | (v >> 2)) & 0x0F0F_0F0F_0F0F_0F0F;
        v = (v | (v >> 4)) & 0x00FF_00FF_00FF_00FF;
        v = (v | (v >> 8)) & 0x0000_FFFF_0000_FFFF;
        (v | (v >> 16)) & 0x0000_0000_FFFF_FFFF
    }
    squash(v) | (squash(v >> 1) << 32)
}

fn encode(lon_r: (f64, f64), lat_r: (f64, f64), lon: f64, lat: f64, step: u8) -> Option<Hash> {
    if step == 0 || step > 32 || !(LONG_MIN..=LONG_MAX).contains(&lon) || !(LAT_MIN..=LAT_MAX).contains(&lat) {
        return None;
    }
    if lat < lat_r.0 || lat > lat_r.1 || lon < lon_r.0 || lon > lon_r.1 {
        return None;
    }
    let lat_off = (lat - lat_r.0) / (lat_r.1 - lat_r.0) * (1u64 << step) as f64;
    let lon_off = (lon - lon_r.0) / (lon_r.1 - lon_r.0) * (1u64 << step) as f64;
    Some(Hash { bits: interleave64(lat_off as u32, lon_off as u32), step })
}

fn encode_wgs84(lon: f64, lat: f64, step: u8) -> Option<Hash> {
    encode((LONG_MIN, LONG_MAX), (LAT_MIN, LAT_MAX), lon, lat, step)
}

fn decode(h: Hash) -> Option<Area> {
    if h.is_zero() {
        return None;
    }
    let sep = deinterleave64(h.bits);
    let (ilat, ilon) = (sep as u32 as f64, (sep >> 32) as u32 as f64);
    let div = (1u64 << h.step) as f64;
    let (lat_scale, lon_scale) = (LAT_MAX - LAT_MIN, LONG_MAX - LONG_MIN);
    Some(Area {
        lat: (LAT_MIN + (ilat * 1.0 / div) * lat_scale, LAT_MIN + ((ilat + 1.0) * 1.0 / div) * lat_scale),
        lon: (LONG_MIN + (ilon * 1.0 / div) * lon_scale, LONG_MIN + ((ilon + 1.0) * 1.0 / div) * lon_scale),
    })
}

/// Centre of a hash's area, clamped to the valid range.
fn decode_lonlat(h: Hash) -> Option<(f64, f64)> {
    let a = decode(h)?;
    let lon = ((a.lon.0 + a.lon.1) / 2.0).clamp(LONG_MIN, LONG_MAX);
    let lat = ((a.lat.0 + a.lat.1) / 2.0).clamp(LAT_MIN, LAT_MAX);
    Some((lon, lat))
}

/// A zset score as a point.
fn score_lonlat(score: f64) -> Option<(f64, f64)> {
    decode_lonlat(Hash { bits: score as u64, step: STEP_MAX })
}

fn align52(h: Hash) -> u64 {
    h.bits << (52 - h.step as u32 * 2)
}

fn move_x(h: &mut Hash, d: i8) {
    let mut x = h.bits & 0xaaaa_aaaa_aaaa_aaaa;
    let y = h.bits & 0x5555_5555_5555_5555;
    let zz = 0x5555_5555_5555_5555u64 >> (64 - h.step as u32 * 2);
    if d > 0 {
        x = x.wrapping_add(zz + 1);
    } else {
        x |= zz;
        x = x.wrapping_sub(zz + 1);
    }
    x &= 0xaaaa_aaaa_aaaa_aaaau64 >> (64 - h.step as u32 * 2);
    h.bits = x | y;
}

fn move_y(h: &mut Hash, d: i8) {
    let x = h.bits & 0xaaaa_aaaa_aaaa_aaaa;
    let mut y = h.bits & 0x5555_5555_5555_5555;
    let zz = 0xaaaa_aaaa_aaaa_aaaau64 >> (64 - h.step as u32 * 2);
    if d > 0 {
        y = y.wrapping_add(zz + 1);
    } else {
        y |= zz;
        y = y.wrapping_sub(zz + 1);
    }
    y &= 0x5555_5555_5555_5555u64 >> (64 - h.step as u32 * 2);
    h.bits = x | y;
}

/// The 8 neighbours in Redis's search order: N, S, E, W, NE, NW, SE, SW.
fn neighbors(h: Hash) -> [Hash; 8] {
    let m = |dx: i8, dy: i8| {
        let mut n = h;
        if dx != 0 {
            move_x(&mut n, dx);
        }
        if dy != 0 {
            move_y(&mut n, dy);
        }
        n
    };
    [m(0, 1), m(0, -1), m(1, 0), m(-1, 0), m(1, 1), m(-1, 1), m(1, -1), m(-1, -1)]
}

// ---- distances --------------------------------------------------------------------------

fn deg_rad(a: f64) -> f64 {
    a * D_R
}

fn rad_deg(a: f64) -> f64 {
    a / D_R
}

fn lat_distance(lat1: f64, lat2: f64) -> f64 {
    EARTH_RADIUS_IN_METERS * (deg_rad(lat2) - deg_rad(lat1)).abs()
}

/// Haversine distance in meters.
fn distance(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let (lon1r, lon2r) = (deg_rad(lon1), deg_rad(lon2));
    let v = ((lon2r - lon1r) / 2.0).sin();
    if v == 0.0 {
        return lat_distance(lat1, lat2);
    }
    let (lat1r, lat2r) = (deg_rad(lat1), deg_rad(lat2));
    let u = ((lat2r - lat1r) / 2.0).sin();
    let a = u * u + lat1r.cos() * lat2r.cos() * v * v;
    2.0 * EARTH_RADIUS_IN_METERS * a.sqrt().asin()
}

// ---- search shapes ----------------------------------------------------------------------

#[derive(Clone, Copy)]
enum Kind {
    Circle(f64),
    Rect(f64, f64),
}

#[derive(Clone, Copy)]
struct Shape {
    kind: Kind,
    /// Unit to meters.
    conversion: f64,
    /// Centre (longitude, latitude).
    xy: (f64, f64),
}

impl Shape {
    /// Distance from the centre if the point is inside.
    fn contains(&self, lon: f64, lat: f64) -> Option<f64> {
        let (x1, y1) = self.xy;
        match self.kind {
            Kind::Circle(r) => {
                let d = distance(x1, y1, lon, lat);
                (d <= r * self.conversion).then_some(d)
            }
            Kind::Rect(w, h) => {
                let (w, h) = (w * self.conversion, h * self.conversion);
                if lat_distance(lat, y1) > h / 2.0 || distance(lon, lat, x1, lat) > w / 2.0 {
                    return None;
                }
                Some(distance(x1, y1, lon, lat))
            }
        }
    }

    /// [min_lon, min_lat, max_lon, max_lat] around the centre.
    fn bounds(&self) -> [f64; 4] {
        let (lon, lat) = self.xy;
        let (hh, hw) = match self.kind {
            Kind::Circle(r) => (r, r),
            Kind::Rect(w, h) => (h / 2.0, w / 2.0),
        };
        let (height, width) = (self.conversion * hh, self.conversion * hw);
        let lat_delta = rad_deg(height / EARTH_RADIUS_IN_METERS);
        let top = rad_deg(width / EARTH_RADIUS_IN_METERS / deg_rad(lat + lat_delta).cos());
        let bottom = rad_deg(width / EARTH_RADIUS_IN_METERS / deg_rad(lat - lat_delta).cos());
        let d = if lat < 0.0 { bottom } else { top };
        [lon - d, lat - lat_delta, lon + d, lat + lat_delta]
    }

    /// The centre box and its 8 neighbours to scan (zeroed when useless).
    fn areas(&self) -> (Hash, [Hash; 8]) {
        let [min_lon, min_lat, max_lon, max_lat] = self.bounds();
        let (lon, lat) = self.xy;
        let radius = match self.kind {
            Kind::Circle(r) => r,
            Kind::Rect(w, h) => ((w / 2.0) * (w / 2.0) + (h / 2.0) * (h / 2.0)).sqrt(),
        } * self.conversion;
        let mut steps = estimate_steps(radius, lat);
        let mut hash = encode_wgs84(lon, lat, steps).unwrap_or_default();
        let mut nb = neighbors(hash);
        let mut area = decode(hash).unwrap_or_default();
        let (n, s, e, w) = (decode(nb[0]), decode(nb[1]), decode(nb[2]), decode(nb[3]));
        let short = n.is_some_and(|a| a.lat.1 < max_lat)
            || s.is_some_and(|a| a.lat.0 > min_lat)
            || e.is_some_and(|a| a.lon.1 < max_lon)
            || w.is_some_and(|a| a.lon.0 > min_lon);
        if steps > 1 && short {
            steps -= 1;
            hash = encode_wgs84(lon, lat, steps).unwrap_or_default();
            nb = neighbors(hash);
            area = decode(hash).unwrap_or_default();
        }
        if steps >= 2 {
            let zero = |nb: &mut [Hash; 8], idx: [usize; 3]| idx.iter().for_each(|&i| nb[i] = Hash::default());
            // indexes: 0 N, 1 S, 2 E, 3 W, 4 NE, 5 NW, 6 SE, 7 SW
            if area.lat.0 < min_lat {
                zero(&mut nb, [1, 7, 6]);
            }
            if area.lat.1 > max_lat {
                zero(&mut nb, [0, 4, 5]);
            }
            if area.lon.0 < min_lon {
                zero(&mut nb, [3, 7, 5]);
            }
            if area.lon.1 > max_lon {
                zero(&mut nb, [2, 6, 4]);
            }
        }
        (hash, nb)
    }
}

fn estimate_steps(mut range: f64, lat: f64) -> u8 {
    if range == 0.0 {
        return 26;
    }
    let mut step: i32 = 1;
    while range < MERCATOR_MAX {
        range *= 2.0;
        step += 1;
    }
    step -= 2;
    if !(-66.0..=66.0).contains(&lat) {
        step -= 1;
        if !(-80.0..=80.0).contains(&lat) {
            step -= 1;
        }
    }
    step.clamp(1, 26) as u8
}

/// A point found by a search.
struct Point {
    member: Vec<u8>,
    lon: f64,
    lat: f64,
    dist: f64,
    score: f64,
}

/// Collect the zset's points inside the shape, box by box (stop at `limit` if non-zero).
fn search(z: &ZSetValue, shape: &Shape, limit: usize) -> Vec<Point> {
    let (hash, nb) = shape.areas();
    let boxes: Vec<Hash> = std::iter::once(hash).chain(nb).collect();
    let view = z.view();
    let mut out: Vec<Point> = Vec::new();
    let mut last: Option<usize> = None;
    for (i, b) in boxes.iter().enumerate() {
        if b.is_zero() {
            continue;
        }
        if last.is_some_and(|l| boxes[l] == *b) {
            continue;
        }
        if limit > 0 && out.len() >= limit {
            break;
        }
        let min = align52(*b) as f64;
        let max = align52(Hash { bits: b.bits + 1, step: b.step }) as f64;
        let mut r = view.partition_point(|_, s| s < min);
        while r < view.len() {
            let (m, score) = view.at(r);
            if score >= max {
                break;
            }
            if let Some((lon, lat)) = score_lonlat(score) {
                if let Some(dist) = shape.contains(lon, lat) {
                    out.push(Point { member: m.to_vec(), lon, lat, dist, score });
                }
            }
            if limit > 0 && out.len() >= limit {
                break;
            }
            r += 1;
        }
        last = Some(i);
    }
    out
}

// ---- replies ----------------------------------------------------------------------------

/// Distances: Redis's fixedpoint_d2string(d, 4).
fn fmt_distance(d: f64) -> String {
    if d == 0.0 {
        return "0.0000".into();
    }
    let v = (d * 10000.0).round_ties_even() as i64;
    let sign = if v < 0 { "-" } else { "" };
    let a = v.unsigned_abs();
    format!("{sign}{}.{:04}", a / 10000, a % 10000)
}

/// Coordinates: "%.17Lf" with the trailing zeros trimmed (addReplyHumanLongDouble).
fn reply_coord(out: &mut ReplyBuf, v: f64) {
    let mut s = fmt_double_with(b"%.17f\0", v);
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
    if s == "-0" {
        s = "0".into();
    }
    if out.resp >= 3 {
        out.raw(format!(",{s}\r\n").as_bytes());
    } else {
        out.bulk(s.as_bytes());
    }
}

fn parse_lonlat(out: &mut ReplyBuf, lon: &[u8], lat: &[u8]) -> Option<(f64, f64)> {
    let Some(x) = parse_f64(lon) else {
        out.error(NOT_FLOAT);
        return None;
    };
    let Some(y) = parse_f64(lat) else {
        out.error(NOT_FLOAT);
        return None;
    };
    if !(LONG_MIN..=LONG_MAX).contains(&x) || !(LAT_MIN..=LAT_MAX).contains(&y) {
        let f = |v: f64| fmt_double_with(b"%f\0", v);
        out.error(&format!("ERR invalid longitude,latitude pair {},{}", f(x), f(y)));
        return None;
    }
    Some((x, y))
}

/// Unit to meters factor.
fn parse_unit(out: &mut ReplyBuf, u: &[u8]) -> Option<f64> {
    let f = match u.to_ascii_lowercase().as_slice() {
        b"m" => 1.0,
        b"km" => 1000.0,
        b"ft" => 0.3048,
        b"mi" => 1609.34,
        _ => {
            out.error("ERR unsupported unit provided. please use M, KM, FT, MI");
            return None;
        }
    };
    Some(f)
}

fn parse_float_or(out: &mut ReplyBuf, a: &[u8], msg: &str) -> Option<f64> {
    let v = parse_f64(a);
    if v.is_none() {
        out.error(msg);
    }
    v
}

/// `radius unit` -> (radius, conversion).
fn parse_distance(out: &mut ReplyBuf, r: &[u8], u: &[u8]) -> Option<(f64, f64)> {
    let d = parse_float_or(out, r, "ERR need numeric radius")?;
    if d < 0.0 {
        out.error("ERR radius cannot be negative");
        return None;
    }
    Some((d, parse_unit(out, u)?))
}

/// The zset at `key` (None if absent); Err after replying WRONGTYPE.
fn zset_at<'a>(ks: &'a Ks, out: &mut ReplyBuf, key: &[u8]) -> Result<Option<&'a ZSetValue>, ()> {
    match ks.get(key) {
        None => Ok(None),
        Some(Value::ZSet(z)) => Ok(Some(z)),
        Some(_) => {
            out.error(WRONGTYPE);
            Err(())
        }
    }
}

// ---- commands ---------------------------------------------------------------------------

/// GEOADD key [NX|XX] [CH] lon lat member ... : ZADD with the geohash scores.
fn geoadd(ctx: &mut Ctx, argv: &[&[u8]]) {
    let mut longidx = 2;
    let (mut nx, mut xx) = (false, false);
    while longidx < argv.len() {
        let o = argv[longidx];
        if o.eq_ignore_ascii_case(b"nx") {
            nx = true;
        } else if o.eq_ignore_ascii_case(b"xx") {
            xx = true;
        } else if !o.eq_ignore_ascii_case(b"ch") {
            break;
        }
        longidx += 1;
    }
    if (argv.len() - longidx) % 3 != 0 || (xx && nx) {
        return ctx.out.error(SYNTAX_ERR);
    }
    let mut zargs: Vec<Vec<u8>> = vec![b"zadd".to_vec()];
    zargs.extend(argv[1..longidx].iter().map(|a| a.to_vec()));
    for t in argv[longidx..].chunks(3) {
        let Some((lon, lat)) = parse_lonlat(ctx.out, t[0], t[1]) else { return };
        let h = encode_wgs84(lon, lat, STEP_MAX).unwrap_or_default();
        zargs.push(align52(h).to_string().into_bytes());
        zargs.push(t[2].to_vec());
    }
    let Some(zadd) = ctx.srv.table.lookup(b"zadd") else {
        return ctx.out.error("ERR unknown command 'zadd'");
    };
    let handler = zadd.handler;
    let zv: Vec<&[u8]> = zargs.iter().map(|a| a.as_slice()).collect();
    let before = ctx.ks.dirty;
    handler(ctx, &zv);
    if ctx.ks.dirty > before && ctx.ks.propagate.is_none() {
        ctx.ks.propagate_as(vec![zargs]);
    }
}

fn geopos(ctx: &mut Ctx, argv: &[&[u8]]) {
    let out = &mut *ctx.out;
    if let Ok(z) = zset_at(&ctx.ks, out, argv[1]) {
        out.array(argv.len() - 2);
        for m in &argv[2..] {
            match z.and_then(|z| z.score(m)).and_then(score_lonlat) {
                Some((lon, lat)) => {
                    out.array(2);
                    reply_coord(out, lon);
                    reply_coord(out, lat);
                }
                None => out.null_array(),
            }
        }
    }
}

fn geodist(ctx: &mut Ctx, argv: &[&[u8]]) {
    let mut to_meter = 1.0;
    if argv.len() == 5 {
        let Some(f) = parse_unit(ctx.out, argv[4]) else { return };
        to_meter = f;
    } else if argv.len() > 5 {
        return ctx.out.error(SYNTAX_ERR);
    }
    let out = &mut *ctx.out;
    match zset_at(&ctx.ks, out, argv[1]) {
        Err(()) => {}
        Ok(None) => out.null(),
        Ok(Some(z)) => {
            let p1 = z.score(argv[2]).and_then(score_lonlat);
            let p2 = z.score(argv[3]).and_then(score_lonlat);
            match (p1, p2) {
                (Some(a), Some(b)) => out.bulk(fmt_distance(distance(a.0, a.1, b.0, b.1) / to_meter).as_bytes()),
                _ => out.null(),
            }
        }
    }
}

fn geohash(ctx: &mut Ctx, argv: &[&[u8]]) {
    const ALPHABET: &[u8] = b"0123456789bcdefghjkmnpqrstuvwxyz";
    let out = &mut *ctx.out;
    if let Ok(z) = zset_at(&ctx.ks, out, argv[1]) {
        out.array(argv.len() - 2);
        for m in &argv[2..] {
            let Some((lon, lat)) = z.and_then(|z| z.score(m)).and_then(score_lonlat) else {
                out.null();
                continue;
            };
            // standard geohash ranges (latitude -90..90) for the printable form
            let h = encode((-180.0, 180.0), (-90.0, 90.0), lon, lat, 26).unwrap_or_default();
            let s: Vec<u8> = (0..11)
                .map(|i| if i == 10 { ALPHABET[0] } else { ALPHABET[((h.bits >> (52 - (i + 1) * 5)) & 0x1f) as usize] })
                .collect();
            out.bulk(&s);
        }
    }
}

const RADIUS_COORDS: u8 = 1;
const RADIUS_MEMBER: u8 = 2;
const RADIUS_NOSTORE: u8 = 4;
const GEOSEARCH: u8 = 8;
const GEOSEARCHSTORE: u8 = 16;

fn georadius(ctx: &mut Ctx, argv: &[&[u8]]) {
    radius_generic(ctx, argv, 1, RADIUS_COORDS)
}
fn georadius_ro(ctx: &mut Ctx, argv: &[&[u8]]) {
    radius_generic(ctx, argv, 1, RADIUS_COORDS | RADIUS_NOSTORE)
}
fn georadiusbymember(ctx: &mut Ctx, argv: &[&[u8]]) {
    radius_generic(ctx, argv, 1, RADIUS_MEMBER)
}
fn georadiusbymember_ro(ctx: &mut Ctx, argv: &[&[u8]]) {
    radius_generic(ctx, argv, 1, RADIUS_MEMBER | RADIUS_NOSTORE)
}
fn geosearch(ctx: &mut Ctx, argv: &[&[u8]]) {
    radius_generic(ctx, argv, 1, GEOSEARCH)
}
fn geosearchstore(ctx: &mut Ctx, argv: &[&[u8]]) {
    radius_generic(ctx, argv, 2, GEOSEARCH | GEOSEARCHSTORE)
}

#[derive(Default)]
struct Opts {
    withdist: bool,
    withhash: bool,
    withcoord: bool,
    any: bool,
    /// 0 none, 1 asc, 2 desc
    sort: u8,
    count: i64,
    storedist: bool,
}

/// The common core of GEORADIUS*, GEOSEARCH and GEOSEARCHSTORE (georadiusGeneric).
fn radius_generic(ctx: &mut Ctx, argv: &[&[u8]], src: usize, flags: u8) {
    let (points, opts, storekey, conversion) = match radius_search(&ctx.ks, ctx.out, argv, src, flags) {
        Ok(found) => found,
        Err(None) => return,
        // no source key: an empty reply, or STORE deletes its destination and counts 0
        Err(Some(dst)) => {
            delete_store_key(ctx, &dst);
            return ctx.out.int(0);
        }
    };
    let n = points.len();
    match storekey {
        None => {
            let extra = opts.withdist as usize + opts.withhash as usize + opts.withcoord as usize;
            ctx.out.array(n);
            for p in points {
                if extra > 0 {
                    ctx.out.array(extra + 1);
                }
                ctx.out.bulk(&p.member);
                if opts.withdist {
                    ctx.out.bulk(fmt_distance(p.dist / conversion).as_bytes());
                }
                if opts.withhash {
                    ctx.out.int(p.score as i64);
                }
                if opts.withcoord {
                    ctx.out.array(2);
                    reply_coord(ctx.out, p.lon);
                    reply_coord(ctx.out, p.lat);
                }
            }
        }
        Some(dst) => {
            if n > 0 {
                let items: Vec<(Vec<u8>, f64)> = points
                    .into_iter()
                    .map(|p| {
                        let s = if opts.storedist { p.dist / conversion } else { p.score };
                        (p.member, s)
                    })
                    .collect();
                let z = ZSetValue::build(items, crate::types::limits().zset, true);
                ctx.ks.set_key(&dst, Value::ZSet(Box::new(z)), false);
                let ev = if flags & GEOSEARCH != 0 { "geosearchstore" } else { "georadiusstore" };
                ctx.ks.notify(notify::ZSET, ev, &dst);
                ctx.ks.dirty(n as u64);
            } else {
                delete_store_key(ctx, &dst);
            }
            ctx.out.int(n as i64);
        }
    }
}

fn delete_store_key(ctx: &mut Ctx, key: &[u8]) {
    if ctx.ks.delete(key) {
        ctx.ks.notify(notify::GENERIC, "del", key);
        ctx.ks.dirty(1);
    }
}

type Found = (Vec<Point>, Opts, Option<Vec<u8>>, f64);

/// Parse, search and sort: the points to reply with or store. Err(None) when a reply was
/// written to `out`; Err(Some(dst)) when the source is missing and STORE must clear `dst`.
fn radius_search(ks: &Ks, out: &mut ReplyBuf, argv: &[&[u8]], src: usize, flags: u8) -> Result<Found, Option<Vec<u8>>> {
    let z = match ks.get(argv[src]) {
        None => None,
        Some(Value::ZSet(z)) => Some(z),
        Some(_) => {
            out.error(WRONGTYPE);
            return Err(None);
        }
    };
    let member_xy = |m: &[u8], out: &mut ReplyBuf| -> Option<(f64, f64)> {
        let r = z.and_then(|z| z.score(m)).and_then(score_lonlat);
        if r.is_none() {
            out.error("ERR could not decode requested zset member");
        }
        r
    };
    let mut shape = Shape { kind: Kind::Circle(0.0), conversion: 1.0, xy: (0.0, 0.0) };
    let mut storekey: Option<Vec<u8>> = None;
    let base;
    if flags & RADIUS_COORDS != 0 {
        base = 6;
        shape.xy = parse_lonlat(out, argv[2], argv[3]).ok_or(None)?;
        let (r, c) = parse_distance(out, argv[4], argv[5]).ok_or(None)?;
        shape.kind = Kind::Circle(r);
        shape.conversion = c;
    } else if flags & RADIUS_MEMBER != 0 {
        base = 5;
        if z.is_some() {
            shape.xy = member_xy(argv[2], out).ok_or(None)?;
            let (r, c) = parse_distance(out, argv[3], argv[4]).ok_or(None)?;
            shape.kind = Kind::Circle(r);
            shape.conversion = c;
        }
    } else {
        base = if flags & GEOSEARCHSTORE != 0 { 3 } else { 2 };
        if flags & GEOSEARCHSTORE != 0 {
            storekey = Some(argv[1].to_vec());
        }
    }
    let mut o = Opts::default();
    let (mut frommember, mut fromloc, mut byradius, mut bybox) = (false, false, false, false);
    let rest = &argv[base.min(argv.len())..];
    let remaining = rest.len();
    let mut i = 0;
    while i < remaining {
        let arg = rest[i].to_ascii_lowercase();
        let geosearch = flags & GEOSEARCH != 0;
        let store_ok = flags & RADIUS_NOSTORE == 0 && !geosearch;
        match arg.as_slice() {
            b"withdist" => o.withdist = true,
            b"withhash" => o.withhash = true,
            b"withcoord" => o.withcoord = true,
            b"any" => o.any = true,
            b"asc" => o.sort = 1,
            b"desc" => o.sort = 2,
            b"count" if i + 1 < remaining => {
                let Some(c) = crate::util::numfmt::parse_i64(rest[i + 1]) else {
                    out.error(super::NOT_INT);
                    return Err(None);
                };
                if c <= 0 {
                    out.error("ERR COUNT must be > 0");
                    return Err(None);
                }
                o.count = c;
                i += 1;
            }
            b"store" if i + 1 < remaining && store_ok => {
                storekey = Some(rest[i + 1].to_vec());
                o.storedist = false;
                i += 1;
            }
            b"storedist" if i + 1 < remaining && store_ok => {
                storekey = Some(rest[i + 1].to_vec());
                o.storedist = true;
                i += 1;
            }
            b"storedist" if geosearch && flags & GEOSEARCHSTORE != 0 => o.storedist = true,
            b"frommember" if i + 1 < remaining && geosearch && !fromloc => {
                if z.is_some() {
                    shape.xy = member_xy(rest[i + 1], out).ok_or(None)?;
                }
                frommember = true;
                i += 1;
            }
            b"fromlonlat" if i + 2 < remaining && geosearch && !frommember => {
                shape.xy = parse_lonlat(out, rest[i + 1], rest[i + 2]).ok_or(None)?;
                fromloc = true;
                i += 2;
            }
            b"byradius" if i + 2 < remaining && geosearch && !bybox => {
                let (r, c) = parse_distance(out, rest[i + 1], rest[i + 2]).ok_or(None)?;
                shape.kind = Kind::Circle(r);
                shape.conversion = c;
                byradius = true;
                i += 2;
            }
            b"bybox" if i + 3 < remaining && geosearch && !byradius => {
                let w = parse_float_or(out, rest[i + 1], "ERR need numeric width").ok_or(None)?;
                let h = parse_float_or(out, rest[i + 2], "ERR need numeric height").ok_or(None)?;
                if h < 0.0 || w < 0.0 {
                    out.error("ERR height or width cannot be negative");
                    return Err(None);
                }
                shape.conversion = parse_unit(out, rest[i + 3]).ok_or(None)?;
                shape.kind = Kind::Rect(w, h);
                bybox = true;
                i += 3;
            }
            _ => {
                out.error(SYNTAX_ERR);
                return Err(None);
            }
        }
        i += 1;
    }
    if storekey.is_some() && (o.withdist || o.withhash || o.withcoord) {
        let what = if flags & GEOSEARCHSTORE != 0 { "GEOSEARCHSTORE" } else { "STORE option in GEORADIUS" };
        out.error(&format!("ERR {what} is not compatible with WITHDIST, WITHHASH and WITHCOORD options"));
        return Err(None);
    }
    let name = String::from_utf8_lossy(argv[0]);
    if flags & GEOSEARCH != 0 && !(frommember || fromloc) {
        out.error(&format!("ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for {name}"));
        return Err(None);
    }
    if flags & GEOSEARCH != 0 && !(byradius || bybox) {
        out.error(&format!("ERR exactly one of BYRADIUS and BYBOX can be specified for {name}"));
        return Err(None);
    }
    if o.any && o.count == 0 {
        out.error("ERR the ANY argument requires COUNT argument");
        return Err(None);
    }
    let Some(z) = z else {
        if storekey.is_none() {
            out.raw(b"*0\r\n");
        }
        return Err(storekey);
    };
    if o.count != 0 && o.sort == 0 && !o.any {
        o.sort = 1;
    }
    let mut points = search(z, &shape, if o.any { o.count as usize } else { 0 });
    if points.is_empty() && storekey.is_none() {
        out.raw(b"*0\r\n");
        return Err(None);
    }
    match o.sort {
        1 => points.sort_by(|a, b| a.dist.partial_cmp(&b.dist).unwrap_or(std::cmp::Ordering::Equal)),
        2 => points.sort_by(|a, b| b.dist.partial_cmp(&a.dist).unwrap_or(std::cmp::Ordering::Equal)),
        _ => {}
    }
    if o.count > 0 {
        points.truncate(o.count as usize);
    }
    Ok((points, o, storekey, shape.conversion))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleave_roundtrip() {
        for (x, y) in [(0u32, 0u32), (1, 0), (0, 1), (0x3ff_ffff, 0x123_4567), (u32::MAX, 7)] {
            let v = interleave64(x, y);
            let d = deinterleave64(v);
            assert_eq!((d as u32, (d >> 32) as u32), (x, y));
        }
    }

    #[test]
    fn scores_match_redis() {
        // GEOADD Sicily 13.361389 38.115556 "Palermo" 15.087269 37.502669 "Catania" (ZSCORE on Redis)
        assert_eq!(align52(encode_wgs84(13.361389, 38.115556, 26).unwrap()), 3479099956230698);
        assert_eq!(align52(encode_wgs84(15.087269, 37.502669, 26).unwrap()), 3479447370796909);
        let (p, c) = (score_lonlat(3479099956230698.0).unwrap(), score_lonlat(3479447370796909.0).unwrap());
        assert_eq!(fmt_distance(distance(p.0, p.1, c.0, c.1)), "166274.1516");
    }

    #[test]
    fn distance_format() {
        assert_eq!(fmt_distance(0.0), "0.0000");
        assert_eq!(fmt_distance(0.00005), "0.0000");
        assert_eq!(fmt_distance(1.23456), "1.2346");
        assert_eq!(fmt_distance(123.0), "123.0000");
    }
}
