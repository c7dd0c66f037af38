//! The job driver: one task per running job, on the local engine or a provider's batch API,
//! resumed when the gateway starts; it owns every status change after Submitted and writes the
//! output files and manifest.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures_util::StreamExt as _;
use quarry_bedrock::types::ModelInvocationJobStatus as Status;
use tokio_util::sync::CancellationToken;

use super::engine;
use super::errors::BatchError;
use super::ids::JobId;
use super::jobs::{Backend, Job, Jobs};
use super::native::{NativeBatches, NativeHandle, NativeInput, NativeJob};
use super::record::{InputLine, InvocationType, Manifest, OutputRecord, RecordError, parse_line};
use super::storage::{self, InputFile, S3Uri};
use crate::config::BatchConfig;
use crate::files::names::Namespace;
use crate::files::store::Store;
use crate::providers::{ModelId, ProviderId};
use crate::runtime::routing::Routes;

/// What every job task shares.
pub struct Context {
    pub jobs: Jobs,
    pub store: Store,
    pub routes: Arc<Routes>,
    pub natives: HashMap<ProviderId, Arc<dyn NativeBatches>>,
    pub settings: BatchConfig,
    running: Mutex<HashMap<JobId, CancellationToken>>,
    /// Local jobs run this many at a time.
    slots: Arc<tokio::sync::Semaphore>,
}

/// How a run of the records ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    Finished,
    Cancelled,
    Expired,
}

/// One input file and where its lines sit in the job's line numbering.
#[derive(Debug, Clone)]
pub struct PlannedFile {
    pub file: InputFile,
    pub first_line: u64,
    pub lines: u64,
}

/// A job's input, counted.
#[derive(Debug, Clone)]
pub struct InputPlan {
    pub namespace: Namespace,
    pub files: Vec<PlannedFile>,
    pub total_records: u64,
}

impl Context {
    pub fn new(
        jobs: Jobs,
        store: Store,
        routes: Arc<Routes>,
        natives: HashMap<ProviderId, Arc<dyn NativeBatches>>,
        settings: BatchConfig,
    ) -> Self {
        Self {
            jobs,
            store,
            routes,
            natives,
            running: Mutex::new(HashMap::new()),
            slots: Arc::new(tokio::sync::Semaphore::new(settings.max_running_jobs.get())),
            settings,
        }
    }

