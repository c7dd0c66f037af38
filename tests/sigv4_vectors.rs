//! AWS's SigV4 test suite (from botocore's sdist, fetched by `cargo xtask sigv4-vectors`) against our canonicalization, signing and verification.

// A test harness: unwrap is how it fails.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use http::{HeaderMap, HeaderName, HeaderValue};
use quarry::auth::{
    AccessKeyId, Credential, CredentialScope, Identity, KeyStore, PayloadHash, RequestView,
    SecretKey, canonical_request, parse_amz_date, signature, string_to_sign, verify_header,
};

const AKID: &str = "AKIDEXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const AMZ_DATE: &str = "20150830T123600Z";

/// Cases whose request target cannot be an `http::Uri` (the suite writes the path unencoded, and
/// a raw space is something no HTTP client puts on the wire), so only the string-level checks
/// run for them:
/// canonical request, string to sign and signature are still compared byte for byte.
const NOT_A_URI: &[(&str, &str)] = &[("get-space", "raw space in the path")];

struct Case {
    name: String,
    dir: PathBuf,
}

fn suite_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/sigv4-testsuite")
}

/// Every directory holding a `<name>.req`, however deeply nested (the suite groups some).
fn cases(dir: &Path, out: &mut Vec<Case>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.join(format!("{name}.req")).exists() {
                out.push(Case {
                    name,
                    dir: path.clone(),
                });
            }
            cases(&path, out);
        }
    }
}

struct RawRequest {
    method: String,
    target: String,
    /// Names as written, values with folded continuation lines joined by a space (RFC 7230's
    /// replacement for obs-fold; canonicalization then collapses the spaces).
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn parse_request(text: &str) -> RawRequest {
    let (head, body) = text.split_once("\n\n").unwrap_or((text, ""));
    let mut lines = head.lines();
    let request_line = lines.next().unwrap();
    let (method, rest) = request_line.split_once(' ').unwrap();
    let target = rest.strip_suffix(" HTTP/1.1").unwrap();
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in lines {
        if line.starts_with([' ', '\t']) {
            let last = headers.last_mut().unwrap();
            last.1.push(' ');
            last.1.push_str(line.trim_start());
        } else {
            let (name, value) = line.split_once(':').unwrap();
            headers.push((name.to_owned(), value.to_owned()));
        }
    }
    RawRequest {
        method: method.to_owned(),
        target: target.to_owned(),
        headers,
        body: body.as_bytes().to_vec(),
    }
}

fn read(case: &Case, ext: &str) -> String {
    let path = case.dir.join(format!("{}.{ext}", case.name));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `Credential=…, SignedHeaders=…, Signature=…` → (signed headers, signature).
fn parse_authz(authz: &str) -> (Vec<String>, String) {
    let mut signed = None;
    let mut sig = None;
    for part in authz.trim_start_matches("AWS4-HMAC-SHA256 ").split(',') {
        let (k, v) = part.trim().split_once('=').unwrap();
        match k {
            "SignedHeaders" => signed = Some(v.split(';').map(str::to_owned).collect()),
            "Signature" => sig = Some(v.to_owned()),
            "Credential" => {
                assert_eq!(v, format!("{AKID}/20150830/us-east-1/service/aws4_request"))
            }
            other => panic!("unexpected authz component {other}"),
        }
    }
    (signed.unwrap(), sig.unwrap())
}

#[test]
fn aws_sigv4_test_suite() {
    let dir = suite_dir();
    assert!(
        dir.is_dir(),
        "the SigV4 test suite is not at {}: run `cargo xtask sigv4-vectors`",
        dir.display()
    );
    let mut all = Vec::new();
    cases(&dir, &mut all);
    let secret = SecretKey::new(SECRET);
    let scope = CredentialScope {
        date: "20150830".to_owned(),
        region: "us-east-1".to_owned(),
        service: "service".to_owned(),
    };
    let mut keys = KeyStore::new();
    keys.insert(Credential {
        access_key_id: AccessKeyId::new(AKID),
        secret: secret.clone(),
        identity: Identity::new("suite"),
    });
    let now = UNIX_EPOCH + Duration::from_secs(parse_amz_date(AMZ_DATE).unwrap());

    let mut checked = 0;
    let mut verified_end_to_end = 0;
    let mut string_level_only = BTreeSet::new();
    for case in &all {
        let mut req = parse_request(&read(case, "req"));
        // The suite's signer adds the session token itself (see post-sts-token/readme.txt): the
        // `.sreq` shows the request as sent, so headers it has beyond the `.req` are added.
        let sreq = parse_request(&read(case, "sreq"));
        for (name, value) in sreq.headers {
            let lower = name.to_ascii_lowercase();
            let present = req
                .headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case(&name));
            if lower != "authorization" && !present {
                req.headers.push((name, value));
            }
        }
        let (signed, expected_sig) = parse_authz(&read(case, "authz"));
        let signed: Vec<&str> = signed.iter().map(String::as_str).collect();

        let mut headers = HeaderMap::new();
        for (name, value) in &req.headers {
            headers.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        let (path, query) = req.target.split_once('?').unwrap_or((&req.target, ""));
        let view = RequestView {
            method: &req.method,
            path,
            query,
            headers: &headers,
            authority: None,
        };
        let payload = PayloadHash::of_body(&req.body);
        let creq = canonical_request(&view, &signed, payload.as_str(), "service");
        assert_eq!(creq, read(case, "creq"), "{}: canonical request", case.name);
        let sts = string_to_sign(AMZ_DATE, &scope, &creq);
        assert_eq!(sts, read(case, "sts"), "{}: string to sign", case.name);
        assert_eq!(
            signature(&secret, &scope, &sts),
            expected_sig,
            "{}: signature",
            case.name
        );
        checked += 1;

        // End to end: the suite's Authorization header through verify_header.
        match req.target.parse::<http::Uri>() {
            Ok(uri) => {
                let mut builder = http::Request::builder()
                    .method(req.method.as_str())
                    .uri(uri);
                for (name, value) in headers.iter() {
                    builder = builder.header(name, value);
                }
                let authz = read(case, "authz");
                let (parts, ()) = builder
                    .header("authorization", authz.trim_end())
                    .body(())
                    .unwrap()
                    .into_parts();
                let identity = verify_header(
                    &parts,
                    &payload,
                    &keys,
                    now,
                    Duration::from_secs(300),
                    &["service"],
                )
                .unwrap_or_else(|e| panic!("{}: verify_header: {e:?}", case.name));
                assert_eq!(identity.key_name, "suite");
                // And the same request with one more byte in the body must fail.
                let mut other = req.body.clone();
                other.push(b'!');
                let err = verify_header(
                    &parts,
                    &PayloadHash::of_body(&other),
                    &keys,
                    now,
                    Duration::from_secs(300),
                    &["service"],
                );
                assert!(err.is_err(), "{}: tampered body accepted", case.name);
                verified_end_to_end += 1;
            }
            Err(_) => {
                string_level_only.insert(case.name.clone());
            }
        }
    }
    println!(
        "sigv4 test suite: {checked} cases checked (canonical request, string to sign, \
         signature), {verified_end_to_end} also verified end to end"
    );
    let expected_string_only: BTreeSet<String> =
        NOT_A_URI.iter().map(|(n, _)| (*n).to_owned()).collect();
    assert_eq!(
        string_level_only, expected_string_only,
        "cases not expressible as an http::Uri changed; update NOT_A_URI with a reason"
    );
    assert_eq!(checked, all.len());
    assert!(
        checked > 20,
        "only {checked} cases found in {}",
        dir.display()
    );
}
