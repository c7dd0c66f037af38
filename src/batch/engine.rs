//! The local batch engine: each record of a job through the provider's real-time adapter, with
//! bounded concurrency, a per-job rate limit and throttle retries; progress saved as it goes.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::driver::{Context, Ending, InputPlan};
use super::errors::BatchError;
use super::jobs::Job;
use super::record::{
    InputLine, InputRecord, InvocationType, Manifest, OutputRecord, RecordError, Translated,
    parse_line, usage_of,
};
use super::storage;
use crate::providers::{ErrorKind, ModelId, Provider, ProviderError};

/// Finished records are saved this many at a time (or every [`FLUSH_EVERY`]): one database
/// commit per record would cap a job at the disk's sync rate. A crash loses at most the unsaved
/// ones, which the resumed job runs again — never twice in the output.
const FLUSH_RECORDS: usize = 256;
const FLUSH_EVERY: Duration = Duration::from_millis(250);

/// Attempts at one record while the provider throttles.
const MAX_ATTEMPTS: u32 = 6;

/// Runs the records of `plan` not finished yet; returns how the run ended.
pub async fn run(
    ctx: &Context,
    job: &Job,
    plan: &InputPlan,
    provider: Arc<dyn Provider>,
    cancel: &CancellationToken,
) -> Result<Ending, BatchError> {
    let (finished, mut counts) = ctx.jobs.finished(&job.id).await?;
    counts.total_record_count = plan.total_records;
    ctx.jobs.set_counts(&job.id, counts).await?;
    let kind = job
        .spec
        .invocation_type
        .as_deref()
        .and_then(InvocationType::parse);
    let model = ModelId::new(job.spec.upstream_model.clone());
    let limiter = ctx.settings.requests_per_second.map(|rps| {
        let mut interval = tokio::time::interval(Duration::from_secs_f64(1.0 / rps));
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::sync::Mutex::new(interval)
    });
    let permits = Arc::new(Semaphore::new(ctx.settings.concurrency.get()));
    let (done_tx, mut done_rx) = tokio::sync::mpsc::channel::<(u64, OutputRecord)>(1024);

    // The collector saves finished records in batches while the feeder starts new ones.
    let collector = {
        let jobs = ctx.jobs.clone();
        let id = job.id.clone();
        async move {
            let mut pending = Vec::new();
            let mut ticker = tokio::time::interval(FLUSH_EVERY);
            loop {
                tokio::select! {
                    item = done_rx.recv() => match item {
                        Some((line, record)) => {
                            counts.add(&record);
                            pending.push((line, record));
                            if pending.len() >= FLUSH_RECORDS {
                                jobs.finish_records(&id, std::mem::take(&mut pending), counts).await?;
                            }
                        }
                        None => break,
                    },
                    _ = ticker.tick() => {
                        if !pending.is_empty() {
                            jobs.finish_records(&id, std::mem::take(&mut pending), counts).await?;
                        }
                    }
                }
            }
            if !pending.is_empty() {
                jobs.finish_records(&id, pending, counts).await?;
            }
            Ok::<Manifest, BatchError>(counts)
        }
    };

    let feeder = async {
        let mut ending = Ending::Finished;
        'files: for file in &plan.files {
            let lines = storage::lines(&ctx.store, &plan.namespace, &file.file).await?;
            let mut lines = std::pin::pin!(lines);
            let mut index = file.first_line;
            while let Some(line) = lines.next().await {
                let line = line.map_err(|e| {
                    BatchError::Internal(format!("reading {}: {e}", file.file.info.key))
                })?;
                let this = index;
                index += 1;
                if finished.contains(&this) {
                    continue;
                }
                if cancel.is_cancelled() {
                    ending = Ending::Cancelled;
                    break 'files;
                }
                if job.expiration_ms <= super::jobs::now_ms() {
                    ending = Ending::Expired;
                    break 'files;
                }
                let record = match line {
                    Err(len) => OutputRecord::failed(
                        super::record::filled_record_id(this),
                        serde_json::Value::Null,
                        RecordError::validation(format!(
                            "Line {} is {len} bytes, over the {} byte limit",
                            this + 1,
                            storage::MAX_LINE_BYTES
                        )),
                    ),
                    Ok(bytes) => match parse_line(&bytes, this) {
                        InputLine::Blank => continue,
                        InputLine::Invalid(record) => record,
                        InputLine::Record(record) => {
                            if let Some(limiter) = &limiter {
                                limiter.lock().await.tick().await;
                            }
                            let Ok(permit) = permits.clone().acquire_owned().await else {
                                break 'files;
                            };
                            let provider = provider.clone();
                            let done = done_tx.clone();
                            let model = model.clone();
                            let model_id = job.spec.model_id.clone();
                            tokio::spawn(async move {
                                let out = answer(&*provider, kind, &model, &model_id, record).await;
                                let _ = done.send((this, out)).await;
                                drop(permit);
                            });
                            continue;
                        }
                    },
                };
                if done_tx.send((this, record)).await.is_err() {
                    break 'files;
                }
            }
        }
        // Every permit back: the records in flight have finished.
        let _ = permits
            .acquire_many(u32::try_from(ctx.settings.concurrency.get()).unwrap_or(u32::MAX))
            .await;
        drop(done_tx);
        Ok::<Ending, BatchError>(ending)
    };
    let (ending, counts) = tokio::join!(feeder, collector);
    let counts = counts?;
    ctx.jobs.set_counts(&job.id, counts).await?;
    ending
}

