//! `quarry-bench batch`: a 100,000-record job on the mock provider through the local engine —
//! records per second, Create→Completed time and the gateway's peak RSS — against the same
//! records sent as individual Converse calls, in one run.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use futures_util::StreamExt as _;
use serde_json::json;

const BEGIN: &str = "<!-- batch-results -->";
const END: &str = "<!-- /batch-results -->";
const MODEL: &str = "anthropic.claude-3-haiku-20240307-v1:0";

struct Settings {
    records: usize,
    concurrency: usize,
    write: Option<PathBuf>,
}

fn settings(mut args: impl Iterator<Item = String>) -> anyhow::Result<Settings> {
    let mut s = Settings {
        records: 100_000,
        concurrency: 32,
        write: None,
    };
    while let Some(arg) = args.next() {
        let mut value = || args.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--records" => s.records = value()?.parse()?,
            "--concurrency" => s.concurrency = value()?.parse()?,
            "--write" => s.write = Some(PathBuf::from(value()?)),
            other => bail!(
                "unknown argument {other} (batch [--records N] [--concurrency C] [--write FILE])"
            ),
        }
    }
    ensure!(
        s.records > 0 && s.concurrency > 0,
        "--records and --concurrency must be above 0"
    );
    Ok(s)
}

/// The scratch directory: removed when the bench ends, whatever happens.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn record(i: usize) -> serde_json::Value {
    json!({
        "recordId": format!("r{i:010}"),
        "modelInput": {
            "messages": [{"role": "user", "content": [{"text": format!("What is {i} + {i}? Answer briefly.")}]}],
            "inferenceConfig": {"maxTokens": 100}
        }
    })
}

fn start_gateway(
    dir: &Path,
    concurrency: usize,
    records: usize,
) -> anyhow::Result<(crate::Gateway, SocketAddr)> {
    let addr = SocketAddr::from(([127, 0, 0, 1], crate::free_port()?));
    let config = format!(
        "default_provider = \"mock\"\n[server]\nlisten = \"{addr}\"\ndata_dir = \"{}\"\n\
         [batch]\nconcurrency = {concurrency}\nmax_records = {records}\n\
         [providers.mock]\ntype = \"mock\"\n",
        dir.join("data").display()
    );
    let path = dir.join("quarry.toml");
    std::fs::write(&path, config)?;
    let gateway = crate::spawn_gateway(addr, |cmd| {
        cmd.args(["serve", "--config"])
            .arg(&path)
            .env_remove("QUARRY_CONFIG")
            .env_remove("QUARRY_LISTEN")
            .env_remove("QUARRY_DATA_DIR");
    })?;
    Ok((gateway, addr))
}

/// `VmHWM` of a process, in bytes.
fn peak_rss(pid: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .context("VmHWM in /proc/<pid>/status")?;
    let kb: u64 = line
        .trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()?;
    Ok(kb * 1024)
}

