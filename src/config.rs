//! redis.conf parsing and CONFIG.
