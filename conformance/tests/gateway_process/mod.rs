//! The built `quarry` binary as a child process (what an operator runs): for tests that must kill
//! the gateway outright, restart it on the same data dir, or see the serving shell of `quarry
//! serve` itself rather than an in-process router.
//!
//! The binary is built once per test process (`cargo build -p quarry --bin quarry`, a no-op when it
//! is fresh) into the same target dir as the tests, unless `QUARRY_BIN` names one.

#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Environment variables that would change what the started gateway does; it runs on its command
/// line (and config file) alone.
const GATEWAY_ENV: [&str; 6] = [
    "QUARRY_CONFIG",
    "QUARRY_LISTEN",
    "QUARRY_DATA_DIR",
    "QUARRY_LOG_FORMAT",
    "QUARRY_AUTH_MODE",
    "QUARRY_DEFAULT_PROVIDER",
];

/// Variables `cargo test` sets for the test binary (besides `CARGO_PKG_*`).
const TEST_ENV: [&str; 8] = [
    "CARGO_MANIFEST_DIR",
    "CARGO_MANIFEST_PATH",
    "CARGO_CRATE_NAME",
    "CARGO_BIN_NAME",
    "CARGO_PRIMARY_PACKAGE",
    "CARGO_TARGET_TMPDIR",
    "CARGO_RUSTC_CURRENT_DIR",
    "OUT_DIR",
];

/// The target dir the tests were built into (`CARGO_TARGET_TMPDIR` is its `tmp/`).
fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR has a parent")
        .to_path_buf()
}

/// The `quarry` binary: `QUARRY_BIN` if set, else `<target>/debug/quarry`, built first.
pub fn binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        if let Some(path) = std::env::var_os("QUARRY_BIN") {
            return PathBuf::from(path);
        }
        let target = target_dir();
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("the conformance crate sits in the workspace");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let mut cmd = Command::new(cargo);
        cmd.args([
            "build",
            "-p",
            "quarry",
            "--bin",
            "quarry",
            "--manifest-path",
        ])
        .arg(workspace.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target);
        // What `cargo test` set for this test binary, not for builds: build scripts that watch
        // these (ring's watches CARGO_MANIFEST_DIR) would otherwise rebuild on every switch
        // between this build and a plain `cargo build`.
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            if TEST_ENV.contains(&name.as_ref()) || name.starts_with("CARGO_PKG_") {
                cmd.env_remove(name.as_ref());
            }
        }
        let status = cmd
            .status()
            .expect("running cargo build -p quarry --bin quarry");
        assert!(
            status.success(),
            "cargo build -p quarry --bin quarry failed"
        );
        let binary = target.join("debug/quarry");
        assert!(binary.exists(), "{} was not built", binary.display());
        binary
    })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind an ephemeral port")
        .local_addr()
        .expect("local addr")
        .port()
}

/// A running `quarry serve`, killed (SIGKILL) when dropped.
pub struct Gateway {
    child: Child,
    pub addr: SocketAddr,
    log: PathBuf,
}

impl Gateway {
    /// Starts `quarry serve` on a free loopback port with `data_dir`, optionally a config file,
    /// and waits until it accepts connections. Its stderr goes to `<data_dir>.log`.
    pub fn start(data_dir: &Path, config: Option<&Path>) -> Self {
        let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let mut log_name = data_dir.as_os_str().to_owned();
        log_name.push(".log");
        let log = PathBuf::from(log_name);
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .expect("open the gateway's log");
        let mut cmd = Command::new(binary());
        cmd.args(["serve", "--listen", &addr.to_string(), "--data-dir"])
            .arg(data_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr);
        if let Some(config) = config {
            cmd.arg("--config").arg(config);
        }
        for name in GATEWAY_ENV {
            cmd.env_remove(name);
        }
        let child = cmd.spawn().expect("start the quarry binary");
        let mut gateway = Self { child, addr, log };
        gateway.wait_until_listening();
        gateway
    }

    fn wait_until_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if TcpStream::connect_timeout(&self.addr, Duration::from_millis(200)).is_ok() {
                return;
            }
            if let Some(exit) = self.child.try_wait().expect("poll the gateway") {
                panic!(
                    "the gateway exited before listening ({exit}):\n{}",
                    self.log_text()
                );
            }
            assert!(
                Instant::now() < deadline,
                "the gateway did not listen on {} within 60 s:\n{}",
                self.addr,
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The process id (for `/proc/<pid>/…`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the gateway wrote to stderr so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL (no graceful shutdown, no destructors), and reaps the process.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL the gateway");
        self.child.wait().expect("reap the gateway");
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
