//! `quarry-bench files`: PutObject and GetObject through the gateway vs. writing and reading the
//! same bytes to the same disk directly, in one run; MiB/s, the ratio and the gateway's peak RSS.

use std::io::{Read as _, Write as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use bytes::Bytes;
use futures_util::StreamExt as _;
use md5::Digest as _;

use crate::{Gateway, cpu_time, free_port, machine};

/// What the client sends per write and what the direct path writes per call.
const CHUNK: usize = 1024 * 1024;
const MIB: f64 = (1024 * 1024) as f64;
const BUCKET: &str = "bench-bucket";
/// The gateway's rate for the largest object, as a share of the direct rate, that is the goal.
const TARGET: f64 = 0.7;
/// The results block in the `--write` file; everything outside it is left as it is.
const BEGIN: &str = "<!-- files-results -->";
const END: &str = "<!-- /files-results -->";

struct Settings {
    /// Object sizes in bytes, each with how many times it is written and read.
    sizes: Vec<(usize, usize)>,
    write: Option<PathBuf>,
    /// Where the gateway's data dir and the direct file go (one filesystem).
    dir: PathBuf,
}

fn parse_size(text: &str) -> anyhow::Result<usize> {
    let text = text.trim();
    let (digits, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, ""),
    };
    let n: usize = digits.parse().with_context(|| format!("a size: {text}"))?;
    let unit = match unit.to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "K" | "KB" | "KIB" => 1024,
        "M" | "MB" | "MIB" => 1024 * 1024,
        "G" | "GB" | "GIB" => 1024 * 1024 * 1024,
        other => bail!("unknown size unit {other} in {text} (K, M, G)"),
    };
    ensure!(n > 0, "sizes must be above 0");
    Ok(n * unit)
}

/// `1M`, `256M` or `1M*50,256M*3`: small objects repeat 50 times by default, large ones 3 times.
fn parse_sizes(text: &str) -> anyhow::Result<Vec<(usize, usize)>> {
    text.split(',')
        .map(|item| {
            let (size, runs) = match item.split_once('*') {
                Some((size, runs)) => (parse_size(size)?, runs.trim().parse()?),
                None => {
                    let size = parse_size(item)?;
                    (size, if size <= 16 * 1024 * 1024 { 50 } else { 3 })
                }
            };
            ensure!(runs > 0, "runs must be above 0");
            Ok((size, runs))
        })
        .collect()
}

fn settings(args: impl Iterator<Item = String>) -> anyhow::Result<Settings> {
    let mut s = Settings {
        sizes: parse_sizes("1M*50,256M*3")?,
        write: None,
        dir: std::env::temp_dir(),
    };
    let mut args = args;
    while let Some(arg) = args.next() {
        let mut value = || args.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--sizes" => s.sizes = parse_sizes(&value()?)?,
            "--write" => s.write = Some(PathBuf::from(value()?)),
            "--dir" => s.dir = PathBuf::from(value()?),
            other => bail!(
                "unknown argument {other} (files [--sizes 1M*50,256M*3] [--dir DIR] [--write FILE])"
            ),
        }
    }
    Ok(s)
}

/// The scratch directory: removed when the bench ends, whatever happens.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Starts `target/release/quarry` with the embedded default config (no auth) and `data_dir`.
fn start_gateway(data_dir: &Path) -> anyhow::Result<(Gateway, SocketAddr)> {
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()?));
    let gateway = crate::spawn_gateway(addr, |cmd| {
        cmd.args(["serve", "--listen", &addr.to_string(), "--data-dir"])
            .arg(data_dir)
            .env_remove("QUARRY_CONFIG")
            .env_remove("QUARRY_LISTEN")
            .env_remove("QUARRY_DATA_DIR");
    })?;
    Ok((gateway, addr))
}

/// One object's bytes (pseudo-random, so nothing on the way can shortcut them) and their digests.
struct Object {
    data: Bytes,
    etag: String,
    crc: u32,
}

