//! `quarry-bench`: Converse through the gateway vs. the same fake upstream called directly, in one
//! run; throughput, latency percentiles, CPU per request and time to first event.

mod batch;
mod files;
mod relay;
mod upstream;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context as _, bail, ensure};
use futures_util::StreamExt as _;
use serde_json::json;

const ACCESS_KEY: &str = "AKIDQUARRYBENCH00001";
const SECRET: &str = "quarry-bench-secret";

struct Settings {
    duration: Duration,
    concurrency: usize,
    /// Rounds of (direct, relay, gateway) per scenario: the paths take turns, so a noisy
    /// stretch of a shared machine falls on all of them rather than on one.
    rounds: usize,
    write: Option<PathBuf>,
    stream: upstream::StreamShape,
}

fn settings() -> anyhow::Result<Settings> {
    let mut s = Settings {
        duration: Duration::from_secs(10),
        concurrency: 8,
        rounds: 3,
        write: None,
        stream: upstream::StreamShape {
            chunks: 20,
            gap: Duration::from_millis(5),
        },
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--duration" => s.duration = Duration::from_secs_f64(value()?.parse()?),
            "--concurrency" => s.concurrency = value()?.parse()?,
            "--rounds" => s.rounds = value()?.parse()?,
            "--write" => s.write = Some(PathBuf::from(value()?)),
            other => {
                bail!(
                    "unknown argument {other} (--duration S, --concurrency C, --rounds N, --write FILE)"
                )
            }
        }
    }
    ensure!(s.concurrency > 0, "--concurrency must be above 0");
    ensure!(s.rounds > 0, "--rounds must be above 0");
    Ok(s)
}

