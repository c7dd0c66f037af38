//! `cargo xtask conformance`: boto3 from PyPI against the built `quarry` binary on free ports.
//!
//! One run starts, in parallel: the fake upstreams (`conformance/python/fake_upstreams.py`, which
//! speaks OpenAI, Anthropic, Gemini and AWS Bedrock on one port), a gateway on its embedded
//! defaults (the `mock` leg), one in SigV4 mode, and one gateway per remote provider leg, each
//! configured with that provider alone, pointed at the fakes. pytest then gets every URL.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// The access key id the bedrock leg's gateway signs with and the fake Bedrock requires.
const FAKE_AWS_ACCESS_KEY_ID: &str = "AKIAQUARRYFAKEUPSTRM";
const FAKE_AWS_SECRET_ACCESS_KEY: &str = "fake-upstream-secret";
/// The region the bedrock leg signs for (and the fake checks).
const FAKE_AWS_REGION: &str = "us-west-2";

/// The remote provider legs, in the order pytest lists them.
const LEGS: [&str; 4] = ["openai", "anthropic", "gemini", "bedrock"];

/// Environment variables that would change what the started gateways do; they run on their
/// command line and config file alone.
const GATEWAY_ENV: [&str; 6] = [
    "QUARRY_CONFIG",
    "QUARRY_LISTEN",
    "QUARRY_DATA_DIR",
    "QUARRY_LOG_FORMAT",
    "QUARRY_AUTH_MODE",
    "QUARRY_DEFAULT_PROVIDER",
];

/// Every source of AWS credentials besides the environment keys the bedrock leg sets, so the
/// standard chain resolves exactly those (and never a developer's own).
const AWS_ENV: [&str; 9] = [
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_BEARER_TOKEN_BEDROCK",
];

/// A process the task started, killed when the task ends, whatever happens in between.
struct Server {
    name: String,
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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
fn venv(root: &Path) -> anyhow::Result<PathBuf> {
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
        if let Some(exit) = server.child.try_wait()? {
            bail!("{} exited before listening: {exit}", server.name);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("{} did not listen on {addr} within 60 s", server.name)
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
    // Each run starts from empty stores; each gateway gets its own data dir (its own database).
    if data.exists() {
        std::fs::remove_dir_all(&data).with_context(|| format!("clearing {}", data.display()))?;
    }
    std::fs::create_dir_all(&data)?;
    // Everything starts at once and is waited for together: the fakes, the mock gateway (the
    // seeds on the embedded defaults), the SigV4 gateway, and one gateway per provider leg.
    let (fake, fake_server) = start_fakes(root, &python)?;
    let mut servers = vec![(fake, fake_server)];
    let open = start(root, &data.join("open"), None, &[])?;
    let sigv4_config = root.join("conformance/python/sigv4.toml");
    let signed = start(root, &data.join("signed"), Some(&sigv4_config), &[])?;
    let (open_addr, signed_addr) = (open.0, signed.0);
    servers.extend([open, signed]);
    let legs_dir = data.join("legs");
    std::fs::create_dir_all(&legs_dir)?;
    let mut leg_urls = Vec::new();
    for leg in LEGS {
        let config = legs_dir.join(format!("{leg}.toml"));
        std::fs::write(&config, leg_config(leg, fake))
            .with_context(|| format!("writing {}", config.display()))?;
        let env = if leg == "bedrock" {
            bedrock_env()
        } else {
            Vec::new()
        };
        let gateway = start(root, &legs_dir.join(leg), Some(&config), &env)?;
        leg_urls.push(format!("{leg}=http://{}", gateway.0));
        servers.push(gateway);
    }
    for (addr, server) in &mut servers {
        wait_until_listening(*addr, server)?;
    }
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
            .env("QUARRY_URL", format!("http://{open_addr}"))
            .env("QUARRY_SIGV4_URL", format!("http://{signed_addr}"))
            .env("QUARRY_LEG_URLS", leg_urls.join(","))
            .env("QUARRY_FAKE_URL", format!("http://{fake}"))
            // For tests that start a gateway of their own (the peak-memory test).
            .env("QUARRY_BIN", target_dir(root).join("debug/quarry"))
            .current_dir(root),
        "pytest conformance/python",
    )
}

/// Starts the fake upstreams (OpenAI, Anthropic, Gemini, Bedrock) on a free port.
fn start_fakes(root: &Path, python: &Path) -> anyhow::Result<(SocketAddr, Server)> {
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()?));
    println!("==> fake_upstreams.py --port {}", addr.port());
    let child = Command::new(python)
        .arg(root.join("conformance/python/fake_upstreams.py"))
        .args(["--port", &addr.port().to_string()])
        .args(["--bedrock-access-key-id", FAKE_AWS_ACCESS_KEY_ID])
        .args(["--bedrock-region", FAKE_AWS_REGION])
        .args(
            LEGS.iter()
                .filter(|leg| **leg != "bedrock")
                .flat_map(|leg| [format!("--{leg}-key"), fake_key(leg)]),
        )
        // It prints its port first; the port is already known.
        .stdout(Stdio::null())
        .current_dir(root)
        .spawn()
        .context("starting conformance/python/fake_upstreams.py")?;
    Ok((
        addr,
        Server {
            name: "fake_upstreams.py".to_owned(),
            child,
        },
    ))
}