fn object(size: usize, seed: u64) -> Object {
    let mut data = Vec::with_capacity(size);
    let mut x = seed | 1;
    while data.len() < size {
        // xorshift64*
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        let word = x.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes();
        let take = word.len().min(size - data.len());
        data.extend_from_slice(&word[..take]);
    }
    Object {
        etag: format!("\"{}\"", hex(&md5::Md5::digest(&data))),
        crc: crc32fast::hash(&data),
        data: Bytes::from(data),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `dd`-like: the bytes written in 1 MiB calls to a file truncated on open, then fsync.
fn direct_write(path: &Path, object: &Object) -> anyhow::Result<()> {
    let mut file = std::fs::File::create(path)?;
    for chunk in object.data.chunks(CHUNK) {
        file.write_all(chunk)?;
    }
    file.sync_all()?;
    Ok(())
}

/// A fresh open, read to the end in 1 MiB calls, checked as the gateway's answers are.
fn direct_read(path: &Path, object: &Object) -> anyhow::Result<()> {
    let mut file = std::fs::File::open(path)?;
    let mut buf = vec![0u8; CHUNK];
    let mut crc = crc32fast::Hasher::new();
    let mut len = 0;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        crc.update(&buf[..n]);
        len += n;
    }
    ensure!(len == object.data.len(), "read {len} bytes back");
    ensure!(crc.finalize() == object.crc, "read other bytes back");
    Ok(())
}

/// PutObject, the body streamed from memory in 1 MiB chunks; the ETag must be the body's MD5.
async fn put(client: &reqwest::Client, url: &str, object: &Object) -> anyhow::Result<()> {
    let chunks: Vec<anyhow::Result<Bytes>> = (0..object.data.len())
        .step_by(CHUNK)
        .map(|at| Ok(object.data.slice(at..object.data.len().min(at + CHUNK))))
        .collect();
    let response = client
        .put(url)
        .header(http::header::CONTENT_LENGTH, object.data.len())
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await?;
    let status = response.status();
    let etag = response
        .headers()
        .get(http::header::ETAG)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = response.bytes().await?;
    ensure!(
        status == 200,
        "PutObject: HTTP {status}: {}",
        String::from_utf8_lossy(&body)
    );
    ensure!(
        etag.as_deref() == Some(object.etag.as_str()),
        "PutObject: ETag {etag:?}, not the body's MD5 {}",
        object.etag
    );
    Ok(())
}

/// GetObject, the body counted and checksummed as it arrives.
async fn get(client: &reqwest::Client, url: &str, object: &Object) -> anyhow::Result<()> {
    let response = client.get(url).send().await?;
    let status = response.status();
    if status != 200 {
        let body = response.bytes().await?;
        bail!(
            "GetObject: HTTP {status}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    let etag = response
        .headers()
        .get(http::header::ETAG)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    ensure!(
        etag.as_deref() == Some(object.etag.as_str()),
        "GetObject: ETag {etag:?}, not {}",
        object.etag
    );
    let mut body = response.bytes_stream();
    let mut crc = crc32fast::Hasher::new();
    let mut len = 0;
    while let Some(chunk) = body.next().await {
        let chunk = chunk?;
        crc.update(&chunk);
        len += chunk.len();
    }
    ensure!(
        len == object.data.len(),
        "GetObject: {len} bytes, not {}",
        object.data.len()
    );
    ensure!(crc.finalize() == object.crc, "GetObject: other bytes");
    Ok(())
}

/// The timings of one operation on one path, and the gateway's CPU time over them.
#[derive(Default)]
struct Samples {
    times: Vec<Duration>,
    gateway_cpu: Duration,
}

impl Samples {
    fn median_rate(&self, size: usize) -> f64 {
        let mut rates: Vec<f64> = self
            .times
            .iter()
            .map(|t| size as f64 / MIB / t.as_secs_f64().max(1e-9))
            .collect();
        rates.sort_by(f64::total_cmp);
        match rates.len() {
            0 => 0.0,
            n if n % 2 == 1 => rates[n / 2],
            n => (rates[n / 2 - 1] + rates[n / 2]) / 2.0,
        }
    }

    fn aggregate_rate(&self, size: usize) -> f64 {
        let total: Duration = self.times.iter().sum();
        (size * self.times.len()) as f64 / MIB / total.as_secs_f64().max(1e-9)
    }

    /// Gateway CPU time per wall-clock second of the operation (1.00: one core busy); "—" where
    /// `/proc`'s 10 ms clock ticks, up to one off per run, could be more than a tenth of it.
    fn cores(&self) -> String {
        let total: Duration = self.times.iter().sum();
        if total.is_zero() || total < Duration::from_millis(100) * self.times.len() as u32 {
            return "—".to_owned();
        }
        format!(
            "{:.2}",
            self.gateway_cpu.as_secs_f64() / total.as_secs_f64()
        )
    }
}

#[derive(Default)]
struct SizeResult {
    size: usize,
    runs: usize,
    direct_write: Samples,
    direct_read: Samples,
    put: Samples,
    get: Samples,
}

async fn timed<F: Future<Output = anyhow::Result<()>>>(
    samples: &mut Samples,
    pid: &str,
    op: F,
) -> anyhow::Result<()> {
    let cpu = cpu_time(pid)?;
    let start = Instant::now();
    op.await?;
    samples.times.push(start.elapsed());
    samples.gateway_cpu += cpu_time(pid)?.saturating_sub(cpu);
    Ok(())
}

/// The direct and gateway operations of one size, interleaved run by run so both see the same
/// machine (the cores are shared).
async fn bench_size(
    client: &reqwest::Client,
    gateway: SocketAddr,
    pid: &str,
    direct_dir: &Path,
    size: usize,
    runs: usize,
) -> anyhow::Result<SizeResult> {
    let object = std::sync::Arc::new(object(size, size as u64));
    let url = format!("http://{gateway}/bedrock/files/{BUCKET}/obj-{size}");
    let path = std::sync::Arc::new(direct_dir.join(format!("obj-{size}")));
    let mut result = SizeResult {
        size,
        runs,
        ..SizeResult::default()
    };
    for _ in 0..runs {
        let (p, o) = (path.clone(), object.clone());
        timed(&mut result.direct_write, pid, async move {
            tokio::task::spawn_blocking(move || direct_write(&p, &o)).await?
        })
        .await?;
        timed(&mut result.put, pid, put(client, &url, &object)).await?;
        let (p, o) = (path.clone(), object.clone());
        timed(&mut result.direct_read, pid, async move {
            tokio::task::spawn_blocking(move || direct_read(&p, &o)).await?
        })
        .await?;
        timed(&mut result.get, pid, get(client, &url, &object)).await?;
    }
    std::fs::remove_file(&*path)?;
    Ok(result)
}

fn size_name(size: usize) -> String {
    match size {
        s if s % (1024 * 1024 * 1024) == 0 => format!("{} GiB", s / (1024 * 1024 * 1024)),
        s if s % (1024 * 1024) == 0 => format!("{} MiB", s / (1024 * 1024)),
        s if s % 1024 == 0 => format!("{} KiB", s / 1024),
        s => format!("{s} B"),
    }
}

/// `VmHWM` and `VmRSS` of a process, in bytes.
fn memory(pid: &str) -> anyhow::Result<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| -> anyhow::Result<u64> {
        let line = status
            .lines()
            .find(|l| l.starts_with(name))
            .with_context(|| format!("{name} in /proc/{pid}/status"))?;
        let kb: u64 = line
            .trim_start_matches(name)
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()?;
        Ok(kb * 1024)
    };
    Ok((field("VmHWM:")?, field("VmRSS:")?))
}

fn filesystem(dir: &Path) -> String {
    Command::new("df")
        .args(["--output=fstype"])
        .arg(dir)
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.lines().nth(1).map(|l| l.trim().to_owned()))
        .unwrap_or_else(|| "unknown".into())
}

fn table(results: &[SizeResult]) -> String {
    let mut out = String::from(
        "| object | op | runs | direct MiB/s | gateway MiB/s | gateway / direct | \
         direct MiB/s (aggregate) | gateway MiB/s (aggregate) | gateway CPU (cores) |\n\
         |---|---|---|---|---|---|---|---|---|\n",
    );
    for r in results {
        for (op, direct, gateway) in [
            ("PutObject / write + fsync", &r.direct_write, &r.put),
            ("GetObject / read", &r.direct_read, &r.get),
        ] {
            let (d, g) = (direct.median_rate(r.size), gateway.median_rate(r.size));
            out.push_str(&format!(
                "| {} | {op} | {} | {d:.0} | {g:.0} | **{:.2}** | {:.0} | {:.0} | {} |\n",
                size_name(r.size),
                r.runs,
                g / d.max(1e-9),
                direct.aggregate_rate(r.size),
                gateway.aggregate_rate(r.size),
                gateway.cores(),
            ));
        }
    }
    out
}

/// Replaces the text between the results markers of `path`, leaving the rest of the file alone.
fn write_results(path: &Path, report: &str) -> anyhow::Result<()> {
    let previous =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let (Some(begin), Some(end)) = (previous.find(BEGIN), previous.find(END)) else {
        bail!("{} has no {BEGIN} … {END} block", path.display());
    };
    ensure!(
        begin < end,
        "{END} comes before {BEGIN} in {}",
        path.display()
    );
    let updated = format!(
        "{}{BEGIN}\n\n{}\n\n{}",
        &previous[..begin],
        report.trim(),
        &previous[end..]
    );
    std::fs::write(path, updated)?;
    Ok(())
}

/// Runs the bench on a single-threaded runtime of its own: the load generator's HTTP client
/// then takes no cross-thread hand-offs per body chunk, and leaves a core to the gateway.
pub async fn run(args: impl Iterator<Item = String>) -> anyhow::Result<()> {
    let settings = settings(args)?;
    tokio::task::spawn_blocking(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(bench(settings))
    })
    .await?
}

