//! Emits modeled errors (`types::error`), operation error enums and event-stream error enums.

use std::fmt::Write as _;

use super::names::{lit, module, pascal};
use super::shapes::{Aggregate, aggregate};
use super::{Ctx, File, Place, ValidationError};
use crate::ir::{ErrorKind, Member, Shape, ShapeId, ShapeKind, Traits};

/// The type of the `Common` variant of S3 operation errors.
const COMMON_S3_ERROR: &str = "::quarry_codegen_runtime::protocol::S3Error";

/// Errors every generated service has besides its modeled ones.
pub(crate) struct Synthetic {
    pub name: &'static str,
    pub kind: ErrorKind,
    pub status: u16,
    pub doc: &'static str,
}

pub(crate) const NOT_IMPLEMENTED: Synthetic = Synthetic {
    name: "NotImplemented",
    kind: ErrorKind::Server,
    status: 501,
    doc: "The operation is not implemented by this server yet (not modeled by AWS; S3 sends the same code).",
};

pub(crate) const INVALID_ARGUMENT: Synthetic = Synthetic {
    name: "InvalidArgument",
    kind: ErrorKind::Client,
    status: 400,
    doc: "A request broke a modeled constraint (S3's code for bad arguments; the service models no validation error).",
};

pub(crate) fn synthetics(ctx: &Ctx<'_>) -> Vec<Synthetic> {
    let mut out = vec![NOT_IMPLEMENTED];
    if matches!(ctx.validation_error, ValidationError::Synthetic) {
        out.push(INVALID_ARGUMENT);
    }
    // A modeled error of the same name is used instead (validate checks it can carry a message).
    out.retain(|s| modeled_named(ctx, s.name).is_none());
    out
}

/// The modeled error shape named `name`, if the model has one.
pub(crate) fn modeled_named<'a>(ctx: &Ctx<'a>, name: &str) -> Option<&'a ShapeId> {
    ctx.svc
        .shapes
        .values()
        .find(|s| s.id.name == name && s.traits.error.is_some())
        .map(|s| &s.id)
}

fn message_member(members: &[Member]) -> Option<&Member> {
    members
        .iter()
        .find(|m| m.name.eq_ignore_ascii_case("message"))
}

/// The error's code, status, Display and `HttpModeledError` impls; `message` reads the message.
fn error_impls(name: &str, code: &str, status: u16, message: &str) -> String {
    format!(
        "impl {name} {{ /// The error code on the wire.\n pub const CODE: &'static str = {code:?};\n /// The HTTP status this error is sent with.\n pub const STATUS: u16 = {status};\n\
         /// The error message, if any.\n pub fn message(&self) -> ::std::option::Option<&str> {{ {message} }} }}\n\
         impl ::std::fmt::Display for {name} {{ fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {{ match self.message() {{ Some(m) => f.write_str(m), None => f.write_str(Self::CODE) }} }} }}\n\
         impl ::std::error::Error for {name} {{}}\n\
         impl ::aws_smithy_http_server::schema::HttpModeledError for {name} {{ fn status_code(&self) -> u16 {{ Self::STATUS }} }}\n"
    )
}

fn error_file(ctx: &Ctx<'_>, shape: &Shape, members: &[Member]) -> String {
    let name = ctx.type_name(&shape.id);
    let kind = shape.traits.error.unwrap_or(ErrorKind::Client);
    let status = shape.traits.http_error.unwrap_or(match kind {
        ErrorKind::Client => 400,
        ErrorKind::Server => 500,
    });
    let message = message_member(members);
    let mut text = ctx.header("emit::error", &format!("The `{}` error.", shape.id.name));
    text.push_str(&aggregate(
        ctx,
        &Aggregate {
            id: &shape.id,
            rust_name: name.clone(),
            prefix: "",
            members,
            traits: &shape.traits,
            is_union: false,
            http: None,
            output_root: true,
            unwrapped_xml: false,
            error: Some((kind, status)),
            extra_message: message.is_none(),
        },
    ));
    let (accessor, init) = match message {
        Some(m) if m.traits.required => {
            let f = super::snake(&m.name);
            (
                format!("Some(self.{f}.as_str())"),
                format!("{f}: message.into(),"),
            )
        }
        Some(m) => {
            let f = super::snake(&m.name);
            (
                format!("self.{f}.as_deref()"),
                format!("{f}: Some(message.into()),"),
            )
        }
        None => (
            "self.message.as_deref()".to_owned(),
            "message: Some(message.into()),".to_owned(),
        ),
    };
    text.push_str(&error_impls(&name, &shape.id.name, status, &accessor));
    // A constructor from a message alone exists when every other member is optional.
    let others_optional = members
        .iter()
        .all(|m| !m.traits.required || message.is_some_and(|mm| mm.name == m.name));
    if others_optional {
        let rest: String = members
            .iter()
            .filter(|m| message.is_none_or(|mm| mm.name != m.name))
            .map(|m| format!("{}: None,", super::snake(&m.name)))
            .collect();
        let _ = writeln!(
            text,
            "impl {name} {{ /// An error carrying `message`.\n pub fn with_message(message: impl ::std::convert::Into<::std::string::String>) -> Self {{ Self {{ {init} {rest} }} }} }}"
        );
    }
    text
}

