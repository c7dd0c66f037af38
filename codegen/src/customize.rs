//! Deliberate departures from AWS's models, applied to the IR before validation; each says why.
//!
//! `model/` stays exactly what botocore describes: the gateway's choices live here, where the next
//! engineer finds them next to their reasons.

use crate::ir::{Service, ShapeId};

/// String shapes whose `pattern` the gateway does not enforce on input.
const UNENFORCED_PATTERNS: &[(&str, &str)] = &[(
    "com.amazonaws.bedrock#RoleArn",
    "batch jobs off Bedrock take any roleArn: the files-and-batch seed sends \
     \"not-required-for-openai\", and the role is only used when a job is forwarded to Bedrock",
)];

/// Applies every customization that names a shape of `svc`.
pub fn apply(svc: &mut Service) -> anyhow::Result<()> {
    for (id, _why) in UNENFORCED_PATTERNS {
        let id = ShapeId::parse(id)?;
        if let Some(shape) = svc.shapes.get_mut(&id) {
            shape.traits.pattern = None;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_role_arn_pattern_of_the_bedrock_model_is_not_enforced() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../model/bedrock.json"
        ))
        .expect("model/bedrock.json");
        let model = crate::load::parse(&text).expect("the model parses");
        let mut svc = crate::ir::build(&model).expect("the IR builds");
        let id = ShapeId::parse("com.amazonaws.bedrock#RoleArn").expect("id");
        assert!(
            svc.shapes[&id].traits.pattern.is_some(),
            "the model still says what AWS says"
        );
        apply(&mut svc).expect("customize");
        assert_eq!(svc.shapes[&id].traits.pattern, None);
        // Lengths and every other shape's pattern stay.
        assert!(svc.shapes[&id].traits.length.is_some());
        let name = ShapeId::parse("com.amazonaws.bedrock#ModelInvocationJobName").expect("id");
        assert!(svc.shapes[&name].traits.pattern.is_some());
    }
}
