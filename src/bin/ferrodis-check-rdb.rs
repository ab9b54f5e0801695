//! `ferrodis-check-rdb <file.rdb>`: verify an RDB file (ours or Redis's) without loading it
//! into a server, like redis-check-rdb. Exit status 0 if the file is valid, 1 if not.

use ferrodis::persist;

fn main() {
    ferrodis::log::set_level("warning");
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 2 {
        eprintln!("Usage: {} <rdb-file-name>", args[0]);
        std::process::exit(1);
    }
    let path = &args[1];
    println!("[offset 0] Checking RDB file {path}");
    let f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => {
            println!("--- RDB ERROR DETECTED ---");
            println!("[offset 0] Cannot open file: {e}");
            std::process::exit(1);
        }
    };
    let size = f.metadata().map(|m| m.len()).unwrap_or(0);
    let mut expires = 0u64;
    let mut sink = |_db: usize, _k: Vec<u8>, _v: ferrodis::keyspace::Value, e: Option<i64>, _: persist::LoadedClock| {
        if e.is_some() {
            expires += 1;
        }
    };
    match persist::load_stream(std::io::BufReader::new(f), &mut sink, ferrodis::server::now_ms()) {
        Ok(st) => {
            println!("[offset {size}] \\o/ RDB looks OK! \\o/");
            println!("[info] {} keys read", st.keys + st.expired);
            println!("[info] {} expires", expires + st.expired);
            println!("[info] {} already expired", st.expired);
        }
        Err(e) => {
            println!("--- RDB ERROR DETECTED ---");
            println!("[offset {}] {}", e.offset, e.msg);
            std::process::exit(1);
        }
    }
}