async fn bench(settings: Settings) -> anyhow::Result<()> {
    let scratch = Scratch(
        settings
            .dir
            .join(format!("quarry-bench-files-{}", std::process::id())),
    );
    let data_dir = scratch.0.join("data");
    let direct_dir = scratch.0.join("direct");
    std::fs::create_dir_all(&data_dir)?;
    std::fs::create_dir_all(&direct_dir)?;
    let (gateway, addr) = start_gateway(&data_dir)?;
    let pid = gateway.0.id().to_string();
    let client = reqwest::Client::builder().tcp_nodelay(true).build()?;
    // Warm-up: the connection opened, the bucket created, the database's first pages touched.
    let warm = object(64 * 1024, 7);
    let url = format!("http://{addr}/bedrock/files/{BUCKET}/warm-up");
    for _ in 0..5 {
        put(&client, &url, &warm).await?;
        get(&client, &url, &warm).await?;
    }
    let (_, started_rss) = memory(&pid)?;
    let mut results = Vec::new();
    for &(size, runs) in &settings.sizes {
        eprintln!(
            "==> {} × {runs}: direct and through the gateway",
            size_name(size)
        );
        results.push(bench_size(&client, addr, &pid, &direct_dir, size, runs).await?);
    }
    let (peak, last) = memory(&pid)?;
    drop(gateway);
    let largest = settings.sizes.iter().map(|s| s.0).max().unwrap_or(0);
    let mut report = format!(
        "Machine: {}; scratch directory {} ({}), the gateway's data dir and the direct file both \
         inside it.\n\n",
        machine(),
        settings.dir.display(),
        filesystem(&settings.dir),
    );
    report.push_str(&table(&results));
    report.push_str(&format!(
        "\nMedians per run, the ratio of the medians in bold. Gateway peak RSS (`VmHWM`): \
         **{:.1} MiB** over the run, largest object {}; {:.1} MiB after the warm-up, {:.1} MiB at \
         the end.\n",
        peak as f64 / MIB,
        size_name(largest),
        started_rss as f64 / MIB,
        last as f64 / MIB,
    ));
    if let Some(r) = results.iter().max_by_key(|r| r.size) {
        let verdict = |direct: &Samples, gateway: &Samples| {
            let ratio = gateway.median_rate(r.size) / direct.median_rate(r.size).max(1e-9);
            let met = if ratio >= TARGET { "met" } else { "not met" };
            format!("{ratio:.2} ({met})")
        };
        report.push_str(&format!(
            "Target ≥ {TARGET:.2} of the direct rate for {}: PutObject {}, GetObject {}.\n",
            size_name(r.size),
            verdict(&r.direct_write, &r.put),
            verdict(&r.direct_read, &r.get),
        ));
    }
    println!("{report}");
    if let Some(path) = settings.write {
        write_results(&path, &report)?;
        eprintln!("==> wrote {}", path.display());
    }
    Ok(())
}
