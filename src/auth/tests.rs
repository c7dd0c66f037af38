//! Sign→verify round trips, tampering, clock skew, bearer tokens, and agreement with the AWS SDK's own signer.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::request::Parts;

use super::sigv4::{presign_for_tests, sign_for_tests};
use super::*;

const AKID: &str = "AKIDQUARRYTEST";
const SECRET: &str = "s3cr3t/K7MDENG+bPxRfiCYEXAMPLEKEY";
/// 2024-03-07T12:00:00Z.
const T0: u64 = 1_709_812_800;
const SKEW: Duration = DEFAULT_MAX_SKEW;
const MODEL_PATH: &str = "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse";

fn store() -> KeyStore {
    let mut keys = KeyStore::new();
    keys.insert(Credential {
        access_key_id: AccessKeyId::new(AKID),
        secret: SecretKey::new(SECRET),
        identity: Identity::new("team-a"),
    });
    keys.insert_bearer(
        &BearerToken::new("qk-right-token"),
        Identity::new("bearer-team"),
    );
    keys
}

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

fn scope(service: &str) -> CredentialScope {
    CredentialScope {
        date: format_amz_date(T0)[..8].to_owned(),
        region: "us-west-2".to_owned(),
        service: service.to_owned(),
    }
}

fn head(method: &str, uri: &str, headers: &[(&str, &str)]) -> Parts {
    let mut builder = http::Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    builder.body(()).unwrap().into_parts().0
}

/// A Converse request signed the way boto3 signs it: service `bedrock`, body hash, no
/// `x-amz-content-sha256` header.
fn signed_converse(body: &[u8], secret: &str, time: u64) -> Parts {
    let mut parts = head(
        "POST",
        MODEL_PATH,
        &[
            ("host", "localhost:8080"),
            ("content-type", "application/json"),
            ("user-agent", "Boto3/1.39.0"),
        ],
    );
    sign_for_tests(
        &mut parts,
        PayloadHash::of_body(body).as_str(),
        AKID,
        &SecretKey::new(secret),
        &scope("bedrock"),
        time,
    );
    parts
}

fn verify_bedrock(parts: &Parts, body: &[u8], now: u64) -> Result<Identity, AuthError> {
    let payload = PayloadHash::for_body(&parts.headers, body).unwrap();
    verify_header(parts, &payload, &store(), at(now), SKEW, &["bedrock"])
}

const BODY: &[u8] = br#"{"messages":[{"role":"user","content":[{"text":"hi"}]}]}"#;

#[test]
fn bedrock_round_trip_with_double_encoded_model_id() {
    let parts = signed_converse(BODY, SECRET, T0);
    assert_eq!(verify_bedrock(&parts, BODY, T0).unwrap().key_name, "team-a");
    // The canonical URI is the wire path encoded again.
    assert_eq!(
        canonical_uri(MODEL_PATH, "bedrock"),
        "/model/anthropic.claude-3-haiku-20240307-v1%253A0/converse"
    );
}

#[test]
fn bedrock_single_encoded_signature_is_rejected() {
    // A signer that encodes the path only once (S3's rule) signs a different canonical URI, so
    // its signature must not pass for a Bedrock request.
    let mut parts = signed_converse(BODY, SECRET, T0);
    let good = parts.headers["authorization"].to_str().unwrap().to_owned();
    let signed_list = good
        .split("SignedHeaders=")
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .to_owned();
    let signed: Vec<&str> = signed_list.split(';').collect();
    let payload = PayloadHash::of_body(BODY);
    let canonical = canonical_request(
        &RequestView::from_parts(&parts),
        &signed,
        payload.as_str(),
        "s3",
    );
    assert!(canonical.contains("v1%3A0/converse\n"));
    let sc = scope("bedrock");
    let amz_date = format_amz_date(T0);
    let sig = signature(
        &SecretKey::new(SECRET),
        &sc,
        &string_to_sign(&amz_date, &sc, &canonical),
    );
    let single = format!(
        "{} Signature={sig}",
        good.rsplit_once(" Signature=").unwrap().0
    );
    assert_ne!(single, good);
    parts
        .headers
        .insert("authorization", single.parse().unwrap());
    assert!(matches!(
        verify_bedrock(&parts, BODY, T0),
        Err(AuthError::SignatureMismatch(_))
    ));
}

