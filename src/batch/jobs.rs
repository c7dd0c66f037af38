//! The job table: what each job was asked to do, where it stands, its tags, and every record it
//! finished — all in the embedded database, so a restarted gateway resumes where it stopped.

use std::collections::HashSet;
use std::time::{SystemTime, UNIX_EPOCH};

use quarry_bedrock::types::ModelInvocationJobStatus as Status;
use rusqlite::{OptionalExtension as _, params};
use serde::{Deserialize, Serialize};

use super::ids::JobId;
use super::record::{Manifest, OutputRecord};
use crate::db::{Database, DbError};

/// Where a job runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// The gateway's own engine, record by record through the real-time adapters.
    Local,
    /// The provider's own batch API.
    Native,
}

/// What CreateModelInvocationJob asked for, after routing: fixed for the job's life.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobSpec {
    pub name: String,
    pub model_id: String,
    pub role_arn: String,
    pub input_uri: String,
    pub input_format: Option<String>,
    pub input_bucket_owner: Option<String>,
    pub output_uri: String,
    pub output_kms_key_id: Option<String>,
    pub output_bucket_owner: Option<String>,
    pub vpc_subnet_ids: Option<Vec<String>>,
    pub vpc_security_group_ids: Option<Vec<String>>,
    pub timeout_hours: i32,
    /// As the client gave it; `None` reads each record as InvokeModel, else Converse.
    pub invocation_type: Option<String>,
    /// The provider that runs the job and the model it is asked for.
    pub provider: String,
    pub upstream_model: String,
    pub backend: Backend,
    /// The file-store namespace the input is read from and the output written to.
    pub namespace: String,
}

/// A job as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: JobId,
    pub spec: JobSpec,
    pub client_request_token: Option<String>,
    pub status: Status,
    pub message: Option<String>,
    pub submit_ms: i64,
    pub last_modified_ms: i64,
    pub end_ms: Option<i64>,
    pub expiration_ms: i64,
    pub native_handle: Option<String>,
    /// Known once the input was read (total) and as records finish.
    pub counts: Option<Manifest>,
}

impl Job {
    pub fn is_terminal(&self) -> bool {
        is_terminal(&self.status)
    }
}

pub fn is_terminal(status: &Status) -> bool {
    matches!(
        status,
        Status::Completed
            | Status::PartiallyCompleted
            | Status::Failed
            | Status::Stopped
            | Status::Expired
    )
}

/// The outcome of an insert carrying a client request token.
#[derive(Debug, Clone, PartialEq)]
pub enum Inserted {
    New(Job),
    /// The token was used before, for the same request: that job.
    Existing(Job),
    /// The token was used before, for a different request.
    Conflict,
}

/// Which jobs to list and in what order.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub submit_after_ms: Option<i64>,
    pub submit_before_ms: Option<i64>,
    pub status: Option<Status>,
    pub name_contains: Option<String>,
    pub ascending: bool,
}

#[derive(Debug, Serialize, Deserialize)]
struct StoredCounts {
    total: u64,
    processed: u64,
    success: u64,
    error: u64,
    input_tokens: u64,
    output_tokens: u64,
}

impl From<&Manifest> for StoredCounts {
    fn from(m: &Manifest) -> Self {
        Self {
            total: m.total_record_count,
            processed: m.processed_record_count,
            success: m.success_record_count,
            error: m.error_record_count,
            input_tokens: m.input_token_count,
            output_tokens: m.output_token_count,
        }
    }
}

impl From<StoredCounts> for Manifest {
    fn from(c: StoredCounts) -> Self {
        Self {
            total_record_count: c.total,
            processed_record_count: c.processed,
            success_record_count: c.success,
            error_record_count: c.error,
            input_token_count: c.input_tokens,
            output_token_count: c.output_tokens,
        }
    }
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

const JOB_COLUMNS: &str = "id, spec, client_request_token, status, message, submit_ms, \
     last_modified_ms, end_ms, expiration_ms, native_handle, counts";

fn job_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Job> {
    let id: String = row.get(0)?;
    let spec: String = row.get(1)?;
    let status: String = row.get(3)?;
    let counts: Option<String> = row.get(10)?;
    let bad = |what: &str| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            format!("job {id}: unreadable {what}").into(),
        )
    };
    Ok(Job {
        id: JobId::parse(&id).ok_or_else(|| bad("id"))?,
        spec: serde_json::from_str(&spec).map_err(|_| bad("spec"))?,
        client_request_token: row.get(2)?,
        status: Status::from(status.as_str()),
        message: row.get(4)?,
        submit_ms: row.get(5)?,
        last_modified_ms: row.get(6)?,
        end_ms: row.get(7)?,
        expiration_ms: row.get(8)?,
        native_handle: row.get(9)?,
        counts: counts
            .and_then(|c| serde_json::from_str::<StoredCounts>(&c).ok())
            .map(Manifest::from),
    })
}