    /// Starts (or resumes) a job's task, unless it already runs.
    pub fn start(self: &Arc<Self>, job: Job) {
        let token = CancellationToken::new();
        {
            let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
            if running.contains_key(&job.id) {
                return;
            }
            running.insert(job.id.clone(), token.clone());
        }
        let ctx = self.clone();
        tokio::spawn(async move {
            let id = job.id.clone();
            if let Err(e) = ctx.drive(job, &token).await {
                tracing::error!(job = %id, error = %e, "batch job failed");
                let _ = ctx
                    .jobs
                    .set_status(&id, Status::Failed, Some(e.to_string()))
                    .await;
            }
            ctx.running
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&id);
        });
    }

    /// Resumes every job a previous run left unfinished.
    pub async fn resume(self: &Arc<Self>) -> Result<usize, BatchError> {
        let jobs = self.jobs.active().await?;
        let n = jobs.len();
        for job in jobs {
            tracing::info!(job = %job.id, status = job.status.as_str(), "resuming batch job");
            self.start(job);
        }
        Ok(n)
    }

    /// Asks a running job to stop; `false` when no task runs it (it is then stopped here).
    pub fn cancel(&self, id: &JobId) -> bool {
        match self
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
        {
            Some(token) => {
                token.cancel();
                true
            }
            None => false,
        }
    }

    async fn drive(&self, job: Job, cancel: &CancellationToken) -> Result<(), BatchError> {
        if job.status == Status::Stopping {
            cancel.cancel();
        }
        let uri = S3Uri::parse(&job.spec.input_uri).map_err(BatchError::Validation)?;
        let namespace = Namespace::from_stored(&job.spec.namespace);
        let plan = match self.plan(&namespace, &uri, &job.spec.input_uri).await {
            Ok(plan) => plan,
            Err(BatchError::Validation(message)) => {
                self.jobs
                    .set_status(&job.id, Status::Failed, Some(message))
                    .await?;
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        if plan.total_records > self.settings.max_records {
            let message = format!(
                "The input holds {} records, over this gateway's limit of {} per job.",
                plan.total_records, self.settings.max_records
            );
            self.jobs
                .set_status(&job.id, Status::Failed, Some(message))
                .await?;
            return Ok(());
        }
        let ending = match job.spec.backend {
            Backend::Local => {
                let provider = self
                    .routes
                    .provider(&job.spec.provider)
                    .map_err(|e| BatchError::Validation(e.message))?
                    .clone();
                // Jobs beyond the engine's slots wait, Scheduled, as Bedrock queues them.
                let slot = match self.slots.clone().try_acquire_owned() {
                    Ok(slot) => slot,
                    Err(_) => {
                        self.jobs
                            .set_status(&job.id, Status::Scheduled, None)
                            .await?;
                        tokio::select! {
                            slot = self.slots.clone().acquire_owned() => slot
                                .map_err(|_| BatchError::Internal("the engine stopped".to_owned()))?,
                            () = cancel.cancelled() => {
                                self.jobs.set_status(&job.id, Status::Stopped, None).await?;
                                return Ok(());
                            }
                        }
                    }
                };
                self.jobs
                    .set_status(&job.id, Status::InProgress, None)
                    .await?;
                let ending = engine::run(self, &job, &plan, provider, cancel).await?;
                drop(slot);
                ending
            }
            Backend::Native => {
                let backend = self
                    .natives
                    .get(&ProviderId::new(job.spec.provider.clone()))
                    .cloned()
                    .ok_or_else(|| {
                        BatchError::Internal(format!(
                            "provider {} has no batch API configured",
                            job.spec.provider
                        ))
                    })?;
                match self.run_native(&job, &plan, &*backend, cancel).await? {
                    Some(ending) => ending,
                    None => return Ok(()),
                }
            }
        };
        self.finish(&job, &plan, ending).await
    }

    /// Counts the input's records (blank lines are not records), streaming.
    async fn plan(&self, ns: &Namespace, uri: &S3Uri, raw: &str) -> Result<InputPlan, BatchError> {
        let files = storage::resolve_input(&self.store, ns, uri, raw)
            .await
            .map_err(|e| match e {
                storage::InputError::Invalid(m) => BatchError::Validation(m),
                storage::InputError::Store(e) => e.into(),
            })?;
        let mut planned = Vec::new();
        let mut next = 0u64;
        let mut total = 0u64;
        for file in files {
            let lines = storage::lines(&self.store, ns, &file).await?;
            let mut lines = std::pin::pin!(lines);
            let mut count = 0u64;
            while let Some(line) = lines.next().await {
                let line = line.map_err(|e| BatchError::Internal(format!("reading input: {e}")))?;
                count += 1;
                if !matches!(&line, Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace)) {
                    total += 1;
                }
            }
            planned.push(PlannedFile {
                file,
                first_line: next,
                lines: count,
            });
            next += count;
        }
        Ok(InputPlan {
            namespace: ns.clone(),
            files: planned,
            total_records: total,
        })
    }

    /// Submits (once) and polls a provider batch; `None` when the job ended without output.
    async fn run_native(
        &self,
        job: &Job,
        plan: &InputPlan,
        backend: &dyn NativeBatches,
        cancel: &CancellationToken,
    ) -> Result<Option<Ending>, BatchError> {
        let (native_job, lines_by_id) = self.native_job(job, plan, backend).await?;
        let handle = match &job.native_handle {
            Some(h) => NativeHandle(h.clone()),
            None => {
                self.jobs
                    .set_status(&job.id, Status::Validating, None)
                    .await?;
                match backend.submit(&native_job).await {
                    Ok(handle) => {
                        self.jobs
                            .set_native_handle(&job.id, handle.0.clone())
                            .await?;
                        handle
                    }
                    Err(e) => {
                        self.jobs
                            .set_status(&job.id, Status::Failed, Some(e.message))
                            .await?;
                        return Ok(None);
                    }
                }
            }
        };
        let mut cancel_sent = false;
        let ending = loop {
            if cancel.is_cancelled() && !cancel_sent {
                cancel_sent = true;
                if let Err(e) = backend.cancel(&handle).await {
                    tracing::warn!(job = %job.id, error = %e, "cancelling the provider batch");
                }
                self.jobs
                    .set_status(&job.id, Status::Stopping, None)
                    .await?;
            }
            let status = match backend.poll(&handle).await {
                Ok(status) => status,
                Err(e) => {
                    // A failed poll is not a failed job: the batch still runs at the provider.
                    tracing::warn!(job = %job.id, error = %e, "polling the provider batch");
                    self.sleep(cancel, cancel_sent).await;
                    continue;
                }
            };
            match status.status {
                Status::Completed => break Ending::Finished,
                Status::Stopped => break Ending::Cancelled,
                Status::Expired => break Ending::Expired,
                Status::Failed => {
                    let message = status
                        .message
                        .unwrap_or_else(|| format!("The {} batch failed.", backend.name()));
                    self.jobs
                        .set_status(&job.id, Status::Failed, Some(message))
                        .await?;
                    return Ok(None);
                }
                running => {
                    if !cancel_sent && running != Status::Stopping {
                        self.jobs.set_status(&job.id, running, None).await?;
                    }
                    // The provider's progress, for GetModelInvocationJob while it runs.
                    if let Some(processed) = status.processed {
                        let failed = status.failed.unwrap_or(0).min(processed);
                        let (_, prior) = self.jobs.finished(&job.id).await?;
                        let counts = Manifest {
                            total_record_count: plan.total_records,
                            processed_record_count: prior.processed_record_count + processed,
                            success_record_count: prior.success_record_count + processed - failed,
                            error_record_count: prior.error_record_count + failed,
                            ..Manifest::default()
                        };
                        self.jobs.set_counts(&job.id, counts).await?;
                    }
                }
            }
            self.sleep(cancel, cancel_sent).await;
        };
        let records = backend.results(&native_job, &handle).await.map_err(|e| {
            BatchError::Internal(format!(
                "reading the {} batch's results: {}",
                backend.name(),
                e.message
            ))
        })?;
        let mut counts = Manifest {
            total_record_count: plan.total_records,
            ..Manifest::default()
        };
        let (already, prior) = self.jobs.finished(&job.id).await?;
        counts.processed_record_count = prior.processed_record_count;
        counts.success_record_count = prior.success_record_count;
        counts.error_record_count = prior.error_record_count;
        let mut extra = plan.files.last().map_or(0, |f| f.first_line + f.lines);
        let mut rows = Vec::with_capacity(records.len());
        for record in records {
            let line = match lines_by_id.get(&record.record_id) {
                Some(line) => *line,
                None => {
                    extra += 1;
                    extra - 1
                }
            };
            if already.contains(&line) {
                continue;
            }
            counts.add(&record);
            rows.push((line, record));
        }
        self.jobs.finish_records(&job.id, rows, counts).await?;
        Ok(Some(ending))
    }

    async fn sleep(&self, cancel: &CancellationToken, cancel_sent: bool) {
        let wait = tokio::time::sleep(self.settings.poll_interval);
        if cancel_sent {
            wait.await;
        } else {
            tokio::select! {
                () = wait => {}
                () = cancel.cancelled() => {}
            }
        }
    }

    /// Reads the input for a provider batch: its own format as is, Bedrock records checked
    /// (invalid lines saved as error records right away).
    async fn native_job(
        &self,
        job: &Job,
        plan: &InputPlan,
        backend: &dyn NativeBatches,
    ) -> Result<(NativeJob, HashMap<String, u64>), BatchError> {
        let mut records = Vec::new();
        let mut native_lines = Vec::new();
        let mut invalid = Vec::new();
        let mut by_id = HashMap::new();
        let mut native: Option<bool> = None;
        for file in &plan.files {
            let lines = storage::lines(&self.store, &plan.namespace, &file.file).await?;
            let mut lines = std::pin::pin!(lines);
            let mut index = file.first_line;
            while let Some(line) = lines.next().await {
                let line = line.map_err(|e| BatchError::Internal(format!("reading input: {e}")))?;
                let this = index;
                index += 1;
                let Ok(bytes) = line else {
                    invalid.push((
                        this,
                        OutputRecord::failed(
                            super::record::filled_record_id(this),
                            serde_json::Value::Null,
                            RecordError::validation(format!("Line {} is too long", this + 1)),
                        ),
                    ));
                    continue;
                };
                if bytes.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                let is_native = *native.get_or_insert_with(|| {
                    serde_json::from_slice::<serde_json::Value>(&bytes)
                        .is_ok_and(|v| backend.is_native_line(&v))
                });
                if is_native {
                    match serde_json::from_slice::<serde_json::Value>(&bytes) {
                        Ok(value) => {
                            if let Some(id) = native_id(&value) {
                                by_id.entry(id).or_insert(this);
                            }
                            native_lines.push(value);
                        }
                        Err(e) => invalid.push((
                            this,
                            OutputRecord::failed(
                                super::record::filled_record_id(this),
                                serde_json::Value::String(
                                    String::from_utf8_lossy(&bytes).into_owned(),
                                ),
                                RecordError::validation(format!(
                                    "Line {} is not valid JSON: {e}",
                                    this + 1
                                )),
                            ),
                        )),
                    }
                    continue;
                }
                match parse_line(&bytes, this) {
                    InputLine::Record(record) => {
                        by_id.entry(record.record_id.clone()).or_insert(this);
                        records.push(record);
                    }
                    InputLine::Invalid(record) => invalid.push((this, record)),
                    InputLine::Blank => {}
                }
            }
        }
        if !invalid.is_empty() {
            let (done, mut counts) = self.jobs.finished(&job.id).await?;
            let fresh: Vec<_> = invalid
                .into_iter()
                .filter(|(l, _)| !done.contains(l))
                .collect();
            for (_, r) in &fresh {
                counts.add(r);
            }
            counts.total_record_count = plan.total_records;
            self.jobs.finish_records(&job.id, fresh, counts).await?;
        }
        let input = if native == Some(true) {
            let file_id = match plan.files.as_slice() {
                [only] => only.file.info.remote_id.clone(),
                _ => None,
            };
            NativeInput::Native {
                file_id,
                lines: native_lines,
            }
        } else {
            NativeInput::Bedrock(records)
        };
        Ok((
            NativeJob {
                job_id: job.id.to_string(),
                job_name: job.spec.name.clone(),
                model: ModelId::new(job.spec.upstream_model.clone()),
                model_id: job.spec.model_id.clone(),
                invocation_type: job
                    .spec
                    .invocation_type
                    .as_deref()
                    .and_then(InvocationType::parse)
                    .unwrap_or(InvocationType::InvokeModel),
                input,
            },
            by_id,
        ))
    }

    /// Writes the output files and the manifest, then the final status.
    async fn finish(&self, job: &Job, plan: &InputPlan, ending: Ending) -> Result<(), BatchError> {
        let (_, mut counts) = self.jobs.finished(&job.id).await?;
        counts.total_record_count = plan.total_records;
        let output = S3Uri::parse(&job.spec.output_uri).map_err(BatchError::Validation)?;
        let folder = S3Uri {
            bucket: output.bucket.clone(),
            key: output.child(job.id.as_str()),
        };
        let last = plan.files.len().saturating_sub(1);
        for (i, file) in plan.files.iter().enumerate() {
            // Records the provider answered beyond the input's lines go with the last file.
            let end = if i == last {
                u64::MAX
            } else {
                file.first_line + file.lines
            };
            let key = folder.child(&format!("{}.out", file.file.name()));
            let jobs = self.jobs.clone();
            let id = job.id.clone();
            let start = file.first_line;
            let chunks = futures_util::stream::unfold(
                (start.checked_sub(1), false),
                move |(after, done)| {
                    let jobs = jobs.clone();
                    let id = id.clone();
                    async move {
                        if done {
                            return None;
                        }
                        let page = match jobs.output_page(&id, after, 1000).await {
                            Ok(page) => page,
                            Err(e) => {
                                return Some((
                                    Err(crate::files::store::StoreError::Io(
                                        std::io::Error::other(e.to_string()),
                                    )),
                                    (after, true),
                                ));
                            }
                        };
                        let in_file: Vec<_> = page.into_iter().filter(|(l, _)| *l < end).collect();
                        if in_file.is_empty() {
                            return None;
                        }
                        let last = in_file.last().map(|(l, _)| *l);
                        let mut buf = Vec::new();
                        for (_, line) in in_file {
                            buf.extend_from_slice(line.as_bytes());
                            buf.push(b'\n');
                        }
                        Some((Ok(bytes::Bytes::from(buf)), (last, false)))
                    }
                },
            );
            storage::write_object(
                &self.store,
                &plan.namespace,
                &output.bucket,
                &key,
                "application/jsonl",
                chunks,
            )
            .await?;
        }
        storage::write_object(
            &self.store,
            &plan.namespace,
            &output.bucket,
            &folder.child("manifest.json.out"),
            "application/json",
            futures_util::stream::iter([Ok(bytes::Bytes::from(counts.to_json()))]),
        )
        .await?;
        self.jobs.set_counts(&job.id, counts).await?;
        let (status, message) = final_status(ending, &counts);
        self.jobs.set_status(&job.id, status, message).await?;
        self.jobs.forget_records(&job.id).await?;
        Ok(())
    }
}

