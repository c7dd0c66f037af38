//! Matches request paths against Smithy URI templates, to pick a service when several share a prefix.

/// Whether `method` and `path` (percent-encoded, no query) fit one of `routes` (`(method, template)`).
pub fn matches_any(routes: &[(&str, &str)], method: &str, path: &str) -> bool {
    routes
        .iter()
        .any(|(m, t)| m.eq_ignore_ascii_case(method) && matches(t, path))
}

/// Whether `path` fits the template's path: `{label}` takes one non-empty segment, `{label+}` the rest.
pub fn matches(template: &str, path: &str) -> bool {
    let template = template.split('?').next().unwrap_or_default();
    let mut want = template.trim_start_matches('/').split('/').peekable();
    let mut got = path.trim_start_matches('/').split('/');
    while let Some(t) = want.next() {
        if t.starts_with('{') && t.ends_with("+}") {
            let rest: Vec<&str> = got.by_ref().collect();
            return want.peek().is_none() && !rest.is_empty() && !rest.concat().is_empty();
        }
        match got.next() {
            None => return false,
            Some(g) if t.starts_with('{') && t.ends_with('}') => {
                if g.is_empty() {
                    return false;
                }
            }
            Some(g) if g == t => {}
            Some(_) => return false,
        }
    }
    got.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_literals_and_greedy() {
        assert!(matches(
            "/model/{modelId}/converse",
            "/model/anthropic.claude%3A0/converse"
        ));
        assert!(!matches("/model/{modelId}/converse", "/model//converse"));
        assert!(!matches(
            "/model/{modelId}/converse",
            "/model/x/converse-stream"
        ));
        assert!(matches("/model-invocation-jobs", "/model-invocation-jobs"));
        assert!(!matches(
            "/model-invocation-jobs",
            "/model-invocation-job/x"
        ));
        assert!(matches("/{Bucket}/{Key+}?x-id=GetObject", "/b/a/b/c"));
        assert!(!matches("/{Bucket}/{Key+}", "/b"));
        assert!(matches("/", "/"));
        assert!(matches_any(
            &[("GET", "/foundation-models/{id}")],
            "get",
            "/foundation-models/x"
        ));
        assert!(!matches_any(
            &[("POST", "/foundation-models/{id}")],
            "GET",
            "/foundation-models/x"
        ));
    }
}