fn synthetic_file(ctx: &Ctx<'_>, s: &Synthetic) -> String {
    let id = ShapeId {
        namespace: ctx.svc.id.namespace.clone(),
        name: s.name.to_owned(),
    };
    let members = vec![Member {
        name: "message".to_owned(),
        target: ShapeId {
            namespace: "smithy.api".into(),
            name: "String".into(),
        },
        traits: Traits::default(),
    }];
    let mut text = ctx.header("emit::error", s.doc);
    text.push_str(&aggregate(
        ctx,
        &Aggregate {
            id: &id,
            rust_name: s.name.to_owned(),
            prefix: "",
            members: &members,
            traits: &Traits::default(),
            is_union: false,
            http: None,
            output_root: true,
            unwrapped_xml: false,
            error: Some((s.kind, s.status)),
            extra_message: false,
        },
    ));
    text.push_str(&error_impls(
        s.name,
        s.name,
        s.status,
        "self.message.as_deref()",
    ));
    let _ = writeln!(
        text,
        "impl {0} {{ /// An error carrying `message`.\n pub fn with_message(message: impl ::std::convert::Into<::std::string::String>) -> Self {{ Self {{ message: Some(message.into()) }} }} }}",
        s.name
    );
    text
}

/// The error enum of one operation (`<Op>Error`), delegating to the modeled errors.
pub(crate) fn operation_error_enum(ctx: &Ctx<'_>, op_name: &str, errors: &[ShapeId]) -> String {
    let name = format!("{}Error", pascal(op_name));
    let mut variants: Vec<(String, String)> = errors
        .iter()
        .map(|e| (pascal(&e.name), ctx.type_path(e)))
        .collect();
    let add = |variants: &mut Vec<(String, String)>, name: String, path: String| {
        if !variants.iter().any(|(v, _)| *v == name) {
            variants.push((name, path));
        }
    };
    let not_implemented = modeled_named(ctx, "NotImplemented").map_or_else(
        || "crate::types::error::NotImplemented".to_owned(),
        |id| ctx.type_path(id),
    );
    add(
        &mut variants,
        "NotImplemented".into(),
        not_implemented.clone(),
    );
    let validation = match &ctx.validation_error {
        ValidationError::Modeled(id) => {
            add(&mut variants, pascal(&id.name), ctx.type_path(id));
            pascal(&id.name)
        }
        ValidationError::Synthetic => {
            let path = modeled_named(ctx, "InvalidArgument").map_or_else(
                || "crate::types::error::InvalidArgument".to_owned(),
                |id| ctx.type_path(id),
            );
            add(&mut variants, "InvalidArgument".into(), path);
            "InvalidArgument".into()
        }
    };
    // S3 answers its common codes on any operation, modeled or not (see `S3Error`).
    let common = ctx.xml.then_some(COMMON_S3_ERROR);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "/// The errors `{op_name}` can answer with.\n#[derive(Debug)]\n#[non_exhaustive]\npub enum {name} {{"
    );
    for (v, path) in &variants {
        let _ = writeln!(out, "    /// See [`{path}`].\n    {v}({path}),");
    }
    if let Some(path) = common {
        let _ = writeln!(
            out,
            "    /// Any other S3 error code (S3 answers its common errors on every operation).\n    Common({path}),"
        );
    }
    out.push_str("}\n");
    let arms = |body: &str| -> String {
        variants
            .iter()
            .map(|(v, _)| v.as_str())
            .chain(common.map(|_| "Common"))
            .map(|v| format!("Self::{v}(e) => {body},"))
            .collect()
    };
    let _ = writeln!(
        out,
        "impl {name} {{ /// The answer of an operation the server does not implement yet.\n pub fn not_implemented() -> Self {{ Self::NotImplemented({not_implemented}::with_message({})) }}\n\
         /// The service's validation error with `message`.\n pub fn validation(message: impl ::std::convert::Into<::std::string::String>) -> Self {{ Self::{validation}({}::with_message(message)) }}\n\
         /// The error code on the wire.\n pub fn code(&self) -> &'static str {{ match self {{ {} }} }} }}",
        lit(&format!("{op_name} is not implemented yet")),
        variants
            .iter()
            .find(|(v, _)| *v == validation)
            .map_or("", |(_, p)| p.as_str()),
        variants
            .iter()
            .map(|(v, p)| format!("Self::{v}(_) => {p}::CODE,"))
            .chain(common.map(|_| "Self::Common(e) => e.code(),".to_owned()))
            .collect::<String>(),
    );
    let _ = writeln!(
        out,
        "impl ::std::fmt::Display for {name} {{ fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {{ match self {{ {} }} }} }}",
        arms("e.fmt(f)")
    );
    let _ = writeln!(
        out,
        "impl ::std::error::Error for {name} {{ fn source(&self) -> ::std::option::Option<&(dyn ::std::error::Error + 'static)> {{ match self {{ {} }} }} }}",
        arms("Some(e)")
    );
    let _ = writeln!(
        out,
        "impl ::aws_smithy_schema::serde::SerializableStruct for {name} {{ fn schema(&self) -> &::aws_smithy_schema::Schema<'_> {{ match self {{ {} }} }} \
         fn serialize_members(&self, ser: &mut dyn ::aws_smithy_schema::serde::ShapeSerializer) -> ::std::result::Result<(), ::aws_smithy_schema::serde::SerdeError> {{ match self {{ {} }} }} }}",
        arms("e.schema()"),
        arms("e.serialize_members(ser)")
    );
    let _ = writeln!(
        out,
        "impl ::aws_smithy_http_server::schema::HttpModeledError for {name} {{ fn status_code(&self) -> u16 {{ match self {{ {} }} }} }}",
        arms("e.status_code()")
    );
    for (v, path) in variants
        .iter()
        .map(|(v, p)| (v.as_str(), p.as_str()))
        .chain(common.map(|p| ("Common", p)))
    {
        let _ = writeln!(
            out,
            "impl ::std::convert::From<{path}> for {name} {{ fn from(e: {path}) -> Self {{ Self::{v}(e) }} }}"
        );
    }
    out
}

