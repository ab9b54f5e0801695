//! Persistence entry points (RDB / AOF). The formats land with the persistence work;
//! until then a save request reports that it cannot be done.

use crate::server::Server;

pub fn save_on_shutdown(_srv: &Server) -> Result<(), String> {
    Err("RDB persistence is not available yet".into())
}