/// The status a job ends in, from how it ended and what its records did.
pub fn final_status(ending: Ending, counts: &Manifest) -> (Status, Option<String>) {
    match ending {
        Ending::Cancelled => (Status::Stopped, None),
        Ending::Expired => (
            Status::Expired,
            Some("The job did not finish within its timeoutDurationInHours.".to_owned()),
        ),
        Ending::Finished if counts.processed_record_count == 0 => (
            Status::Failed,
            Some("The input holds no records.".to_owned()),
        ),
        Ending::Finished if counts.success_record_count == 0 => (
            Status::Failed,
            Some(format!(
                "None of the {} records succeeded; see the error records in the output.",
                counts.processed_record_count
            )),
        ),
        Ending::Finished if counts.error_record_count > 0 => (
            Status::PartiallyCompleted,
            Some(format!(
                "{} of {} records failed; see the error records in the output.",
                counts.error_record_count, counts.processed_record_count
            )),
        ),
        Ending::Finished => (Status::Completed, None),
    }
}

/// The id a provider-format line carries: OpenAI / Anthropic `custom_id`, Gemini `key` or
/// `metadata.key`.
fn native_id(line: &serde_json::Value) -> Option<String> {
    line.get("custom_id")
        .or_else(|| line.get("key"))
        .or_else(|| line.get("metadata").and_then(|m| m.get("key")))
        .and_then(|v| v.as_str())
        .map(str::to_owned)
}