async fn bench(settings: Settings) -> anyhow::Result<String> {
    let scratch =
        Scratch(std::env::temp_dir().join(format!("quarry-bench-batch-{}", std::process::id())));
    std::fs::create_dir_all(&scratch.0)?;
    let (gateway, addr) = start_gateway(&scratch.0, settings.concurrency, settings.records)?;
    let pid = gateway.0.id().to_string();
    let client = reqwest::Client::builder().tcp_nodelay(true).build()?;
    let base = format!("http://{addr}/bedrock");

    // The input file, built and uploaded once.
    let mut body = Vec::new();
    for i in 0..settings.records {
        serde_json::to_writer(&mut body, &record(i))?;
        body.push(b'\n');
    }
    let input_bytes = body.len();
    let put = client
        .put(format!("{base}/files/bench/input.jsonl"))
        .body(body)
        .send()
        .await?;
    ensure!(put.status().is_success(), "PutObject: {}", put.status());
    let rss_before = peak_rss(&pid)?;

    eprintln!("==> a {}-record job on the local engine", settings.records);
    let started = Instant::now();
    let created = client
        .post(format!("{base}/model-invocation-job"))
        .header("content-type", "application/json")
        .body(serde_json::to_vec(&json!({
            "jobName": "bench",
            "modelId": MODEL,
            "roleArn": "arn:aws:iam::123456789012:role/bench",
            "modelInvocationType": "Converse",
            "inputDataConfig": {"s3InputDataConfig": {"s3Uri": "s3://bench/input.jsonl"}},
            "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": "s3://bench/output/"}}
        }))?)
        .send()
        .await?;
    ensure!(
        created.status().is_success(),
        "CreateModelInvocationJob: {}",
        created.status()
    );
    let arn = serde_json::from_slice::<serde_json::Value>(&created.bytes().await?)?["jobArn"]
        .as_str()
        .context("jobArn")?
        .to_owned();
    let encoded = arn.replace(':', "%3A").replace('/', "%2F");
    let job = loop {
        let job: serde_json::Value = serde_json::from_slice(
            &client
                .get(format!("{base}/model-invocation-job/{encoded}"))
                .send()
                .await?
                .bytes()
                .await?,
        )?;
        match job["status"].as_str() {
            Some("Submitted" | "Validating" | "Scheduled" | "InProgress") => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            _ => break job,
        }
    };
    let job_time = started.elapsed();
    ensure!(
        job["status"] == "Completed",
        "the job ended {}: {}",
        job["status"],
        job["message"]
    );
    ensure!(
        job["successRecordCount"].as_u64() == Some(settings.records as u64),
        "successRecordCount {}",
        job["successRecordCount"]
    );
    let peak_job = peak_rss(&pid)?;

    eprintln!(
        "==> the same records as individual Converse calls, {} at a time",
        settings.concurrency
    );
    let started = Instant::now();
    let url = format!("{base}/model/{MODEL}/converse");
    let mut calls = futures_util::stream::iter(0..settings.records)
        .map(|i| {
            let client = client.clone();
            let url = url.clone();
            async move {
                let input = record(i)["modelInput"].clone();
                let answer = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(serde_json::to_vec(&input)?)
                    .send()
                    .await?;
                ensure!(
                    answer.status().is_success(),
                    "Converse: {}",
                    answer.status()
                );
                answer.bytes().await?;
                Ok::<(), anyhow::Error>(())
            }
        })
        .buffer_unordered(settings.concurrency);
    while let Some(done) = calls.next().await {
        done?;
    }
    let calls_time = started.elapsed();
    let peak_all = peak_rss(&pid)?;
    drop(gateway);

    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    let rate = |d: Duration| settings.records as f64 / d.as_secs_f64();
    Ok(format!(
        "Command: `cargo xtask bench batch --records {records} --concurrency {concurrency}` \
         ({cores} cores, release build; input {input:.1} MiB).\n\n\
         | Path | Records | Wall time | Records/s |\n|---|---|---|---|\n\
         | Batch job, Create → Completed (local engine, mock provider) | {records} | {jt:.1} s | {jr:.0} |\n\
         | Individual Converse calls, {concurrency} in flight | {records} | {ct:.1} s | {cr:.0} |\n\n\
         Ratio batch / individual calls: {ratio:.2}. Gateway peak RSS: {before:.0} MiB after the \
         upload, {pj:.0} MiB at the end of the job, {pa:.0} MiB after the individual calls \
         (target for the job: flat, under 200 MiB).",
        records = settings.records,
        concurrency = settings.concurrency,
        cores = std::thread::available_parallelism().map_or(1, usize::from),
        input = input_bytes as f64 / (1024.0 * 1024.0),
        jt = job_time.as_secs_f64(),
        jr = rate(job_time),
        ct = calls_time.as_secs_f64(),
        cr = rate(calls_time),
        ratio = rate(job_time) / rate(calls_time),
        before = mib(rss_before),
        pj = mib(peak_job),
        pa = mib(peak_all),
    ))
}

/// Replaces the text between the results markers of `path`.
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

pub async fn run(args: impl Iterator<Item = String>) -> anyhow::Result<()> {
    let settings = settings(args)?;
    let write = settings.write.clone();
    let report = bench(settings).await?;
    println!("{report}");
    if let Some(path) = write {
        write_results(&path, &report)?;
        eprintln!("==> results written to {}", path.display());
    }
    Ok(())
}
