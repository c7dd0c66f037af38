//! `cargo xtask sigv4-vectors`: AWS's SigV4 test suite, from the pinned botocore sdist, into `target/sigv4-testsuite/`.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};

/// Where the suite lands; `tests/sigv4_vectors.rs` reads it from here.
const DEST: &str = "target/sigv4-testsuite";

/// Fetches the sdist through PyPI's JSON API (pip would build the package just to download it),
/// checks its SHA-256 against PyPI's, and extracts only the suite, refusing unsafe members.
const FETCH: &str = r#"
import hashlib, io, json, os, sys, tarfile, urllib.error, urllib.parse, urllib.request
version, dest = sys.argv[1], sys.argv[2]
def files(url, pick):
    with urllib.request.urlopen(url, timeout=120) as r:
        return [dict(f, url=urllib.parse.urljoin(url, f["url"])) for f in pick(json.load(r))]
try:
    found = files(f"https://pypi.org/pypi/botocore/{version}/json", lambda m: m["urls"])
except urllib.error.HTTPError:
    # Some PyPI mirrors serve only the project-level document.
    found = files("https://pypi.org/pypi/botocore/json", lambda m: m["releases"].get(version, []))
sdists = [f for f in found if f["packagetype"] == "sdist"]
if not sdists:
    sys.exit(f"botocore {version} has no sdist on PyPI")
with urllib.request.urlopen(sdists[0]["url"], timeout=300) as r:
    data = r.read()
if hashlib.sha256(data).hexdigest() != sdists[0]["digests"]["sha256"]:
    sys.exit("botocore sdist: sha256 does not match PyPI's")
marker = "/tests/unit/auth/aws4_testsuite/"
count = 0
with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
    for m in tar.getmembers():
        if marker not in m.name or not m.isfile():
            continue
        rel = m.name.split(marker, 1)[1]
        parts = rel.split("/")
        if rel.startswith("/") or ".." in parts:
            sys.exit(f"unsafe path in sdist: {m.name}")
        out = os.path.join(dest, *parts)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with tar.extractfile(m) as src, open(out, "wb") as dst:
            dst.write(src.read())
        count += 1
if count == 0:
    sys.exit("no aws4_testsuite files in the botocore sdist")
print(f"extracted {count} files")
"#;

/// The `botocore_version` pin from `model/operations.toml`.
fn pinned_version(root: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(root.join("model/operations.toml"))
        .context("reading model/operations.toml")?;
    for line in text.lines() {
        if let Some(rest) = line.trim().strip_prefix("botocore_version") {
            let value = rest.trim().trim_start_matches('=').trim().trim_matches('"');
            if !value.is_empty() {
                return Ok(value.to_owned());
            }
        }
    }
    bail!("no botocore_version in model/operations.toml")
}

pub fn run(root: &Path) -> anyhow::Result<()> {
    let version = pinned_version(root)?;
    let dest = root.join(DEST);
    let stamp = dest.join(".botocore-version");
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(version.as_str()) {
        println!("==> sigv4 test suite from botocore {version} already in {DEST}");
        return Ok(());
    }
    if dest.exists() {
        std::fs::remove_dir_all(&dest).with_context(|| format!("clearing {DEST}"))?;
    }
    println!("==> fetching the sigv4 test suite from botocore {version} (PyPI sdist) into {DEST}");
    let status = Command::new("python3")
        .args(["-c", FETCH, &version])
        .arg(&dest)
        .status()
        .context("running python3")?;
    if !status.success() {
        bail!("fetching the sigv4 test suite failed");
    }
    std::fs::write(&stamp, &version).with_context(|| format!("writing {}", stamp.display()))?;
    Ok(())
}
