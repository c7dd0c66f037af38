//! The embedded SQLite database holding the gateway's durable state (objects, uploads, later jobs).

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::Connection;

/// Schema versions in order; `PRAGMA user_version` records how many have been applied, so a
/// database written by an older gateway is brought forward on open and never rewritten twice.
const MIGRATIONS: &[&str] = &[
    // 1: the files API.
    "CREATE TABLE buckets (
        namespace TEXT NOT NULL,
        name TEXT NOT NULL,
        created_ms INTEGER NOT NULL,
        PRIMARY KEY (namespace, name)
    ) WITHOUT ROWID;
    CREATE TABLE objects (
        namespace TEXT NOT NULL,
        bucket TEXT NOT NULL,
        key TEXT NOT NULL,
        body TEXT NOT NULL,
        size INTEGER NOT NULL,
        etag TEXT NOT NULL,
        last_modified_ms INTEGER NOT NULL,
        headers TEXT NOT NULL,
        metadata TEXT NOT NULL,
        checksum_algorithm TEXT,
        checksum TEXT,
        parts INTEGER,
        remote_id TEXT,
        PRIMARY KEY (namespace, bucket, key)
    ) WITHOUT ROWID;
    CREATE TABLE uploads (
        id TEXT PRIMARY KEY,
        namespace TEXT NOT NULL,
        bucket TEXT NOT NULL,
        key TEXT NOT NULL,
        initiated_ms INTEGER NOT NULL,
        headers TEXT NOT NULL,
        metadata TEXT NOT NULL,
        checksum_algorithm TEXT
    );
    CREATE INDEX uploads_by_key ON uploads (namespace, bucket, key, initiated_ms);
    CREATE TABLE parts (
        upload_id TEXT NOT NULL REFERENCES uploads (id) ON DELETE CASCADE,
        number INTEGER NOT NULL,
        body TEXT NOT NULL,
        size INTEGER NOT NULL,
        md5 BLOB NOT NULL,
        checksum TEXT,
        last_modified_ms INTEGER NOT NULL,
        PRIMARY KEY (upload_id, number)
    ) WITHOUT ROWID;",
    // 2: batch jobs, their tags, and each finished record (a resumed job skips those).
    "CREATE TABLE jobs (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        spec TEXT NOT NULL,
        client_request_token TEXT UNIQUE,
        fingerprint TEXT NOT NULL,
        status TEXT NOT NULL,
        message TEXT,
        submit_ms INTEGER NOT NULL,
        last_modified_ms INTEGER NOT NULL,
        end_ms INTEGER,
        expiration_ms INTEGER NOT NULL,
        native_handle TEXT,
        counts TEXT
    );
    CREATE INDEX jobs_by_submit ON jobs (submit_ms, id);
    CREATE TABLE job_tags (
        job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (job_id, key)
    ) WITHOUT ROWID;
    CREATE TABLE job_records (
        job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
        line INTEGER NOT NULL,
        ok INTEGER NOT NULL,
        input_tokens INTEGER NOT NULL,
        output_tokens INTEGER NOT NULL,
        output TEXT NOT NULL,
        PRIMARY KEY (job_id, line)
    ) WITHOUT ROWID;",
];

/// Why the database could not be opened or used.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database task failed: {0}")]
    Task(String),
    #[error(
        "database file {path} was written by a newer gateway (schema {found}, this one knows {known})"
    )]
    TooNew {
        path: String,
        found: usize,
        known: usize,
    },
}

/// One connection, used from blocking threads; statements are short, so a mutex is enough.
#[derive(Clone)]
pub struct Database {
    conn: Arc<Mutex<Connection>>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database").finish_non_exhaustive()
    }
}

impl Database {
    /// Opens (creating if needed) the database at `path` and applies pending migrations.
    pub fn open(path: &Path) -> Result<Self, DbError> {
        // SQLite answers "database is locked" at once, busy timeout or not, when two connections
        // would deadlock (two first opens both switching the file to WAL, say): the loser
        // starts over, a few times, as a second process starting on the same data dir would.
        let mut attempt = 0u32;
        loop {
            match Self::open_once(path) {
                Err(DbError::Sqlite(e))
                    if attempt < 50
                        && e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy) =>
                {
                    attempt += 1;
                    std::thread::sleep(std::time::Duration::from_millis(
                        10 + rand::random_range(0..40),
                    ));
                }
                other => return other,
            }
        }
    }

    fn open_once(path: &Path) -> Result<Self, DbError> {
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        // WAL lets readers proceed during a write; FULL syncs each commit, so an answered
        // PutObject survives a power cut.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", true)?;
        // The write lock is taken before the version is read, so two processes opening the same
        // file at once cannot both apply a migration.
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let applied: usize = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if applied > MIGRATIONS.len() {
            return Err(DbError::TooNew {
                path: path.display().to_string(),
                found: applied,
                known: MIGRATIONS.len(),
            });
        }
        for sql in MIGRATIONS.iter().skip(applied) {
            tx.execute_batch(sql)?;
        }
        tx.pragma_update(None, "user_version", MIGRATIONS.len())?;
        tx.commit()?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Runs `f` on the connection on this thread (startup, tests): it may block.
    pub fn call_blocking<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        let mut guard = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }

    /// Runs `f` on the connection on a blocking thread.
    pub async fn call<T, F>(&self, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, DbError> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            // A panic while holding the lock poisons it; the connection itself is still sound.
            let mut guard = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut guard)
        })
        .await
        .map_err(|e| DbError::Task(e.to_string()))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn migrates_once_and_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.db");
        let db = Database::open(&path).unwrap();
        db.call(|c| {
            c.execute(
                "INSERT INTO buckets (namespace, name, created_ms) VALUES ('local', 'b', 1)",
                [],
            )?;
            Ok(())
        })
        .await
        .unwrap();
        drop(db);
        let db = Database::open(&path).unwrap();
        let (version, count): (usize, i64) = db
            .call(|c| {
                let v = c.pragma_query_value(None, "user_version", |r| r.get(0))?;
                let n = c.query_row("SELECT count(*) FROM buckets", [], |r| r.get(0))?;
                Ok((v, n))
            })
            .await
            .unwrap();
        assert_eq!(version, MIGRATIONS.len());
        assert_eq!(
            count, 1,
            "reopening keeps the rows and does not re-run migrations"
        );
    }

    #[test]
    fn concurrent_first_opens_migrate_once() {
        // Several processes may start on one data dir; each open must succeed.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.db");
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(8));
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let (path, barrier) = (path.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    Database::open(&path).map(|_| ())
                })
            })
            .collect();
        for handle in handles {
            handle.join().unwrap().unwrap();
        }
        let version: usize = Connection::open(&path)
            .unwrap()
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, MIGRATIONS.len());
    }

    #[test]
    fn refuses_a_newer_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.db");
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", 99)
            .unwrap();
        let err = Database::open(&path).unwrap_err();
        assert!(matches!(err, DbError::TooNew { found: 99, .. }), "{err}");
    }
}