/// A child process (the gateway or the relay floor), killed when dropped.
pub(crate) struct Gateway(pub(crate) Child);

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Starts `target/release/quarry` (next to this binary) in sigv4 mode with the fake as `openai`.
fn start_gateway(upstream: SocketAddr) -> anyhow::Result<(Gateway, SocketAddr)> {
    let dir = std::env::temp_dir().join(format!("quarry-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()?));
    let config = format!(
        "default_provider = \"openai\"\n[server]\nlisten = \"{addr}\"\ndata_dir = \"{}\"\n\
         [auth]\nmode = \"sigv4\"\n[[auth.keys]]\nname = \"bench\"\naccess_key_id = \"{ACCESS_KEY}\"\n\
         secret_access_key = \"{SECRET}\"\n[providers.openai]\ntype = \"openai\"\n\
         base_url = \"http://{upstream}/v1\"\napi_keys = [{{ key = \"sk-bench\" }}]\n",
        dir.join("data").display()
    );
    let path = dir.join("quarry.toml");
    std::fs::write(&path, config)?;
    let gateway = spawn_gateway(addr, |cmd| {
        cmd.args(["serve", "--config"]).arg(&path);
    })?;
    Ok((gateway, addr))
}

/// Starts the release `quarry` next to this binary, set up by `configure`, and waits until it
/// listens on `addr`.
pub(crate) fn spawn_gateway(
    addr: SocketAddr,
    configure: impl FnOnce(&mut Command),
) -> anyhow::Result<Gateway> {
    let binary = std::env::current_exe()?
        .parent()
        .context("the bench binary has a directory")?
        .join("quarry");
    spawn_listening(binary, addr, |cmd| {
        configure(cmd);
        cmd.env("RUST_LOG", "warn");
    })
}

/// Starts `binary`, set up by `configure`, and waits until it listens on `addr`.
fn spawn_listening(
    binary: PathBuf,
    addr: SocketAddr,
    configure: impl FnOnce(&mut Command),
) -> anyhow::Result<Gateway> {
    let mut cmd = Command::new(&binary);
    configure(&mut cmd);
    let child = cmd
        .stdout(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {}", binary.display()))?;
    let process = Gateway(child);
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(addr).is_err() {
        ensure!(
            Instant::now() < deadline,
            "{} did not listen on {addr}",
            binary.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(process)
}

/// CPU time (user + system) a process has used, from `/proc/<pid>/stat`.
fn cpu_time(pid: &str) -> anyhow::Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let after_name = stat.rsplit_once(')').context("a stat line")?.1;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Fields 14 and 15 of stat(5), counted after the command name (field 2) ends.
    let ticks: u64 = fields.get(11).context("utime")?.parse::<u64>()?
        + fields.get(12).context("stime")?.parse::<u64>()?;
    Ok(Duration::from_secs_f64(ticks as f64 / clock_ticks()))
}

fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// Starts this binary as the relay floor (`relay.rs`) in a process of its own, in front of the
/// fake upstream.
fn start_relay(upstream: SocketAddr) -> anyhow::Result<(Gateway, SocketAddr)> {
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()?));
    let relay = spawn_listening(std::env::current_exe()?, addr, |cmd| {
        cmd.args(["relay", &addr.to_string(), &upstream.to_string()]);
    })?;
    Ok((relay, addr))
}

/// Which path a scenario takes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Path {
    Direct,
    /// The OpenAI request through the relay floor: HTTP in and out, nothing else.
    Relay,
    Gateway,
}

#[derive(Clone, Copy)]
struct Target {
    upstream: SocketAddr,
    relay: SocketAddr,
    gateway: SocketAddr,
}

fn converse_body() -> Vec<u8> {
    json!({
        "system": [{ "text": "You are a helpful assistant." }],
        "messages": [
            { "role": "user", "content": [{ "text": "Hello, who are you?" }] },
            { "role": "assistant", "content": [{ "text": "A benchmark." }] },
            { "role": "user", "content": [{ "text": "Tell me something quick." }] }
        ],
        "inferenceConfig": { "maxTokens": 256, "temperature": 0.7 }
    })
    .to_string()
    .into_bytes()
}

fn openai_body(stream: bool) -> Vec<u8> {
    let mut body = json!({
        "model": "gpt-4o-mini",
        "messages": [
            { "role": "system", "content": "You are a helpful assistant." },
            { "role": "user", "content": "Hello, who are you?" },
            { "role": "assistant", "content": "A benchmark." },
            { "role": "user", "content": "Tell me something quick." }
        ],
        "max_tokens": 256, "temperature": 0.7
    });
    if stream {
        body["stream"] = json!(true);
        body["stream_options"] = json!({ "include_usage": true });
    }
    body.to_string().into_bytes()
}

/// A Converse request signed as the AWS SDK signs it (service `bedrock`), per request.
fn signed(url: &str, body: Vec<u8>) -> anyhow::Result<reqwest::Request> {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    let mut request = http::Request::post(url)
        .header("content-type", "application/json")
        .body(body)?;
    let identity =
        aws_credential_types::Credentials::new(ACCESS_KEY, SECRET, None, None, "bench").into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("bedrock")
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()?
        .into();
    let headers: Vec<(String, String)> = request
        .headers()
        .iter()
        .map(|(k, v)| Ok((k.as_str().to_owned(), v.to_str()?.to_owned())))
        .collect::<anyhow::Result<_>>()?;
    let signable = SignableRequest::new(
        "POST",
        url,
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(request.body()),
    )?;
    let (instructions, _) = sign(signable, &params)?.into_parts();
    instructions.apply_to_request_http1x(&mut request);
    Ok(reqwest::Request::try_from(request)?)
}

/// One timed request: total latency and, for streams, the time to the first body bytes.
struct Sample {
    total: Duration,
    first_event: Option<Duration>,
}

async fn one(
    client: &reqwest::Client,
    target: Target,
    path: Path,
    stream: bool,
) -> anyhow::Result<Sample> {
    let request = match path {
        Path::Direct | Path::Relay => {
            let to = if path == Path::Direct {
                target.upstream
            } else {
                target.relay
            };
            client
                .post(format!("http://{to}/v1/chat/completions"))
                .header("content-type", "application/json")
                .header("authorization", "Bearer sk-bench")
                .body(openai_body(stream))
                .build()?
        }
        Path::Gateway => {
            let op = if stream {
                "converse-stream"
            } else {
                "converse"
            };
            signed(
                &format!("http://{}/model/gpt-4o-mini/{op}", target.gateway),
                converse_body(),
            )?
        }
    };
    let start = Instant::now();
    let response = client.execute(request).await?;
    let status = response.status();
    if !stream {
        let body = response.bytes().await?;
        ensure!(
            status == 200,
            "HTTP {status}: {}",
            String::from_utf8_lossy(&body)
        );
        ensure!(
            std::str::from_utf8(&body).is_ok_and(|b| b.contains(upstream::ANSWER)),
            "the answer is not the upstream's: {}",
            String::from_utf8_lossy(&body)
        );
        return Ok(Sample {
            total: start.elapsed(),
            first_event: None,
        });
    }
    ensure!(status == 200, "HTTP {status}");
    let mut body = response.bytes_stream();
    let mut first_event = None;
    let mut all = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk?;
        if first_event.is_none() && !chunk.is_empty() {
            first_event = Some(start.elapsed());
        }
        all.extend_from_slice(&chunk);
    }
    let end_marker: &[u8] = match path {
        Path::Direct | Path::Relay => b"[DONE]",
        Path::Gateway => b"metadata",
    };
    ensure!(
        all.windows(end_marker.len()).any(|w| w == end_marker),
        "the stream did not finish"
    );
    Ok(Sample {
        total: start.elapsed(),
        first_event,
    })
}