#[test]
fn body_changed_after_signing_is_rejected_for_bedrock() {
    let parts = signed_converse(BODY, SECRET, T0);
    let err = verify_bedrock(&parts, b"{\"messages\":[]}", T0).unwrap_err();
    assert_eq!(err.bedrock_code(), "InvalidSignatureException");
}

#[test]
fn wrong_secret_is_invalid_signature() {
    let parts = signed_converse(BODY, "not-the-secret", T0);
    let err = verify_bedrock(&parts, BODY, T0).unwrap_err();
    assert!(matches!(err, AuthError::SignatureMismatch(_)));
    assert_eq!(err.bedrock_code(), "InvalidSignatureException");
    assert_eq!(err.status(), 403);
    assert_eq!(err.message(), BEDROCK_SIGNATURE_MESSAGE);
    assert_eq!(err.s3_code(), "SignatureDoesNotMatch");
    assert_eq!(err.s3_status(), 403);
    let AuthError::SignatureMismatch(details) = err else {
        unreachable!()
    };
    assert!(details.canonical_request.contains("v1%253A0"));
    assert!(!format!("{details:?}").contains(SECRET));
}

#[test]
fn unknown_access_key_is_unrecognized_client() {
    let mut parts = head("POST", MODEL_PATH, &[("host", "localhost")]);
    sign_for_tests(
        &mut parts,
        PayloadHash::of_body(BODY).as_str(),
        "AKIDNOBODY",
        &SecretKey::new(SECRET),
        &scope("bedrock"),
        T0,
    );
    let err = verify_bedrock(&parts, BODY, T0).unwrap_err();
    assert_eq!(err.bedrock_code(), "UnrecognizedClientException");
    assert_eq!(
        err.message(),
        "The security token included in the request is invalid."
    );
    assert_eq!(err.s3_code(), "InvalidAccessKeyId");
}

#[test]
fn skew_beyond_limit_is_rejected_and_just_inside_is_accepted() {
    let skew = SKEW.as_secs();
    let parts = signed_converse(BODY, SECRET, T0);
    // Signed in the past.
    assert!(verify_bedrock(&parts, BODY, T0 + skew).is_ok());
    let err = verify_bedrock(&parts, BODY, T0 + skew + 1).unwrap_err();
    assert_eq!(err.bedrock_code(), "InvalidSignatureException");
    assert_eq!(err.s3_code(), "RequestTimeTooSkewed");
    assert_eq!(
        err.message(),
        "Signature expired: 20240307T120000Z is now earlier than 20240307T120001Z \
         (20240307T121501Z - 15 min.)"
    );
    // Signed in the future.
    assert!(verify_bedrock(&parts, BODY, T0 - skew).is_ok());
    let err = verify_bedrock(&parts, BODY, T0 - skew - 1).unwrap_err();
    assert!(matches!(err, AuthError::Skewed { future: true, .. }));
    assert!(err.message().starts_with("Signature not yet current: "));
}

#[test]
fn signed_header_tampered_is_rejected_unsigned_header_changed_is_accepted() {
    let mut parts = signed_converse(BODY, SECRET, T0);
    parts
        .headers
        .insert("content-type", "text/plain".parse().unwrap());
    assert!(matches!(
        verify_bedrock(&parts, BODY, T0),
        Err(AuthError::SignatureMismatch(_))
    ));

    let mut parts = signed_converse(BODY, SECRET, T0);
    parts
        .headers
        .insert("x-amzn-trace-id", "Root=1-abc".parse().unwrap());
    assert!(verify_bedrock(&parts, BODY, T0).is_ok());
}

#[test]
fn header_values_are_trimmed_and_collapsed_before_signing() {
    let mut parts = head(
        "GET",
        "/foundation-models",
        &[("host", "localhost"), ("x-custom", "a   b  c")],
    );
    sign_for_tests(
        &mut parts,
        PayloadHash::of_body(b"").as_str(),
        AKID,
        &SecretKey::new(SECRET),
        &scope("bedrock"),
        T0,
    );
    // A proxy re-spacing the value does not change its canonical form.
    parts
        .headers
        .insert("x-custom", "  a b     c ".parse().unwrap());
    assert!(verify_bedrock(&parts, b"", T0).is_ok());
    parts.headers.insert("x-custom", "a bc".parse().unwrap());
    assert!(verify_bedrock(&parts, b"", T0).is_err());
}

