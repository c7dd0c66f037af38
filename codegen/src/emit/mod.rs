//! Emit stage: turns a validated IR service into the files of one generated crate.

mod error;
mod krate;
mod names;
mod operation;
mod service;
mod shapes;

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Context as _;

use crate::ir::{self, Member, Service, Shape, ShapeId, ShapeKind, Simple};

pub use self::names::{module, pascal, snake};

/// What the emitters need to know beyond the model.
#[derive(Debug, Clone)]
pub struct Options {
    /// The crate's package name, e.g. `quarry-s3`.
    pub crate_name: String,
    /// The model file, relative to the workspace root, named in every file header.
    pub model_file: String,
    /// The Rust name of the service trait, e.g. `BedrockRuntime`.
    pub service_name: String,
    /// A Quarry protocol that replaces the model's protocol on the wire: `(shape id, registry path)`.
    pub server_protocol: Option<(String, String)>,
    /// The package name of the hand-written runtime glue the generated crate depends on.
    pub runtime_path: String,
}

/// A generated file: path relative to the crate root, and its text before rustfmt.
#[derive(Debug, Clone)]
pub struct File {
    pub path: String,
    pub text: String,
}

/// Where a shape's Rust type lives and what it is called.
#[derive(Debug, Clone)]
enum Place {
    Type,
    Error,
    Input(String),
    Output(String),
}

/// Shared lookups for all emitters.
pub(crate) struct Ctx<'a> {
    svc: &'a Service,
    opts: &'a Options,
    places: BTreeMap<ShapeId, Place>,
    /// (structure, member) pairs that must be boxed to break a direct cycle.
    boxed: BTreeSet<(ShapeId, String)>,
    /// Event-stream error unions: union id → exception members.
    xml: bool,
    validation_error: ValidationError,
    /// Structures sent as an HTTP payload: XML document roots, so they carry the service namespace.
    payload_targets: BTreeSet<ShapeId>,
}

/// How constraint violations reach the client.
#[derive(Debug, Clone)]
enum ValidationError {
    /// The service's own modeled `ValidationException` (Bedrock).
    Modeled(ShapeId),
    /// A synthetic `InvalidArgument` (S3 has no modeled validation error).
    Synthetic,
}

impl<'a> Ctx<'a> {
    fn new(svc: &'a Service, opts: &'a Options) -> anyhow::Result<Self> {
        let mut places = BTreeMap::new();
        for shape in svc.shapes.values() {
            if matches!(
                shape.kind,
                ShapeKind::Structure(_) | ShapeKind::Union(_) | ShapeKind::Enum(_)
            ) {
                let place = if shape.traits.error.is_some() {
                    Place::Error
                } else {
                    Place::Type
                };
                places.insert(shape.id.clone(), place);
            }
        }
        for op in &svc.operations {
            if let Some(i) = &op.input {
                places.insert(i.clone(), Place::Input(op.id.name.clone()));
            }
            if let Some(o) = &op.output {
                places.insert(o.clone(), Place::Output(op.id.name.clone()));
            }
        }
        let validation_error = svc
            .shapes
            .values()
            .find(|s| s.id.name == "ValidationException" && s.traits.error.is_some())
            .map_or(ValidationError::Synthetic, |s| {
                ValidationError::Modeled(s.id.clone())
            });
        let mut ctx = Self {
            svc,
            opts,
            places,
            boxed: BTreeSet::new(),
            xml: matches!(svc.protocol, ir::Protocol::RestXml { .. }),
            validation_error,
            payload_targets: svc
                .shapes
                .values()
                .filter_map(|s| match &s.kind {
                    ShapeKind::Structure(ms) => Some(ms),
                    _ => None,
                })
                .flatten()
                .filter(|m| m.traits.http_payload)
                .map(|m| m.target.clone())
                .collect(),
        };
        ctx.boxed = ctx.find_cycles();
        Ok(ctx)
    }