/// The API key a leg's gateway is configured with and the fake requires.
fn fake_key(leg: &str) -> String {
    format!("fake-{leg}-key")
}

/// A gateway config with the leg's provider alone, pointed at the fakes.
fn leg_config(leg: &str, fake: SocketAddr) -> String {
    // Batch jobs poll the fake every 200 ms: it advances one state per poll.
    let head = format!(
        "# Written by `cargo xtask conformance`: the {leg} leg, against the fake upstreams.\n\
         default_provider = \"{leg}\"\n\n[batch]\npoll_interval_seconds = 0.2\n\n\
         [providers.{leg}]\ntype = \"{leg}\"\n"
    );
    let rest = match leg {
        "openai" => format!("base_url = \"http://{fake}/openai/v1\"\n"),
        "bedrock" => {
            return format!(
                "{head}region = \"{FAKE_AWS_REGION}\"\nendpoint = \"http://{fake}/bedrock\"\n"
            );
        }
        _ => format!("base_url = \"http://{fake}/{leg}\"\n"),
    };
    format!(
        "{head}{rest}api_keys = [{{ key = \"{}\" }}]\n",
        fake_key(leg)
    )
}

/// The bedrock leg's environment: test credentials for the standard AWS chain, nothing else.
fn bedrock_env() -> Vec<(&'static str, Option<&'static str>)> {
    let mut env = vec![
        ("AWS_ACCESS_KEY_ID", Some(FAKE_AWS_ACCESS_KEY_ID)),
        ("AWS_SECRET_ACCESS_KEY", Some(FAKE_AWS_SECRET_ACCESS_KEY)),
        ("AWS_EC2_METADATA_DISABLED", Some("true")),
        ("AWS_CONFIG_FILE", Some("/dev/null")),
        ("AWS_SHARED_CREDENTIALS_FILE", Some("/dev/null")),
    ];
    env.extend(AWS_ENV.map(|name| (name, None)));
    env
}

/// Where cargo puts build output: `CARGO_TARGET_DIR` when set, else `target/`.
pub fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from)
}

/// Starts the built `quarry` on a free port in `dir` (created if missing), optionally with a
/// config file, with `env` set (`Some`) or removed (`None`) on top of this process's environment.
fn start(
    root: &Path,
    dir: &Path,
    config: Option<&Path>,
    env: &[(&str, Option<&str>)],
) -> anyhow::Result<(SocketAddr, Server)> {
    std::fs::create_dir_all(dir)?;
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()?));
    println!(
        "==> quarry serve --listen {addr}{}",
        config
            .map(|c| format!(" --config {}", c.display()))
            .unwrap_or_default()
    );
    let mut cmd = Command::new(target_dir(root).join("debug/quarry"));
    cmd.args(["serve", "--listen", &addr.to_string()])
        .current_dir(dir);
    if let Some(config) = config {
        cmd.arg("--config").arg(config);
    }
    for name in GATEWAY_ENV {
        cmd.env_remove(name);
    }
    for (name, value) in env {
        match value {
            Some(value) => cmd.env(name, value),
            None => cmd.env_remove(name),
        };
    }
    let child = cmd.spawn().context("starting the built quarry binary")?;
    let name = config.map_or_else(
        || "quarry".to_owned(),
        |c| format!("quarry ({})", c.display()),
    );
    Ok((addr, Server { name, child }))
}