#[test]
fn missing_auth_is_missing_authentication_token() {
    let parts = head("POST", MODEL_PATH, &[("host", "localhost")]);
    let err = verify_bedrock(&parts, BODY, T0).unwrap_err();
    assert_eq!(err, AuthError::Missing);
    assert_eq!(err.bedrock_code(), "MissingAuthenticationTokenException");
    assert_eq!(err.message(), "Missing Authentication Token");
    assert_eq!(err.status(), 403);
    assert_eq!(err.s3_code(), "AccessDenied");
    assert_eq!(scheme(&parts), Scheme::None);
}

#[test]
fn garbled_authorization_is_incomplete_signature() {
    let parts = head(
        "POST",
        MODEL_PATH,
        &[
            ("host", "localhost"),
            ("x-amz-date", "20240307T120000Z"),
            (
                "authorization",
                "AWS4-HMAC-SHA256 Credential=AKID/20240307/us-east-1/bedrock/aws4_request",
            ),
        ],
    );
    let err = verify_bedrock(&parts, BODY, T0).unwrap_err();
    assert_eq!(err.bedrock_code(), "IncompleteSignatureException");
    assert!(
        err.message()
            .starts_with("Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter."),
        "{}",
        err.message()
    );
    assert_eq!(err.s3_code(), "AuthorizationHeaderMalformed");
    assert_eq!(err.s3_status(), 400);
}

#[test]
fn wrong_service_in_scope_is_rejected() {
    let mut parts = head("POST", MODEL_PATH, &[("host", "localhost")]);
    sign_for_tests(
        &mut parts,
        PayloadHash::of_body(BODY).as_str(),
        AKID,
        &SecretKey::new(SECRET),
        &scope("s3"),
        T0,
    );
    let err = verify_bedrock(&parts, BODY, T0).unwrap_err();
    assert_eq!(
        err.message(),
        "Credential should be scoped to correct service: 'bedrock'. "
    );
}

#[test]
fn any_region_is_accepted() {
    for region in ["us-east-1", "eu-central-1", "quarry-local"] {
        let mut parts = head("GET", "/foundation-models", &[("host", "localhost")]);
        let mut sc = scope("bedrock");
        sc.region = region.to_owned();
        sign_for_tests(
            &mut parts,
            PayloadHash::of_body(b"").as_str(),
            AKID,
            &SecretKey::new(SECRET),
            &sc,
            T0,
        );
        assert!(verify_bedrock(&parts, b"", T0).is_ok(), "{region}");
    }
}

fn signed_s3(method: &str, uri: &str, payload: &str) -> Parts {
    let mut parts = head(
        method,
        uri,
        &[
            ("host", "localhost:8080"),
            ("x-amz-content-sha256", payload),
        ],
    );
    sign_for_tests(
        &mut parts,
        payload,
        AKID,
        &SecretKey::new(SECRET),
        &scope("s3"),
        T0,
    );
    parts
}

fn verify_s3(parts: &Parts, now: u64) -> Result<Identity, AuthError> {
    let payload = PayloadHash::for_s3(&parts.headers)?;
    verify_header(parts, &payload, &store(), at(now), SKEW, &["s3"])
}

#[test]
fn s3_round_trip_single_encoding_with_spaces_and_unicode() {
    // `my key ü.txt` in bucket `b`, and a key with a double slash S3 must not normalize.
    for uri in [
        "/b/my%20key%20%C3%BC.txt",
        "/b/dir//x/./y.txt",
        "/b/a~b%21c?x-id=PutObject",
    ] {
        let body = b"hello";
        let parts = signed_s3("PUT", uri, PayloadHash::of_body(body).as_str());
        let payload = PayloadHash::for_s3(&parts.headers).unwrap();
        payload.check_body(body).unwrap();
        assert!(verify_s3(&parts, T0).is_ok(), "{uri}");
    }
    assert_eq!(
        canonical_uri("/b/my%20key%20%C3%BC.txt", "s3"),
        "/b/my%20key%20%C3%BC.txt"
    );
    assert_eq!(
        canonical_uri("/b/dir//x/./y.txt", "s3"),
        "/b/dir//x/./y.txt"
    );
    // Escaping an unreserved character is undone: S3 signs the key, not the client's escaping.
    assert_eq!(canonical_uri("/b/%7Ea", "s3"), "/b/~a");
    assert_eq!(
        canonical_uri("/b/dir//x/./y.txt", "bedrock"),
        "/b/dir/x/y.txt"
    );
}

