//! Downloads the botocore wheel with pip and reads the service descriptions out of it.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, anyhow, bail};
use flate2::read::{DeflateDecoder, GzDecoder};
use serde_json::Value;

/// Service descriptions taken from one botocore release.
pub struct Botocore {
    /// The release actually downloaded (matters for `--latest`).
    pub version: String,
    /// botocore service name → parsed `service-2.json`.
    pub services: BTreeMap<String, Value>,
}

/// Downloads botocore (`version`, or the newest when `None`) and extracts `services`.
pub fn download(version: Option<&str>, services: &[String]) -> Result<Botocore> {
    let dir = TempDir::new()?;
    let requirement = match version {
        Some(v) => format!("botocore=={v}"),
        None => "botocore".to_owned(),
    };
    let output = Command::new("python3")
        .args([
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--quiet",
        ])
        .arg(&requirement)
        .arg("-d")
        .arg(&dir.0)
        .output()
        .context("running `python3 -m pip download` (are python3 and pip installed?)")?;
    if !output.status.success() {
        // pip's own message is at the end; earlier lines can list every release ever made.
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<String> = stderr
            .trim()
            .lines()
            .rev()
            .take(3)
            .map(|l| l.chars().take(300).collect())
            .collect();
        let tail: Vec<&str> = tail.iter().rev().map(String::as_str).collect();
        bail!(
            "`python3 -m pip download {requirement}` failed ({}):\n{}",
            output.status,
            tail.join("\n")
        );
    }
    let wheel = find_wheel(&dir.0)?;
    let file_name = wheel
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let version = wheel_version(file_name)?;
    let bytes = std::fs::read(&wheel).with_context(|| format!("reading {}", wheel.display()))?;
    let services = read_wheel(&bytes, services).with_context(|| format!("reading {file_name}"))?;
    Ok(Botocore { version, services })
}

/// Extracts `botocore/data/<service>/<newest api version>/service-2.json.gz` for each service.
pub fn read_wheel(wheel: &[u8], services: &[String]) -> Result<BTreeMap<String, Value>> {
    let entries = zip_entries(wheel)?;
    let mut out = BTreeMap::new();
    for service in services {
        // api-version directories are ISO dates, so the lexically greatest is the newest.
        let newest = entries
            .iter()
            .filter(|e| {
                let parts: Vec<&str> = e.name.split('/').collect();
                parts.len() == 5
                    && parts[0] == "botocore"
                    && parts[1] == "data"
                    && parts[2] == service
                    && parts[4] == "service-2.json.gz"
            })
            .max_by(|a, b| a.name.cmp(&b.name))
            .ok_or_else(|| {
                anyhow!("the wheel has no botocore/data/{service}/*/service-2.json.gz")
            })?;
        let gz = zip_read(wheel, newest)?;
        let mut json = String::new();
        GzDecoder::new(gz.as_slice())
            .read_to_string(&mut json)
            .with_context(|| format!("decompressing {}", newest.name))?;
        let value: Value =
            serde_json::from_str(&json).with_context(|| format!("parsing {}", newest.name))?;
        out.insert(service.clone(), value);
    }
    Ok(out)
}

fn find_wheel(dir: &Path) -> Result<PathBuf> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if name.starts_with("botocore-") && name.ends_with(".whl") {
            return Ok(path);
        }
    }
    bail!(
        "pip reported success but left no botocore-*.whl in {}",
        dir.display()
    )
}

/// `botocore-1.44.5-py3-none-any.whl` → `1.44.5`.
pub fn wheel_version(file_name: &str) -> Result<String> {
    file_name
        .strip_prefix("botocore-")
        .and_then(|rest| rest.split('-').next())
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("unexpected wheel file name `{file_name}`"))
}

/// A temporary directory removed on drop, so failures don't leave downloads behind.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<Self> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let path =
            std::env::temp_dir().join(format!("quarry-botocore-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(Self(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

// A minimal reader for the zip format (wheels are plain zips, stored or deflated, no zip64 at this
// size): only the central directory and local headers are needed to pull three files out, which
// avoids a dependency and unpacking the whole ~100 MB botocore data tree.
struct ZipEntry {
    name: String,
    method: u16,
    compressed_size: usize,
    local_header: usize,
}

fn u16_at(b: &[u8], at: usize) -> Result<u16> {
    b.get(at..at + 2)
        .map(|s| u16::from_le_bytes([s[0], s[1]]))
        .ok_or_else(|| anyhow!("truncated zip"))
}

fn u32_at(b: &[u8], at: usize) -> Result<usize> {
    b.get(at..at + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]) as usize)
        .ok_or_else(|| anyhow!("truncated zip"))
}

fn zip_entries(b: &[u8]) -> Result<Vec<ZipEntry>> {
    const EOCD: u32 = 0x0605_4b50;
    const CENTRAL: usize = 0x0201_4b50;
    // The end-of-central-directory record sits in the last 22 + (up to 65535 comment) bytes.
    let lowest = b.len().saturating_sub(22 + 0xffff);
    let eocd = (lowest..b.len().saturating_sub(21))
        .rev()
        .find(|&i| u32_at(b, i).ok() == Some(EOCD as usize))
        .ok_or_else(|| anyhow!("not a zip file (no end of central directory)"))?;
    let count = u16_at(b, eocd + 10)? as usize;
    let mut at = u32_at(b, eocd + 16)?;
    let mut entries = Vec::with_capacity(count);
    for _ in 0..count {
        if u32_at(b, at)? != CENTRAL {
            bail!("corrupt zip central directory at offset {at}");
        }
        let name_len = u16_at(b, at + 28)? as usize;
        let extra_len = u16_at(b, at + 30)? as usize;
        let comment_len = u16_at(b, at + 32)? as usize;
        let name = b
            .get(at + 46..at + 46 + name_len)
            .ok_or_else(|| anyhow!("truncated zip"))?;
        entries.push(ZipEntry {
            name: String::from_utf8_lossy(name).into_owned(),
            method: u16_at(b, at + 10)?,
            compressed_size: u32_at(b, at + 20)?,
            local_header: u32_at(b, at + 42)?,
        });
        at += 46 + name_len + extra_len + comment_len;
    }
    Ok(entries)
}

fn zip_read(b: &[u8], entry: &ZipEntry) -> Result<Vec<u8>> {
    let at = entry.local_header;
    if u32_at(b, at)? != 0x0403_4b50 {
        bail!("corrupt zip local header for {}", entry.name);
    }
    let start = at + 30 + u16_at(b, at + 26)? as usize + u16_at(b, at + 28)? as usize;
    let data = b
        .get(start..start + entry.compressed_size)
        .ok_or_else(|| anyhow!("truncated zip entry {}", entry.name))?;
    match entry.method {
        0 => Ok(data.to_vec()),
        8 => {
            let mut out = Vec::new();
            DeflateDecoder::new(data)
                .read_to_end(&mut out)
                .with_context(|| format!("inflating {}", entry.name))?;
            Ok(out)
        }
        m => bail!(
            "zip entry {} uses unsupported compression method {m}",
            entry.name
        ),
    }
}
