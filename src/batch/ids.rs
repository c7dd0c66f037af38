//! Job ids and ARNs: `arn:aws:bedrock:{region}:{account}:model-invocation-job/{12 [a-z0-9]}`.

use std::fmt;

/// A job's id: 12 characters `[a-z0-9]`, as Bedrock issues them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId(String);

const ALPHABET: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";

impl JobId {
    /// A fresh random id.
    pub fn random() -> Self {
        let id = (0..12)
            .map(|_| char::from(ALPHABET[rand::random_range(0..ALPHABET.len())]))
            .collect();
        Self(id)
    }

    /// An id as the gateway issues them, or `None`.
    pub fn parse(id: &str) -> Option<Self> {
        (id.len() == 12 && id.bytes().all(|b| ALPHABET.contains(&b))).then(|| Self(id.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where the gateway's ARNs say jobs live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArnScope {
    pub region: String,
    /// 12 digits.
    pub account: String,
}

impl ArnScope {
    pub fn arn(&self, id: &JobId) -> String {
        format!(
            "arn:aws:bedrock:{}:{}:model-invocation-job/{id}",
            self.region, self.account
        )
    }

    /// `jobIdentifier`: the job's ARN or its bare id. An ARN naming another region or account
    /// names no job here. `None` when it is neither form.
    pub fn identify(&self, identifier: &str) -> Option<JobId> {
        match identifier.strip_prefix("arn:") {
            None => JobId::parse(identifier),
            Some(_) => {
                let id = identifier.rsplit_once("model-invocation-job/")?.1;
                let id = JobId::parse(id)?;
                (self.arn(&id) == identifier).then_some(id)
            }
        }
    }
}

/// The resource ARN of TagResource / UntagResource / ListTagsForResource, when it names a job.
pub fn job_of_resource(scope: &ArnScope, arn: &str) -> Option<JobId> {
    arn.starts_with("arn:")
        .then(|| scope.identify(arn))
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> ArnScope {
        ArnScope {
            region: "us-west-2".into(),
            account: "123456789012".into(),
        }
    }

    #[test]
    fn ids_are_twelve_lowercase_alphanumerics() {
        for _ in 0..100 {
            let id = JobId::random();
            assert_eq!(JobId::parse(id.as_str()), Some(id.clone()));
        }
        assert_eq!(JobId::parse("ABCDEFGHIJKL"), None);
        assert_eq!(JobId::parse("abc"), None);
    }

    #[test]
    fn identifiers_are_the_arn_or_the_bare_id() {
        let id = JobId::parse("abc123def456").unwrap();
        let arn = scope().arn(&id);
        assert_eq!(
            arn,
            "arn:aws:bedrock:us-west-2:123456789012:model-invocation-job/abc123def456"
        );
        assert_eq!(scope().identify(&arn), Some(id.clone()));
        assert_eq!(scope().identify("abc123def456"), Some(id));
        assert_eq!(
            scope().identify(
                "arn:aws:bedrock:eu-west-1:123456789012:model-invocation-job/abc123def456"
            ),
            None
        );
        assert_eq!(scope().identify("nope"), None);
    }
}