#[test]
fn s3_unsigned_payload() {
    let parts = signed_s3("PUT", "/b/k", "UNSIGNED-PAYLOAD");
    assert!(verify_s3(&parts, T0).is_ok());
    let payload = PayloadHash::for_s3(&parts.headers).unwrap();
    // No digest to check against: any body passes.
    assert!(payload.check_body(b"anything").is_ok());
    assert!(!payload.is_streaming());
}

#[test]
fn s3_body_not_matching_claimed_hash_is_rejected() {
    let claimed = PayloadHash::of_body(b"hello");
    let parts = signed_s3("PUT", "/b/k", claimed.as_str());
    assert!(verify_s3(&parts, T0).is_ok());
    let err = PayloadHash::for_s3(&parts.headers)
        .unwrap()
        .check_body(b"HELLO")
        .unwrap_err();
    assert_eq!(err.s3_code(), "XAmzContentSHA256Mismatch");
    assert_eq!(err.s3_status(), 400);
}

#[test]
fn s3_content_sha256_must_be_present_and_valid() {
    let parts = head("PUT", "/b/k", &[("host", "localhost")]);
    assert_eq!(
        PayloadHash::for_s3(&parts.headers).unwrap_err().s3_code(),
        "InvalidRequest"
    );
    let parts = head(
        "PUT",
        "/b/k",
        &[("host", "localhost"), ("x-amz-content-sha256", "abc")],
    );
    assert_eq!(
        PayloadHash::for_s3(&parts.headers).unwrap_err(),
        AuthError::InvalidContentSha256
    );
}

#[test]
fn s3_skew_is_request_time_too_skewed() {
    let parts = signed_s3("GET", "/b/k", "UNSIGNED-PAYLOAD");
    let err = verify_s3(&parts, T0 + 3600).unwrap_err();
    assert_eq!(err.s3_code(), "RequestTimeTooSkewed");
    assert_eq!(
        err.s3_message(),
        "The difference between the request time and the current time is too large."
    );
}

#[test]
fn presigned_get_and_put_round_trip_and_expire() {
    for (method, uri) in [("GET", "/b/my%20key.txt"), ("PUT", "/b/up?partNumber=1")] {
        let mut parts = head(method, uri, &[("host", "localhost:8080")]);
        presign_for_tests(
            &mut parts,
            AKID,
            &SecretKey::new(SECRET),
            &scope("s3"),
            T0,
            600,
        );
        assert_eq!(scheme(&parts), Scheme::SigV4Query);
        let verify = |now| verify_presigned(&parts, &store(), at(now), SKEW, &["s3"]);
        assert_eq!(verify(T0 + 600).unwrap().key_name, "team-a", "{uri}");
        let err = verify(T0 + 601).unwrap_err();
        assert_eq!(err.s3_code(), "AccessDenied");
        assert_eq!(err.s3_message(), "Request has expired");
        // Dated too far ahead of our clock.
        assert!(matches!(
            verify(T0 - SKEW.as_secs() - 1),
            Err(AuthError::Skewed { future: true, .. })
        ));
    }
}

#[test]
fn presigned_tampered_query_is_rejected() {
    let mut parts = head("GET", "/b/k?versionId=1", &[("host", "localhost")]);
    presign_for_tests(
        &mut parts,
        AKID,
        &SecretKey::new(SECRET),
        &scope("s3"),
        T0,
        600,
    );
    let tampered = parts.uri.to_string().replace("versionId=1", "versionId=2");
    parts.uri = tampered.parse().unwrap();
    let err = verify_presigned(&parts, &store(), at(T0), SKEW, &["s3"]).unwrap_err();
    assert_eq!(err.s3_code(), "SignatureDoesNotMatch");
}

