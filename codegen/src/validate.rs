//! Validate stage: refuses models the emitters cannot serve faithfully, naming every problem.

use std::collections::BTreeSet;

use anyhow::bail;

use crate::ir::{Service, ShapeKind, Simple};

/// Checks dangling targets, unsupported traits and shapes, and operation constraints.
pub fn validate(svc: &Service) -> anyhow::Result<()> {
    let mut problems = Vec::new();
    for t in &svc.traits.unsupported {
        problems.push(format!("{}: unsupported trait {t}", svc.id));
    }
    let mut member_targets = BTreeSet::new();
    for shape in svc.shapes.values() {
        for t in &shape.traits.unsupported {
            problems.push(format!("{}: unsupported trait {t}", shape.id));
        }
        let members: Vec<_> = match &shape.kind {
            ShapeKind::List(m) => vec![m.as_ref()],
            ShapeKind::Map(k, v) => vec![k.as_ref(), v.as_ref()],
            ShapeKind::Structure(ms) | ShapeKind::Union(ms) => ms.iter().collect(),
            ShapeKind::IntEnum(_) => {
                problems.push(format!(
                    "{}: intEnum shapes are not supported yet",
                    shape.id
                ));
                vec![]
            }
            _ => vec![],
        };
        for m in members {
            for t in &m.traits.unsupported {
                problems.push(format!("{}${}: unsupported trait {t}", shape.id, m.name));
            }
            member_targets.insert(m.target.clone());
            match svc.shapes.get(&m.target) {
                None => problems.push(format!(
                    "{}${}: dangling target {}",
                    shape.id, m.name, m.target
                )),
                Some(target) => {
                    let event_stream =
                        matches!(target.kind, ShapeKind::Union(_)) && target.traits.streaming;
                    let streaming_blob = matches!(target.kind, ShapeKind::Simple(Simple::Blob))
                        && target.traits.streaming;
                    if (event_stream || streaming_blob) && !m.traits.http_payload {
                        problems.push(format!(
                            "{}${}: streaming members must be the HTTP payload",
                            shape.id, m.name
                        ));
                    }
                }
            }
        }
    }
    let errors: BTreeSet<_> = svc
        .operations
        .iter()
        .flat_map(|o| o.errors.iter().cloned())
        .collect();
    for op in &svc.operations {
        for t in &op.traits.unsupported {
            problems.push(format!("{}: unsupported trait {t}", op.id));
        }
        for (role, id) in [("input", &op.input), ("output", &op.output)] {
            let Some(id) = id else { continue };
            match svc.shapes.get(id).map(|s| &s.kind) {
                Some(ShapeKind::Structure(members)) => {
                    if member_targets.contains(id) {
                        problems.push(format!(
                            "{}: {role} {id} is also used as a member target",
                            op.id
                        ));
                    }
                    if role == "input" {
                        for m in members {
                            let target = svc.shapes.get(&m.target);
                            if target.is_some_and(|t| {
                                matches!(t.kind, ShapeKind::Union(_)) && t.traits.streaming
                            }) {
                                problems.push(format!(
                                    "{}: event-stream input {} is not supported",
                                    op.id, m.name
                                ));
                            }
                        }
                    }
                }
                _ => problems.push(format!(
                    "{}: {role} {id} is missing or not a structure",
                    op.id
                )),
            }
        }
        if !["GET", "PUT", "POST", "DELETE", "HEAD", "PATCH"].contains(&op.http.method.as_str()) {
            problems.push(format!(
                "{}: unsupported HTTP method {}",
                op.id, op.http.method
            ));
        }
    }
    for id in &errors {
        match svc.shapes.get(id) {
            Some(s) if s.traits.error.is_some() && matches!(s.kind, ShapeKind::Structure(_)) => {}
            Some(_) => problems.push(format!(
                "{id}: listed as an operation error but lacks smithy.api#error"
            )),
            None => problems.push(format!("{id}: dangling error target")),
        }
    }
    for shape in svc.shapes.values() {
        let mut patterns = vec![(shape.id.to_string(), shape.traits.pattern.as_ref())];
        if let ShapeKind::Structure(ms) | ShapeKind::Union(ms) = &shape.kind {
            patterns.extend(ms.iter().map(|m| {
                (
                    format!("{}${}", shape.id, m.name),
                    m.traits.pattern.as_ref(),
                )
            }));
        }
        for (at, p) in patterns {
            if let Some(p) = p
                && let Err(e) = regex::Regex::new(p)
            {
                problems.push(format!(
                    "{at}: pattern {p:?} is not supported by the regex crate: {e}"
                ));
            }
        }
    }
    // The generator answers NotImplemented and constraint violations with errors built from a
    // message alone; a modeled error of those names must allow that.
    for name in ["NotImplemented", "InvalidArgument", "ValidationException"] {
        let Some(shape) = svc
            .shapes
            .values()
            .find(|s| s.id.name == name && s.traits.error.is_some())
        else {
            continue;
        };
        if let ShapeKind::Structure(ms) = &shape.kind
            && ms
                .iter()
                .any(|m| m.traits.required && !m.name.eq_ignore_ascii_case("message"))
        {
            problems.push(format!(
                "{}: the generator builds this error from a message alone, but it has other required members",
                shape.id
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        bail!(
            "the model cannot be generated:\n  {}",
            problems.join("\n  ")
        )
    }
}
