//! `cargo xtask conformance`: boto3 from PyPI against the built `quarry` binary on a free port.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// Kills the gateway when the task ends, whatever happens in between.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn status(cmd: &mut Command, what: &str) -> anyhow::Result<()> {
    let status = cmd.status().with_context(|| format!("running {what}"))?;
    if !status.success() {
        bail!("{what} failed");
    }
    Ok(())
}

/// Creates (once per requirements file) the venv with boto3 and pytest, returning its python.
fn venv(root: &Path) -> anyhow::Result<std::path::PathBuf> {
    let dir = root.join("target/conformance-venv");
    let python = dir.join("bin/python");
    let requirements = root.join("conformance/python/requirements.txt");
    let wanted = std::fs::read_to_string(&requirements).context("reading requirements.txt")?;
    let stamp = dir.join("requirements.installed");
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) && python.exists() {
        return Ok(python);
    }
    println!("==> python3 -m venv {}", dir.display());
    status(
        Command::new("python3").args(["-m", "venv"]).arg(&dir),
        "python3 -m venv",
    )?;
    println!("==> pip install -r conformance/python/requirements.txt");
    status(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
            ])
            .arg(&requirements),
        "pip install",
    )?;
    std::fs::write(&stamp, wanted)?;
    Ok(python)
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn wait_until_listening(addr: SocketAddr, server: &mut Server) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        if let Some(exit) = server.0.try_wait()? {
            bail!("quarry exited before listening: {exit}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("quarry did not listen on {addr} within 60 s")
}

/// Runs the suite; `build` rebuilds the binary first (CI skips it: `cargo test --workspace` just
/// built `target/debug/quarry` for the integration tests, with the same features).
pub fn run(root: &Path, build: bool) -> anyhow::Result<()> {
    let python = venv(root)?;
    if build {
        println!("==> cargo build -p quarry --bin quarry");
        status(
            Command::new(env!("CARGO"))
                .args(["build", "-p", "quarry", "--bin", "quarry"])
                .current_dir(root),
            "cargo build",
        )?;
    }
    let data = root.join("target/conformance-data");
    std::fs::create_dir_all(&data)?;
    // The seeds run against the embedded defaults; the SigV4 tests against a second gateway.
    let (open, mut open_server) = start(root, &data, None)?;
    let sigv4_config = root.join("conformance/python/sigv4.toml");
    let (signed, mut signed_server) = start(root, &data, Some(&sigv4_config))?;
    wait_until_listening(open, &mut open_server)?;
    wait_until_listening(signed, &mut signed_server)?;
    println!("==> pytest conformance/python");
    status(
        Command::new(&python)
            .args([
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "conformance/python",
            ])
            .env("QUARRY_URL", format!("http://{open}"))
            .env("QUARRY_SIGV4_URL", format!("http://{signed}"))
            .current_dir(root),
        "pytest conformance/python",
    )
}

/// Where cargo puts build output: `CARGO_TARGET_DIR` when set, else `target/`.
fn target_dir(root: &Path) -> std::path::PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| root.join("target"), std::path::PathBuf::from)
}

/// Starts the built `quarry` on a free port, optionally with a config file.
fn start(root: &Path, data: &Path, config: Option<&Path>) -> anyhow::Result<(SocketAddr, Server)> {
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()?));
    println!(
        "==> quarry serve --listen {addr}{}",
        config
            .map(|c| format!(" --config {}", c.display()))
            .unwrap_or_default()
    );
    let mut cmd = Command::new(target_dir(root).join("debug/quarry"));
    cmd.args(["serve", "--listen", &addr.to_string()])
        .current_dir(data);
    if let Some(config) = config {
        cmd.arg("--config").arg(config);
    }
    let child = cmd.spawn().context("starting the built quarry binary")?;
    Ok((addr, Server(child)))
}