/// One record through the provider, as the real-time call would go; throttles retried with
/// jittered backoff.
pub async fn answer(
    provider: &dyn Provider,
    kind: Option<InvocationType>,
    model: &ModelId,
    model_id: &str,
    record: InputRecord,
) -> OutputRecord {
    let InputRecord {
        record_id,
        model_input,
    } = record;
    let translated = match translate(kind, model, model_id, &model_input) {
        Ok(t) => t,
        Err(e) => return OutputRecord::failed(record_id, model_input, RecordError::from(&e)),
    };
    let mut attempt = 0;
    let result = loop {
        attempt += 1;
        match provider.converse(translated.call.clone()).await {
            Err(e) if retryable(&e) && attempt < MAX_ATTEMPTS => {
                let base = 100u64 << attempt.min(6);
                let jitter = rand::random_range(0..=base);
                tokio::time::sleep(Duration::from_millis(base + jitter)).await;
            }
            other => break other,
        }
    };
    match result.and_then(|out| Ok((translated.model_output(&out)?, usage_of(&out)))) {
        Ok((output, usage)) => OutputRecord {
            record_id,
            model_input,
            outcome: Ok(output),
            usage,
        },
        Err(e) => OutputRecord::failed(record_id, model_input, RecordError::from(&e)),
    }
}

/// `modelInput` read as the job's invocation type says; with none given, as an InvokeModel body
/// of the model's family, else (the files-and-batch seed writes Converse-shaped records without
/// naming the type) as a Converse request.
pub fn translate(
    kind: Option<InvocationType>,
    model: &ModelId,
    model_id: &str,
    model_input: &serde_json::Value,
) -> Result<Translated, ProviderError> {
    match kind {
        Some(kind) => Translated::new(kind, model, model_id, model_input),
        None => Translated::new(InvocationType::InvokeModel, model, model_id, model_input).or_else(
            |invoke_err| {
                Translated::new(InvocationType::Converse, model, model_id, model_input)
                    .map_err(|_| invoke_err)
            },
        ),
    }
}

fn retryable(e: &ProviderError) -> bool {
    matches!(
        e.kind,
        ErrorKind::Throttling | ErrorKind::ServiceUnavailable | ErrorKind::ModelNotReady
    )
}