#[test]
fn presigned_expiry_longer_than_a_week_is_rejected() {
    let mut parts = head("GET", "/b/k", &[("host", "localhost")]);
    presign_for_tests(
        &mut parts,
        AKID,
        &SecretKey::new(SECRET),
        &scope("s3"),
        T0,
        MAX_PRESIGNED_EXPIRES + 1,
    );
    let err = verify_presigned(&parts, &store(), at(T0), SKEW, &["s3"]).unwrap_err();
    assert_eq!(err.s3_code(), "AuthorizationQueryParametersError");
}

#[test]
fn bearer_right_and_wrong_token() {
    let parts = head(
        "POST",
        MODEL_PATH,
        &[("authorization", "Bearer qk-right-token")],
    );
    assert_eq!(scheme(&parts), Scheme::Bearer);
    assert_eq!(
        verify_bearer(&parts, &store()).unwrap().key_name,
        "bearer-team"
    );
    for wrong in [
        "Bearer qk-right-tokem",
        "Bearer qk-right-token2",
        "Bearer ",
        "Bearer q",
    ] {
        let parts = head("POST", MODEL_PATH, &[("authorization", wrong)]);
        let err = verify_bearer(&parts, &store()).unwrap_err();
        assert_eq!(err, AuthError::InvalidBearerToken, "{wrong}");
        assert_eq!(err.status(), 403);
    }
    let parts = head("POST", MODEL_PATH, &[]);
    assert_eq!(
        verify_bearer(&parts, &store()).unwrap_err(),
        AuthError::Missing
    );
}

#[test]
fn debug_never_shows_secrets() {
    let secret = SecretKey::new(SECRET);
    let token = BearerToken::new("qk-right-token");
    let credential = Credential {
        access_key_id: AccessKeyId::new(AKID),
        secret: secret.clone(),
        identity: Identity::new("team-a"),
    };
    for text in [
        format!("{secret:?}"),
        format!("{token:?}"),
        format!("{credential:?}"),
        format!("{:?}", store()),
    ] {
        assert!(!text.contains(SECRET), "{text}");
        assert!(!text.contains("qk-right-token"), "{text}");
        assert!(!text.contains("s3cr3t"), "{text}");
    }
}

#[test]
fn dates_round_trip() {
    assert_eq!(format_amz_date(0), "19700101T000000Z");
    assert_eq!(format_amz_date(T0), "20240307T120000Z");
    assert_eq!(parse_amz_date("20240307T120000Z"), Some(T0));
    assert_eq!(
        parse_amz_date("20000229T235959Z")
            .map(format_amz_date)
            .as_deref(),
        Some("20000229T235959Z")
    );
    assert_eq!(parse_amz_date("2024-03-07T12:00:00Z"), None);
}

#[test]
fn date_header_is_accepted_without_x_amz_date() {
    let mut parts = head(
        "GET",
        "/foundation-models",
        &[
            ("host", "localhost"),
            ("date", "Thu, 07 Mar 2024 12:00:00 GMT"),
        ],
    );
    sign_for_tests(
        &mut parts,
        PayloadHash::of_body(b"").as_str(),
        AKID,
        &SecretKey::new(SECRET),
        &scope("bedrock"),
        T0,
    );
    // The test signer always adds x-amz-date; drop it (unsigned would break the signature, so
    // re-sign with only `date` present).
    parts.headers.remove("x-amz-date");
    let auth = parts.headers["authorization"]
        .to_str()
        .unwrap()
        .replace("date;host;x-amz-date", "date;host");
    assert!(auth.contains("SignedHeaders=date;host,"), "{auth}");
    parts.headers.remove("authorization");
    let sc = scope("bedrock");
    let signed = ["date", "host"];
    let canonical = canonical_request(
        &RequestView::from_parts(&parts),
        &signed,
        PayloadHash::of_body(b"").as_str(),
        "bedrock",
    );
    let sig = signature(
        &SecretKey::new(SECRET),
        &sc,
        &string_to_sign("20240307T120000Z", &sc, &canonical),
    );
    let auth = format!(
        "{} Signature={sig}",
        auth.rsplit_once(" Signature=").unwrap().0
    );
    parts.headers.insert("authorization", auth.parse().unwrap());
    assert!(verify_bedrock(&parts, b"", T0).is_ok());
    parts.headers.remove("date");
    let err = verify_bedrock(&parts, b"", T0).unwrap_err();
    assert_eq!(
        err.s3_message(),
        "AWS authentication requires a valid Date or x-amz-date header"
    );
}