#[derive(Default)]
struct Run {
    samples: Vec<Sample>,
    elapsed: Duration,
    bench_cpu: Duration,
    /// The CPU time of the process between the client and the upstream (gateway or relay).
    middle_cpu: Option<Duration>,
    /// That CPU time per request in each round, to show how much the rounds differ.
    middle_per_round: Vec<f64>,
}

impl Run {
    /// Adds one round's measurements to the run's totals.
    fn add(&mut self, round: Run) {
        if let Some(cpu) = round.middle_cpu {
            self.middle_per_round
                .push(per_request_us(cpu, round.samples.len()));
            self.middle_cpu = Some(self.middle_cpu.unwrap_or_default() + cpu);
        }
        self.samples.extend(round.samples);
        self.elapsed += round.elapsed;
        self.bench_cpu += round.bench_cpu;
    }
}

async fn run(
    settings: &Settings,
    target: Target,
    path: Path,
    stream: bool,
    middle_pid: Option<&str>,
) -> anyhow::Result<Run> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(settings.concurrency * 2)
        .tcp_nodelay(true)
        .build()?;
    // Warm-up: connections opened, caches filled.
    for _ in 0..settings.concurrency * 4 {
        one(&client, target, path, stream).await?;
    }
    let bench_before = cpu_time("self")?;
    let middle_before = middle_pid.map(cpu_time).transpose()?;
    let started = Instant::now();
    let deadline = started + settings.duration;
    let mut workers = Vec::new();
    for _ in 0..settings.concurrency {
        let client = client.clone();
        workers.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            while Instant::now() < deadline {
                samples.push(one(&client, target, path, stream).await?);
            }
            anyhow::Ok(samples)
        }));
    }
    let mut samples = Vec::new();
    for w in workers {
        samples.extend(w.await??);
    }
    let elapsed = started.elapsed();
    Ok(Run {
        samples,
        elapsed,
        bench_cpu: cpu_time("self")?.saturating_sub(bench_before),
        middle_cpu: match (middle_pid, middle_before) {
            (Some(pid), Some(before)) => Some(cpu_time(pid)?.saturating_sub(before)),
            _ => None,
        },
        middle_per_round: Vec::new(),
    })
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64) * p).floor() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

fn per_request_us(cpu: Duration, n: usize) -> f64 {
    cpu.as_secs_f64() * 1e6 / n.max(1) as f64
}

struct Stats {
    n: usize,
    rps: f64,
    p50: Duration,
    p90: Duration,
    p99: Duration,
    max: Duration,
    ttfe50: Duration,
    ttfe99: Duration,
    bench_us: f64,
    middle_us: Option<f64>,
    /// The lowest and highest per-round CPU per request of the middle process.
    middle_range: Option<(f64, f64)>,
}

fn stats(run: &Run) -> Stats {
    let mut totals: Vec<Duration> = run.samples.iter().map(|s| s.total).collect();
    totals.sort();
    let mut firsts: Vec<Duration> = run.samples.iter().filter_map(|s| s.first_event).collect();
    firsts.sort();
    let n = run.samples.len();
    Stats {
        n,
        rps: n as f64 / run.elapsed.as_secs_f64(),
        p50: percentile(&totals, 0.50),
        p90: percentile(&totals, 0.90),
        p99: percentile(&totals, 0.99),
        max: totals.last().copied().unwrap_or_default(),
        ttfe50: percentile(&firsts, 0.50),
        ttfe99: percentile(&firsts, 0.99),
        bench_us: per_request_us(run.bench_cpu, n),
        middle_us: run.middle_cpu.map(|cpu| per_request_us(cpu, n)),
        middle_range: run.middle_per_round.iter().copied().fold(
            None,
            |range: Option<(f64, f64)>, us| {
                Some(range.map_or((us, us), |(lo, hi)| (lo.min(us), hi.max(us))))
            },
        ),
    }
}