/// The exception enum of an event-stream union (`<Union>Error`), framed as `exception` messages.
pub(crate) fn stream_error_enum(ctx: &Ctx<'_>, union: &ShapeId) -> String {
    let (_, exceptions) = ctx.stream_parts(union);
    let name = format!("{}Error", ctx.type_name(union));
    let mut out = String::new();
    let _ = writeln!(
        out,
        "/// The modeled exceptions of the `{}` event stream.\n#[derive(Debug)]\n#[non_exhaustive]\npub enum {name} {{",
        union.name
    );
    for m in &exceptions {
        let _ = writeln!(
            out,
            "    /// The `{}` exception.\n    {}({}),",
            m.name,
            pascal(&m.name),
            ctx.type_path(&m.target)
        );
    }
    out.push_str("}\n");
    let arms = |body: &str| -> String {
        exceptions
            .iter()
            .map(|m| format!("Self::{}(e) => {body},", pascal(&m.name)))
            .collect()
    };
    let empty = if exceptions.is_empty() {
        "_ => unreachable!(),"
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "impl ::std::fmt::Display for {name} {{ fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {{ match self {{ {}{empty} }} }} }}",
        arms("e.fmt(f)")
    );
    let _ = writeln!(out, "impl ::std::error::Error for {name} {{}}");
    let _ = writeln!(
        out,
        "impl ::aws_smithy_http_server::schema::event_stream::SerializableEventError for {name} {{ fn variant(&self) -> (&'static str, &::aws_smithy_schema::Schema<'_>, &dyn ::aws_smithy_schema::serde::SerializableStruct) {{ match self {{ {}{empty} }} }} }}",
        exceptions
            .iter()
            .map(|m| format!(
                "Self::{}(e) => ({}, {}::SCHEMA, e),",
                pascal(&m.name),
                lit(&m.name),
                ctx.type_path(&m.target)
            ))
            .collect::<String>()
    );
    for m in &exceptions {
        let path = ctx.type_path(&m.target);
        let _ = writeln!(
            out,
            "impl ::std::convert::From<{path}> for {name} {{ fn from(e: {path}) -> Self {{ Self::{}(e) }} }}",
            pascal(&m.name)
        );
    }
    out
}

/// Emits `types/error.rs` and one file per modeled or synthetic error.
pub(crate) fn emit(ctx: &Ctx<'_>) -> anyhow::Result<Vec<File>> {
    let mut files = Vec::new();
    let mut toc = ctx.header("emit::error", "Modeled errors, each with its HTTP status.");
    for shape in ctx.svc.shapes.values() {
        if !matches!(ctx.places.get(&shape.id), Some(Place::Error)) {
            continue;
        }
        let ShapeKind::Structure(members) = &shape.kind else {
            continue;
        };
        let m = module(&shape.id.name);
        let name = ctx.type_name(&shape.id);
        files.push(File {
            path: format!("src/types/error/{m}.rs"),
            text: error_file(ctx, shape, members),
        });
        let _ = writeln!(toc, "pub(crate) mod {m};\npub use self::{m}::{name};");
    }
    for s in synthetics(ctx) {
        let m = module(s.name);
        files.push(File {
            path: format!("src/types/error/{m}.rs"),
            text: synthetic_file(ctx, &s),
        });
        let _ = writeln!(toc, "pub(crate) mod {m};\npub use self::{m}::{};", s.name);
    }
    files.push(File {
        path: "src/types/error.rs".into(),
        text: toc,
    });
    Ok(files)
}
