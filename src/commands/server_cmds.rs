//! Server commands: INFO, CONFIG, ... and the MONITOR / keyspace-event feeds.

use super::{Ctx, Registration};
use crate::server::Server;

pub const COMMANDS: &[Registration] = &[("info", info, 0), ("config|get", config_get, 0), ("config|set", config_set, 0)];

fn info(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let s = format!(
        "# Server\r\nredis_version:{}\r\nferrodis_version:{}\r\narch_bits:64\r\nredis_mode:standalone\r\n\r\n# Cluster\r\ncluster_enabled:0\r\n",
        crate::server::REDIS_VERSION,
        crate::server::FERRODIS_VERSION
    );
    ctx.out.verbatim(s.as_bytes(), "txt");
}

fn config_get(ctx: &mut Ctx, argv: &[&[u8]]) {
    let pats: Vec<&[u8]> = argv[2..].to_vec();
    let vals = ctx.srv.config.read().get_many(&pats);
    ctx.out.map(vals.len());
    for (k, v) in vals {
        ctx.out.bulk(k.as_bytes());
        ctx.out.bulk(&v);
    }
}

fn config_set(ctx: &mut Ctx, argv: &[&[u8]]) {
    if argv.len() % 2 != 0 {
        return ctx.out.error("ERR syntax error");
    }
    let pairs: Vec<(&[u8], &[u8])> = argv[2..].chunks(2).map(|c| (c[0], c[1])).collect();
    let r = ctx.srv.config.write().set(&pairs);
    match r {
        Ok(_) => {
            ctx.srv.refresh_hot();
            ctx.out.ok()
        }
        Err(e) => ctx.out.error(&e),
    }
}


/// Sample counters for INFO's instantaneous_* fields (called by the cron).
pub fn sample_ops(_srv: &Server) {}