    fn shape(&self, id: &ShapeId) -> &'a Shape {
        // The validate stage guarantees every target exists.
        &self.svc.shapes[id]
    }

    /// Direct structure→structure edges that close a cycle need a `Box`.
    fn find_cycles(&self) -> BTreeSet<(ShapeId, String)> {
        let direct = |id: &ShapeId| -> Vec<(String, ShapeId)> {
            match &self.svc.shapes.get(id).map(|s| &s.kind) {
                Some(ShapeKind::Structure(ms) | ShapeKind::Union(ms)) => ms
                    .iter()
                    .filter(|m| {
                        matches!(
                            self.svc.shapes.get(&m.target).map(|s| &s.kind),
                            Some(ShapeKind::Structure(_) | ShapeKind::Union(_))
                        )
                    })
                    .map(|m| (m.name.clone(), m.target.clone()))
                    .collect(),
                _ => vec![],
            }
        };
        let reaches = |from: &ShapeId, to: &ShapeId| -> bool {
            let mut seen = BTreeSet::new();
            let mut stack = vec![from.clone()];
            while let Some(id) = stack.pop() {
                if &id == to {
                    return true;
                }
                if seen.insert(id.clone()) {
                    stack.extend(direct(&id).into_iter().map(|(_, t)| t));
                }
            }
            false
        };
        let mut out = BTreeSet::new();
        for id in self.svc.shapes.keys() {
            for (name, target) in direct(id) {
                if reaches(&target, id) {
                    out.insert((id.clone(), name));
                }
            }
        }
        out
    }

    /// The Rust type name of an aggregate or enum shape (without path).
    fn type_name(&self, id: &ShapeId) -> String {
        match self.places.get(id) {
            Some(Place::Input(op)) => format!("{}Input", pascal(op)),
            Some(Place::Output(op)) => format!("{}Output", pascal(op)),
            _ => pascal(&id.name),
        }
    }

    /// The full path of an aggregate or enum shape's Rust type.
    fn type_path(&self, id: &ShapeId) -> String {
        let name = self.type_name(id);
        match self.places.get(id) {
            Some(Place::Input(op) | Place::Output(op)) => {
                format!("crate::operation::{}::{name}", module(op))
            }
            Some(Place::Error) => format!("crate::types::error::{name}"),
            _ => format!("crate::types::{name}"),
        }
    }

    fn is_event_stream(&self, id: &ShapeId) -> bool {
        let s = self.shape(id);
        matches!(s.kind, ShapeKind::Union(_)) && s.traits.streaming
    }

    fn is_streaming_blob(&self, id: &ShapeId) -> bool {
        let s = self.shape(id);
        matches!(s.kind, ShapeKind::Simple(Simple::Blob)) && s.traits.streaming
    }

    /// Events and exceptions of an event-stream union.
    fn stream_parts(&self, id: &ShapeId) -> (Vec<&'a Member>, Vec<&'a Member>) {
        let ShapeKind::Union(ms) = &self.shape(id).kind else {
            return (vec![], vec![]);
        };
        ms.iter()
            .partition(|m| self.shape(&m.target).traits.error.is_none())
    }

    /// The Rust type stored for a value of `target`.
    fn rust_type(&self, target: &ShapeId) -> String {
        let s = self.shape(target);
        match &s.kind {
            ShapeKind::Simple(simple) => match simple {
                Simple::Blob if s.traits.streaming => {
                    "::aws_smithy_types::byte_stream::ByteStream".into()
                }
                Simple::Blob => "::aws_smithy_types::Blob".into(),
                Simple::Boolean => "bool".into(),
                Simple::String => "::std::string::String".into(),
                Simple::Byte => "i8".into(),
                Simple::Short => "i16".into(),
                Simple::Integer => "i32".into(),
                Simple::Long => "i64".into(),
                Simple::Float => "f32".into(),
                Simple::Double => "f64".into(),
                Simple::BigInteger => "::aws_smithy_types::BigInteger".into(),
                Simple::BigDecimal => "::aws_smithy_types::BigDecimal".into(),
                Simple::Timestamp => "::aws_smithy_types::DateTime".into(),
                Simple::Document => "::aws_smithy_types::Document".into(),
            },
            ShapeKind::IntEnum(_) => "i32".into(),
            ShapeKind::Enum(_) => self.type_path(target),
            ShapeKind::List(m) => format!("::std::vec::Vec<{}>", self.rust_type(&m.target)),
            ShapeKind::Map(_, v) => {
                format!(
                    "::std::collections::HashMap<::std::string::String, {}>",
                    self.rust_type(&v.target)
                )
            }
            ShapeKind::Union(_) if s.traits.streaming => {
                format!(
                    "::aws_smithy_http::event_stream::EventStreamSender<{}, {}Error>",
                    self.type_path(target),
                    self.type_path(target)
                )
            }
            ShapeKind::Structure(_) | ShapeKind::Union(_) => self.type_path(target),
        }
    }

    /// The `ShapeType` a member schema carries for `target`.
    fn shape_type(&self, target: &ShapeId) -> &'static str {
        let s = self.shape(target);
        match &s.kind {
            ShapeKind::Simple(simple) => match simple {
                Simple::Blob => "Blob",
                Simple::Boolean => "Boolean",
                Simple::String => "String",
                Simple::Byte => "Byte",
                Simple::Short => "Short",
                Simple::Integer => "Integer",
                Simple::Long => "Long",
                Simple::Float => "Float",
                Simple::Double => "Double",
                Simple::BigInteger => "BigInteger",
                Simple::BigDecimal => "BigDecimal",
                Simple::Timestamp => "Timestamp",
                Simple::Document => "Document",
            },
            ShapeKind::Enum(_) => "String",
            ShapeKind::IntEnum(_) => "Integer",
            ShapeKind::List(_) => "List",
            ShapeKind::Map(..) => "Map",
            ShapeKind::Structure(_) => "Structure",
            ShapeKind::Union(_) => "Union",
        }
    }

    fn header(&self, emitter: &str, doc: &str) -> String {
        format!(
            "// Code generated by quarry-codegen ({emitter}) from {}. DO NOT EDIT.\n\n//! {doc}\n\n",
            self.opts.model_file
        )
    }
}

/// `ShapeId::from_parts` for a schema static.
pub(crate) fn shape_id_expr(id: &ShapeId, member: Option<&str>) -> String {
    let abs = match member {
        Some(m) => format!("{}${m}", id.absolute()),
        None => id.absolute(),
    };
    format!(
        "::aws_smithy_schema::ShapeId::from_parts({abs:?}, {:?}, {:?})",
        id.namespace, id.name
    )
}

/// Emits every file of the crate for `svc`.
pub fn emit(svc: &Service, opts: &Options) -> anyhow::Result<Vec<File>> {
    let ctx = Ctx::new(svc, opts)?;
    let mut files = Vec::new();
    files.extend(krate::emit(&ctx).context("crate files")?);
    files.extend(shapes::emit(&ctx).context("types")?);
    files.extend(error::emit(&ctx).context("errors")?);
    files.extend(operation::emit(&ctx).context("operations")?);
    files.extend(service::emit(&ctx).context("service")?);
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}