fn counts_json(m: &Manifest) -> String {
    serde_json::to_string(&StoredCounts::from(m)).unwrap_or_default()
}

/// The job table, over the gateway's database.
#[derive(Debug, Clone)]
pub struct Jobs {
    db: Database,
}

impl Jobs {
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    /// Inserts a new `Submitted` job, unless its client request token was seen before.
    pub async fn insert(
        &self,
        spec: JobSpec,
        token: Option<String>,
        fingerprint: String,
        tags: Vec<(String, String)>,
    ) -> Result<Inserted, DbError> {
        self.db
            .call(move |conn| {
                let tx =
                    conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                if let Some(token) = &token {
                    let seen: Option<(String, String)> = tx
                        .query_row(
                            "SELECT id, fingerprint FROM jobs WHERE client_request_token = ?1",
                            params![token],
                            |r| Ok((r.get(0)?, r.get(1)?)),
                        )
                        .optional()?;
                    if let Some((id, seen_fingerprint)) = seen {
                        if seen_fingerprint != fingerprint {
                            return Ok(Inserted::Conflict);
                        }
                        let job = tx.query_row(
                            &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?1"),
                            params![id],
                            job_row,
                        )?;
                        return Ok(Inserted::Existing(job));
                    }
                }
                let now = now_ms();
                let job = Job {
                    id: JobId::random(),
                    client_request_token: token,
                    status: Status::Submitted,
                    message: None,
                    submit_ms: now,
                    last_modified_ms: now,
                    end_ms: None,
                    expiration_ms: now + i64::from(spec.timeout_hours) * 3_600_000,
                    native_handle: None,
                    counts: None,
                    spec,
                };
                tx.execute(
                    "INSERT INTO jobs (id, name, spec, client_request_token, fingerprint, status, \
                     submit_ms, last_modified_ms, expiration_ms) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                    params![
                        job.id.as_str(),
                        job.spec.name,
                        serde_json::to_string(&job.spec).unwrap_or_default(),
                        job.client_request_token,
                        fingerprint,
                        job.status.as_str(),
                        job.submit_ms,
                        job.last_modified_ms,
                        job.expiration_ms,
                    ],
                )?;
                for (key, value) in &tags {
                    tx.execute(
                        "INSERT OR REPLACE INTO job_tags (job_id, key, value) VALUES (?1, ?2, ?3)",
                        params![job.id.as_str(), key, value],
                    )?;
                }
                tx.commit()?;
                Ok(Inserted::New(job))
            })
            .await
    }

    pub async fn get(&self, id: &JobId) -> Result<Option<Job>, DbError> {
        let id = id.clone();
        self.db
            .call(move |conn| {
                Ok(conn
                    .query_row(
                        &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?1"),
                        params![id.as_str()],
                        job_row,
                    )
                    .optional()?)
            })
            .await
    }

    /// Up to `limit` jobs matching `filter` after `cursor` (the `(submit_ms, id)` of the last
    /// job of the previous page), in submit-time order.
    pub async fn list(
        &self,
        filter: ListFilter,
        cursor: Option<(i64, String)>,
        limit: usize,
    ) -> Result<Vec<Job>, DbError> {
        self.db
            .call(move |conn| {
                let (op, order) = if filter.ascending {
                    (">", "ASC")
                } else {
                    ("<", "DESC")
                };
                let mut sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE 1 = 1");
                let mut args: Vec<rusqlite::types::Value> = Vec::new();
                if let Some((ms, id)) = cursor {
                    sql.push_str(&format!(
                        " AND (submit_ms {op} ?{n} OR (submit_ms = ?{n} AND id {op} ?{m}))",
                        n = args.len() + 1,
                        m = args.len() + 2
                    ));
                    args.push(ms.into());
                    args.push(id.into());
                }
                if let Some(after) = filter.submit_after_ms {
                    sql.push_str(&format!(" AND submit_ms > ?{}", args.len() + 1));
                    args.push(after.into());
                }
                if let Some(before) = filter.submit_before_ms {
                    sql.push_str(&format!(" AND submit_ms < ?{}", args.len() + 1));
                    args.push(before.into());
                }
                if let Some(status) = &filter.status {
                    sql.push_str(&format!(" AND status = ?{}", args.len() + 1));
                    args.push(status.as_str().to_owned().into());
                }
                if let Some(part) = &filter.name_contains {
                    // instr, not LIKE: `%` and `_` in a name are literal.
                    sql.push_str(&format!(" AND instr(name, ?{}) > 0", args.len() + 1));
                    args.push(part.clone().into());
                }
                sql.push_str(&format!(
                    " ORDER BY submit_ms {order}, id {order} LIMIT {limit}"
                ));
                let mut stmt = conn.prepare(&sql)?;
                let jobs = stmt
                    .query_map(rusqlite::params_from_iter(args), job_row)?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(jobs)
            })
            .await
    }

    /// Jobs not in a terminal state: what a starting gateway resumes.
    pub async fn active(&self) -> Result<Vec<Job>, DbError> {
        self.db
            .call(|conn| {
                let mut stmt = conn.prepare(&format!(
                    "SELECT {JOB_COLUMNS} FROM jobs WHERE status NOT IN \
                     ('Completed', 'PartiallyCompleted', 'Failed', 'Stopped', 'Expired') \
                     ORDER BY submit_ms"
                ))?;
                let jobs = stmt
                    .query_map([], job_row)?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(jobs)
            })
            .await
    }

    /// Moves a job to `status`, unless it already reached a terminal one (a Stop racing the
    /// job's end never reopens it). Returns whether it moved.
    pub async fn set_status(
        &self,
        id: &JobId,
        status: Status,
        message: Option<String>,
    ) -> Result<bool, DbError> {
        let id = id.clone();
        self.db
            .call(move |conn| {
                let now = now_ms();
                let end = is_terminal(&status).then_some(now);
                let changed = conn.execute(
                    "UPDATE jobs SET status = ?2, message = COALESCE(?3, message), \
                     last_modified_ms = ?4, end_ms = COALESCE(?5, end_ms) \
                     WHERE id = ?1 AND status NOT IN \
                     ('Completed', 'PartiallyCompleted', 'Failed', 'Stopped', 'Expired')",
                    params![id.as_str(), status.as_str(), message, now, end],
                )?;
                Ok(changed > 0)
            })
            .await
    }

    pub async fn set_counts(&self, id: &JobId, counts: Manifest) -> Result<(), DbError> {
        let id = id.clone();
        self.db
            .call(move |conn| {
                conn.execute(
                    "UPDATE jobs SET counts = ?2 WHERE id = ?1",
                    params![id.as_str(), counts_json(&counts)],
                )?;
                Ok(())
            })
            .await
    }

    pub async fn set_native_handle(&self, id: &JobId, handle: String) -> Result<(), DbError> {
        let id = id.clone();
        self.db
            .call(move |conn| {
                conn.execute(
                    "UPDATE jobs SET native_handle = ?2, last_modified_ms = ?3 WHERE id = ?1",
                    params![id.as_str(), handle, now_ms()],
                )?;
                Ok(())
            })
            .await
    }

    /// Records finished records (by input line) in one transaction, and the job's new counts.
    pub async fn finish_records(
        &self,
        id: &JobId,
        records: Vec<(u64, OutputRecord)>,
        counts: Manifest,
    ) -> Result<(), DbError> {
        let id = id.clone();
        self.db
            .call(move |conn| {
                let tx = conn.transaction()?;
                {
                    let mut stmt = tx.prepare_cached(
                        "INSERT OR REPLACE INTO job_records \
                         (job_id, line, ok, input_tokens, output_tokens, output) \
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    )?;
                    for (line, record) in &records {
                        stmt.execute(params![
                            id.as_str(),
                            i64::try_from(*line).unwrap_or(i64::MAX),
                            record.outcome.is_ok(),
                            i64::try_from(record.usage.input).unwrap_or(0),
                            i64::try_from(record.usage.output).unwrap_or(0),
                            String::from_utf8_lossy(&record.to_line()),
                        ])?;
                    }
                }
                tx.execute(
                    "UPDATE jobs SET counts = ?2, last_modified_ms = ?3 WHERE id = ?1",
                    params![id.as_str(), counts_json(&counts), now_ms()],
                )?;
                tx.commit()?;
                Ok(())
            })
            .await
    }

    /// The input lines already finished, and the counts they add up to.
    pub async fn finished(&self, id: &JobId) -> Result<(HashSet<u64>, Manifest), DbError> {
        let id = id.clone();
        self.db
            .call(move |conn| {
                let mut stmt = conn.prepare(
                    "SELECT line, ok, input_tokens, output_tokens FROM job_records WHERE job_id = ?1",
                )?;
                let mut lines = HashSet::new();
                let mut counts = Manifest::default();
                let rows = stmt.query_map(params![id.as_str()], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, bool>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, i64>(3)?,
                    ))
                })?;
                for row in rows {
                    let (line, ok, input, output) = row?;
                    lines.insert(u64::try_from(line).unwrap_or(0));
                    counts.processed_record_count += 1;
                    if ok {
                        counts.success_record_count += 1;
                    } else {
                        counts.error_record_count += 1;
                    }
                    counts.input_token_count += u64::try_from(input).unwrap_or(0);
                    counts.output_token_count += u64::try_from(output).unwrap_or(0);
                }
                Ok((lines, counts))
            })
            .await
    }

    /// Output lines of finished records, in input order, `limit` at a time after line `after`.
    pub async fn output_page(
        &self,
        id: &JobId,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<(u64, String)>, DbError> {
        let id = id.clone();
        self.db
            .call(move |conn| {
                let mut stmt = conn.prepare_cached(
                    "SELECT line, output FROM job_records WHERE job_id = ?1 AND line > ?2 \
                     ORDER BY line LIMIT ?3",
                )?;
                let after = after.map_or(-1, |a| i64::try_from(a).unwrap_or(i64::MAX));
                let rows = stmt
                    .query_map(
                        params![id.as_str(), after, i64::try_from(limit).unwrap_or(1000)],
                        |r| Ok((u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0), r.get(1)?)),
                    )?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(rows)
            })
            .await
    }

    /// Drops a finished job's per-record rows once its output file holds them.
    pub async fn forget_records(&self, id: &JobId) -> Result<(), DbError> {
        let id = id.clone();
        self.db
            .call(move |conn| {
                conn.execute(
                    "DELETE FROM job_records WHERE job_id = ?1",
                    params![id.as_str()],
                )?;
                Ok(())
            })
            .await
    }

    pub async fn tags(&self, id: &JobId) -> Result<Vec<(String, String)>, DbError> {
        let id = id.clone();
        self.db
            .call(move |conn| {
                let mut stmt =
                    conn.prepare("SELECT key, value FROM job_tags WHERE job_id = ?1 ORDER BY key")?;
                let tags = stmt
                    .query_map(params![id.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(tags)
            })
            .await
    }

    /// Adds or replaces tags, refusing (nothing written) when the job would hold more than `max`.
    pub async fn tag(
        &self,
        id: &JobId,
        tags: Vec<(String, String)>,
        max: usize,
    ) -> Result<bool, DbError> {
        let id = id.clone();
        self.db
            .call(move |conn| {
                let tx = conn.transaction()?;
                for (key, value) in &tags {
                    tx.execute(
                        "INSERT OR REPLACE INTO job_tags (job_id, key, value) VALUES (?1, ?2, ?3)",
                        params![id.as_str(), key, value],
                    )?;
                }
                let count: i64 = tx.query_row(
                    "SELECT COUNT(*) FROM job_tags WHERE job_id = ?1",
                    params![id.as_str()],
                    |r| r.get(0),
                )?;
                if usize::try_from(count).unwrap_or(usize::MAX) > max {
                    return Ok(false);
                }
                tx.commit()?;
                Ok(true)
            })
            .await
    }

    pub async fn untag(&self, id: &JobId, keys: Vec<String>) -> Result<(), DbError> {
        let id = id.clone();
        self.db
            .call(move |conn| {
                let tx = conn.transaction()?;
                for key in &keys {
                    tx.execute(
                        "DELETE FROM job_tags WHERE job_id = ?1 AND key = ?2",
                        params![id.as_str(), key],
                    )?;
                }
                tx.commit()?;
                Ok(())
            })
            .await
    }
}