// ---- The AWS SDK's own signer (aws-sigv4) against our verifier.

fn sdk_sign(
    request: &mut http::Request<Vec<u8>>,
    service: &str,
    body: aws_sigv4::http_request::SignableBody<'_>,
    settings: aws_sigv4::http_request::SigningSettings,
) {
    use aws_sigv4::http_request::{SignableRequest, sign};
    let identity = aws_credential_types::Credentials::new(AKID, SECRET, None, None, "test").into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region("eu-west-1")
        .name(service)
        .time(at(T0))
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let headers: Vec<(&str, &str)> = request
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str(), v.to_str().unwrap()))
        .collect();
    let uri = request.uri().to_string();
    let signable =
        SignableRequest::new(request.method().as_str(), uri, headers.into_iter(), body).unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    instructions.apply_to_request_http1x(request);
}

#[test]
fn aws_sdk_signer_bedrock_agrees() {
    use aws_sigv4::http_request::{SignableBody, SigningSettings};
    let mut request = http::Request::builder()
        .method("POST")
        .uri(format!(
            "https://bedrock-runtime.eu-west-1.amazonaws.com{MODEL_PATH}"
        ))
        .header("host", "bedrock-runtime.eu-west-1.amazonaws.com")
        .header("content-type", "application/json")
        .body(BODY.to_vec())
        .unwrap();
    // The SDK's defaults for non-S3 services: double encoding, path normalization, no header.
    let settings = SigningSettings::default();
    sdk_sign(&mut request, "bedrock", SignableBody::Bytes(BODY), settings);
    let (parts, body) = request.into_parts();
    assert!(parts.headers.get("x-amz-content-sha256").is_none());
    assert_eq!(
        verify_bedrock(&parts, &body, T0).unwrap().key_name,
        "team-a"
    );
    // And the SDK's signature is rejected once the body changes.
    assert!(verify_bedrock(&parts, b"{}", T0).is_err());
}

#[test]
fn aws_sdk_signer_s3_agrees() {
    use aws_sigv4::http_request::{
        PayloadChecksumKind, PercentEncodingMode, SignableBody, SigningSettings,
        UriPathNormalizationMode,
    };
    for key in [
        "/bucket/my%20key%20%C3%BC.txt",
        "/bucket/a//b/./c",
        "/bucket/x?tagging=",
    ] {
        let body = b"object body".to_vec();
        let mut request = http::Request::builder()
            .method("PUT")
            .uri(format!("http://localhost:8080{key}"))
            .header("host", "localhost:8080")
            .body(body.clone())
            .unwrap();
        let mut settings = SigningSettings::default();
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        sdk_sign(&mut request, "s3", SignableBody::Bytes(&body), settings);
        let (parts, body) = request.into_parts();
        assert_eq!(verify_s3(&parts, T0).unwrap().key_name, "team-a", "{key}");
        PayloadHash::for_s3(&parts.headers)
            .unwrap()
            .check_body(&body)
            .unwrap();
    }
}

#[test]
fn aws_sdk_presigned_s3_agrees() {
    use aws_sigv4::http_request::{
        PayloadChecksumKind, PercentEncodingMode, SignableBody, SignatureLocation, SigningSettings,
        UriPathNormalizationMode,
    };
    let mut request = http::Request::builder()
        .method("GET")
        .uri("http://localhost:8080/bucket/my%20key.txt?versionId=3")
        .header("host", "localhost:8080")
        .body(Vec::new())
        .unwrap();
    let mut settings = SigningSettings::default();
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    settings.payload_checksum_kind = PayloadChecksumKind::NoHeader;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(Duration::from_secs(900));
    sdk_sign(&mut request, "s3", SignableBody::UnsignedPayload, settings);
    let (parts, _) = request.into_parts();
    let ok = verify_presigned(&parts, &store(), at(T0 + 900), SKEW, &["s3"]);
    assert_eq!(ok.unwrap().key_name, "team-a");
    assert!(verify_presigned(&parts, &store(), at(T0 + 901), SKEW, &["s3"]).is_err());
}
