//! S3 subresources the gateway does not serve, refused as `NotImplemented` before routing: the
//! modeled operations would otherwise claim their paths (`PUT /b/k?tagging` is not a PutObject).

/// Query keys naming an S3 subresource or feature with no operation here.
const UNSERVED: &[&str] = &[
    "accelerate",
    "acl",
    "analytics",
    "attributes",
    "cors",
    "encryption",
    "intelligent-tiering",
    "inventory",
    "legal-hold",
    "lifecycle",
    "logging",
    "metadataConfiguration",
    "metadataTable",
    "metrics",
    "notification",
    "object-lock",
    "ownershipControls",
    "policy",
    "policyStatus",
    "publicAccessBlock",
    "renameObject",
    "replication",
    "requestPayment",
    "restore",
    "retention",
    "select",
    "session",
    "tagging",
    "torrent",
    "versioning",
    "versions",
    "website",
];

/// Why the request cannot be served, for a request naming an unserved subresource (or reading
/// one part of a multipart object); `None` for everything the modeled operations handle.
pub fn unserved(method: &http::Method, query: Option<&str>) -> Option<String> {
    let query = query?;
    let keys: Vec<&str> = query
        .split('&')
        .map(|pair| pair.split_once('=').map_or(pair, |(k, _)| k))
        .collect();
    if let Some(key) = keys.iter().find(|k| UNSERVED.contains(k)) {
        return Some(format!(
            "The ?{key} subresource is not implemented by this gateway"
        ));
    }
    let reads = method == http::Method::GET || method == http::Method::HEAD;
    if reads && keys.contains(&"partNumber") && !keys.contains(&"uploadId") {
        return Some(
            "Reading one part of an object (partNumber) is not implemented by this gateway"
                .to_owned(),
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Method;

    #[test]
    fn subresources_without_operations_are_refused() {
        for (method, query) in [
            (Method::PUT, "tagging"),
            (Method::DELETE, "tagging"),
            (Method::GET, "policy"),
            (Method::GET, "versions&prefix=a"),
            (Method::PUT, "acl="),
            (Method::HEAD, "partNumber=1"),
            (Method::GET, "x-id=GetObject&partNumber=2"),
        ] {
            assert!(
                unserved(&method, Some(query)).is_some(),
                "{method} ?{query}"
            );
        }
        let message = unserved(&Method::DELETE, Some("tagging")).unwrap();
        assert_eq!(
            message,
            "The ?tagging subresource is not implemented by this gateway"
        );
    }

    #[test]
    fn modeled_queries_pass() {
        for (method, query) in [
            (Method::GET, None),
            (Method::GET, Some("list-type=2&prefix=tagging")),
            (Method::POST, Some("delete")),
            (Method::POST, Some("uploads")),
            (Method::PUT, Some("partNumber=1&uploadId=abc")),
            (Method::GET, Some("location")),
            (Method::GET, Some("response-content-type=text%2Fplain")),
            (Method::GET, Some("versionId=null")),
        ] {
            assert_eq!(unserved(&method, query), None, "{method} {query:?}");
        }
    }
}
