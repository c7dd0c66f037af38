//! Wording of validation messages, checked against what AWS sends.

use super::*;

#[test]
fn one_missing_member_reads_like_aws() {
    let mut v = Violations::new();
    v.missing("messages");
    assert_eq!(
        v.message().as_deref(),
        Some(
            "1 validation error detected: Value null at 'messages' failed to satisfy constraint: Member must not be null"
        )
    );
}

#[test]
fn nested_paths_and_counts() {
    let mut v = Violations::new();
    v.enter("messages");
    v.enter_index(0);
    v.missing("role");
    v.leave();
    v.leave();
    v.enter("modelId");
    v.length("", false, 0, Some(1), Some(2048));
    v.leave();
    let msg = v.message().unwrap_or_default();
    assert!(
        msg.starts_with("2 validation errors detected: Value null at 'messages.1.member.role'"),
        "{msg}"
    );
    assert!(msg.ends_with("Value '' at 'modelId' failed to satisfy constraint: Member must have length greater than or equal to 1"), "{msg}");
}

#[test]
fn pattern_range_enum_and_redaction() {
    static P: Pattern = Pattern::new("^[a-z]+$");
    let mut v = Violations::new();
    v.enter("a");
    v.pattern("abc", false, &P);
    assert!(v.is_empty());
    v.pattern("ABC", true, &P);
    v.leave();
    v.enter("b");
    v.range(11.0, Some(0.0), Some(10.0));
    v.enum_value("x", &["user", "assistant"]);
    let msg = v.message().unwrap_or_default();
    assert!(msg.contains("Value '*** Sensitive Data Redacted ***' at 'a' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-z]+$"), "{msg}");
    assert!(msg.contains("Value '11' at 'b' failed to satisfy constraint: Member must have value less than or equal to 10"), "{msg}");
    assert!(
        msg.contains("Member must satisfy enum value set: [user, assistant]"),
        "{msg}"
    );
}
