//! In-process harness for unit tests of command handlers: a `Server` with no worker
//! threads and no cron (so nothing expires actively: keys past their TTL stay until
//! something touches them), and a client that runs commands through the real dispatcher
//! and returns the raw reply bytes.

use crate::config::Config;
use crate::dispatch::{execute, CmdStat};
use crate::net::client::{ClientHandle, ClientInfo};
use crate::protocol::ReplyBuf;
use crate::server::Server;
use std::sync::Arc;

pub struct TestServer {
    pub srv: Arc<Server>,
    stats: Vec<CmdStat>,
}

pub struct TestClient {
    pub info: ClientInfo,
}

impl TestServer {
    /// A server with `nshards` keyspace shards and the default configuration.
    pub fn new(nshards: usize) -> TestServer {
        let srv = Server::new(Config::default(), nshards).into_arc();
        let stats = (0..srv.table.len()).map(|_| CmdStat::default()).collect();
        TestServer { srv, stats }
    }

    pub fn client(&self) -> TestClient {
        let h = ClientHandle::new(1, "127.0.0.1:1".into(), "127.0.0.1:2".into(), -1, 0, 0, 0);
        TestClient {
            info: ClientInfo::new(Arc::new(h), true, true),
        }
    }

    /// Run one command, return its reply bytes.
    pub fn run(&self, c: &mut TestClient, argv: &[&[u8]]) -> Vec<u8> {
        let mut out = ReplyBuf::new(c.info.resp);
        execute(&self.srv, &self.stats, &mut c.info, &mut out, argv);
        out.buf
    }

    /// Run a command written as space-separated words; the reply as text.
    pub fn cmd(&self, c: &mut TestClient, line: &str) -> String {
        let argv: Vec<&[u8]> = line.split(' ').map(|w| w.as_bytes()).collect();
        String::from_utf8_lossy(&self.run(c, &argv)).into_owned()
    }
}
