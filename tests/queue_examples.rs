//! The queue guide's examples (docs/queues.md, examples/queues/*.py) run through
//! redis-py against a fresh ferrodis each, and against the real redis-server (which keeps
//! the guide honest Redis usage). On ferrodis only the examples listed in
//! examples/queues/passing-ferrodis.txt must pass; the runner reports the others.
//! Python with redis-py 5.2.1 comes from examples/queues/venv.sh (a venv under the cargo
//! target directory, created on first use; needs python3 and network to PyPI then).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// The examples measure timing (prefetch, min-idle-time): one run at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/queues")
}

fn python() -> String {
    // <target>/<profile>/ferrodis-server -> <target>/queue-venv
    let bin = Path::new(env!("CARGO_BIN_EXE_ferrodis-server"));
    let venv = bin.parent().and_then(Path::parent).unwrap().join("queue-venv");
    let out = Command::new(examples_dir().join("venv.sh")).arg(&venv).output().expect("run examples/queues/venv.sh");
    assert!(out.status.success(), "venv.sh failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn run_examples(server_bin: &str, gate: Option<&Path>) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut cmd = Command::new(python());
    cmd.arg(examples_dir().join("run.py")).args(["--server-bin", server_bin]);
    if let Some(g) = gate {
        cmd.arg("--gate").arg(g);
    }
    let out = cmd.output().expect("run examples/queues/run.py");
    let text = String::from_utf8_lossy(&out.stdout);
    println!("{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "queue examples failed against {server_bin}:\n{text}");
}

#[test]
fn queue_examples_on_ferrodis() {
    run_examples(env!("CARGO_BIN_EXE_ferrodis-server"), Some(&examples_dir().join("passing-ferrodis.txt")));
}

#[test]
fn queue_examples_on_real_redis() {
    let real = std::env::var("REDIS_SERVER").unwrap_or_else(|_| "/usr/bin/redis-server".into());
    if !Path::new(&real).exists() {
        eprintln!("{real} not installed: the guide's examples were not checked against real Redis");
        return;
    }
    run_examples(&real, None);
}
