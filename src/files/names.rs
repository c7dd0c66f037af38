//! Bucket names, object keys and store namespaces, checked once where requests enter.

use std::fmt;

/// Which set of buckets a request sees: the local store, or one provider's file store.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Namespace(String);

impl Namespace {
    /// Buckets kept on the gateway's disk (the mock, Anthropic, Bedrock without an S3 bucket).
    pub fn local() -> Self {
        Self("local".to_owned())
    }

    /// The buckets (labels) of a provider with its own file store.
    pub fn provider(id: &str) -> Self {
        Self(format!("provider:{id}"))
    }

    /// A namespace as [`Self::as_str`] wrote it (batch jobs store theirs).
    pub fn from_stored(s: &str) -> Self {
        Self(s.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A bucket name following S3's rules for new buckets.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BucketName(String);

/// A name S3 would refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("The specified bucket is not valid.")]
    InvalidBucketName,
    #[error("Your key is too long")]
    KeyTooLong,
    #[error("Object keys may not be empty or contain the NUL character.")]
    InvalidKey,
}

impl NameError {
    pub fn s3_code(&self) -> &'static str {
        match self {
            Self::InvalidBucketName => "InvalidBucketName",
            Self::KeyTooLong => "KeyTooLongError",
            Self::InvalidKey => "InvalidArgument",
        }
    }
}

impl BucketName {
    /// 3–63 characters of lower-case letters, digits, `.` and `-`, starting and ending with a
    /// letter or digit, no `..`, not shaped like an IP address.
    pub fn parse(name: &str) -> Result<Self, NameError> {
        let bytes = name.as_bytes();
        let ok_len = (3..=63).contains(&bytes.len());
        let ok_chars = bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'.' || *b == b'-');
        let alnum =
            |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        let ip_like = name.split('.').count() == 4
            && name
                .split('.')
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        if ok_len
            && ok_chars
            && alnum(bytes.first())
            && alnum(bytes.last())
            && !name.contains("..")
            && !ip_like
        {
            Ok(Self(name.to_owned()))
        } else {
            Err(NameError::InvalidBucketName)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BucketName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An object key: 1 to 1024 bytes of UTF-8. Keys never become file paths (bodies are stored
/// under generated ids), so `..`, `/` and absolute-looking keys are just names.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectKey(String);

/// S3's limit on key length, in bytes of UTF-8.
pub const MAX_KEY_BYTES: usize = 1024;

impl ObjectKey {
    pub fn parse(key: &str) -> Result<Self, NameError> {
        if key.len() > MAX_KEY_BYTES {
            return Err(NameError::KeyTooLong);
        }
        // NUL cannot be written in an XML listing, so no client could ever read the key back.
        if key.is_empty() || key.contains('\0') {
            return Err(NameError::InvalidKey);
        }
        Ok(Self(key.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_rules() {
        for ok in [
            "your-s3-bucket",
            "openai-files",
            "abc",
            "a.b-c1",
            &"a".repeat(63),
        ] {
            assert!(BucketName::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "ab",
            &"a".repeat(64),
            "Upper",
            "-start",
            "end-",
            "a..b",
            "192.168.1.1",
            "under_score",
            "sp ace",
        ] {
            assert_eq!(
                BucketName::parse(bad),
                Err(NameError::InvalidBucketName),
                "{bad}"
            );
        }
    }

    #[test]
    fn key_rules() {
        for ok in ["a", "../../etc/passwd", "/abs", "a//b", "dir/é ü 中", "%2F"] {
            assert_eq!(ObjectKey::parse(ok).unwrap().as_str(), ok);
        }
        assert!(ObjectKey::parse(&"k".repeat(1024)).is_ok());
        assert_eq!(
            ObjectKey::parse(&"k".repeat(1025)),
            Err(NameError::KeyTooLong)
        );
        // 1024 bytes, not characters.
        assert_eq!(
            ObjectKey::parse(&"é".repeat(513)),
            Err(NameError::KeyTooLong)
        );
        assert_eq!(ObjectKey::parse("a\0b"), Err(NameError::InvalidKey));
        assert_eq!(ObjectKey::parse(""), Err(NameError::InvalidKey));
    }
}