fn table(title: &str, direct: &Stats, relay: &Stats, gateway: &Stats, stream: bool) -> String {
    let mut out = format!("### {title}\n\n");
    out.push_str("| path | requests | req/s | p50 ms | p90 ms | p99 ms | max ms |");
    if stream {
        out.push_str(" first event p50 ms | first event p99 ms |");
    }
    out.push_str(
        " load generator + upstream CPU µs/req | relay or gateway CPU µs/req (rounds' range) |\n|---|---|---|---|---|---|---|",
    );
    if stream {
        out.push_str("---|---|");
    }
    out.push_str("---|---|\n");
    for (name, s) in [
        ("direct", direct),
        ("relay floor", relay),
        ("gateway", gateway),
    ] {
        out.push_str(&format!(
            "| {name} | {} | {:.0} | {} | {} | {} | {} |",
            s.n,
            s.rps,
            ms(s.p50),
            ms(s.p90),
            ms(s.p99),
            ms(s.max)
        ));
        if stream {
            out.push_str(&format!(" {} | {} |", ms(s.ttfe50), ms(s.ttfe99)));
        }
        let middle = match (s.middle_us, s.middle_range) {
            (Some(us), Some((lo, hi))) => format!("{us:.1} ({lo:.0}–{hi:.0})"),
            _ => "—".to_owned(),
        };
        out.push_str(&format!(" {:.1} | {middle} |\n", s.bench_us));
    }
    out.push_str(&format!(
        "\nRatios gateway / direct: throughput {:.2}, p50 latency {:.2}, p99 latency {:.2}",
        gateway.rps / direct.rps,
        gateway.p50.as_secs_f64() / direct.p50.as_secs_f64().max(1e-9),
        gateway.p99.as_secs_f64() / direct.p99.as_secs_f64().max(1e-9),
    ));
    if stream {
        out.push_str(&format!(
            "; first event p50 {} ms later through the gateway",
            ms(gateway.ttfe50.saturating_sub(direct.ttfe50))
        ));
    }
    let gateway_us = gateway.middle_us.unwrap_or_default();
    let relay_us = relay.middle_us.unwrap_or_default();
    out.push_str(&format!(
        ".\nGateway CPU: **{gateway_us:.1} µs per request**, of which the relay floor (HTTP in, \
         HTTP out) is {relay_us:.1} µs and the gateway's own work **{:.1} µs**.\n\n",
        gateway_us - relay_us
    ));
    out
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let rustc = Command::new("rustc")
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .unwrap_or_default();
    format!("{cores} cores, {cpu}, {}", rustc.trim())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if std::env::args().nth(1).as_deref() == Some("batch") {
        return batch::run(std::env::args().skip(2)).await;
    }
    if std::env::args().nth(1).as_deref() == Some("files") {
        return files::run(std::env::args().skip(2)).await;
    }
    if std::env::args().nth(1).as_deref() == Some("relay") {
        return relay::run(std::env::args().skip(2)).await;
    }
    let settings = settings()?;
    let upstream = upstream::serve(settings.stream).await?;
    let (gateway, gateway_addr) = start_gateway(upstream)?;
    let (relay, relay_addr) = start_relay(upstream)?;
    let pid = gateway.0.id().to_string();
    let relay_pid = relay.0.id().to_string();
    let target = Target {
        upstream,
        relay: relay_addr,
        gateway: gateway_addr,
    };
    let mut report = format!(
        "Machine: {}. Each scenario: {} rounds, each path in turn with {} concurrent clients for \
         {:.0} s after a warm-up; streams: {} content chunks {} ms apart.\n\n",
        machine(),
        settings.rounds,
        settings.concurrency,
        settings.duration.as_secs_f64(),
        settings.stream.chunks,
        settings.stream.gap.as_millis()
    );
    for (title, stream) in [("Converse (non-streamed)", false), ("ConverseStream", true)] {
        let (mut direct, mut floor, mut gateway) = (Run::default(), Run::default(), Run::default());
        for round in 1..=settings.rounds {
            eprintln!("==> {title}, round {round}: direct, relay floor, gateway");
            direct.add(run(&settings, target, Path::Direct, stream, None).await?);
            floor.add(run(&settings, target, Path::Relay, stream, Some(&relay_pid)).await?);
            gateway.add(run(&settings, target, Path::Gateway, stream, Some(&pid)).await?);
        }
        report.push_str(&table(
            title,
            &stats(&direct),
            &stats(&floor),
            &stats(&gateway),
            stream,
        ));
    }
    drop((gateway, relay));
    println!("{report}");
    if let Some(path) = settings.write {
        let previous = std::fs::read_to_string(&path).unwrap_or_default();
        let marker = "<!-- results -->";
        let preamble = previous.split(marker).next().unwrap_or_default().trim_end();
        std::fs::write(&path, format!("{preamble}\n\n{marker}\n\n{report}"))?;
        eprintln!("==> wrote {}", path.display());
    }
    Ok(())
}
