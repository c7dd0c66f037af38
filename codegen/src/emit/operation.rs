//! Emits one module per operation: its input, output, error enum, schema and runtime glue.

use std::fmt::Write as _;

use super::error::operation_error_enum;
use super::names::{module, pascal, shouty};
use super::shapes::{Aggregate, aggregate};
use super::{Ctx, File, shape_id_expr};
use crate::ir::{Member, Operation, ShapeId, ShapeKind, Traits};

/// The streaming members of an operation's output, if any.
enum OutputStream<'a> {
    None,
    Blob(&'a Member),
    Events(&'a Member),
}

fn members_of<'a>(ctx: &Ctx<'a>, id: Option<&ShapeId>) -> (&'a [Member], Option<&'a Traits>) {
    match id.map(|i| &ctx.shape(i).kind) {
        Some(ShapeKind::Structure(ms)) => (ms.as_slice(), id.map(|i| &ctx.shape(i).traits)),
        _ => (&[], None),
    }
}

fn op_file(ctx: &Ctx<'_>, op: &Operation) -> String {
    let name = pascal(&op.id.name);
    let mut text = ctx.header(
        "emit::operation",
        &format!(
            "The `{}` operation: input, output, errors and schema.",
            op.id.name
        ),
    );
    let default_traits = Traits::default();
    let input_id = op.input.clone().unwrap_or(ShapeId {
        namespace: op.id.namespace.clone(),
        name: format!("{}Input", op.id.name),
    });
    let output_id = op.output.clone().unwrap_or(ShapeId {
        namespace: op.id.namespace.clone(),
        name: format!("{}Output", op.id.name),
    });
    let (in_members, in_traits) = members_of(ctx, op.input.as_ref());
    let (out_members, out_traits) = members_of(ctx, op.output.as_ref());
    text.push_str(&aggregate(
        ctx,
        &Aggregate {
            id: &input_id,
            rust_name: format!("{name}Input"),
            prefix: "INPUT_",
            members: in_members,
            traits: in_traits.unwrap_or(&default_traits),
            is_union: false,
            http: Some(&op.http),
            output_root: false,
            unwrapped_xml: false,
            error: None,
            extra_message: false,
        },
    ));
    text.push_str(&aggregate(
        ctx,
        &Aggregate {
            id: &output_id,
            rust_name: format!("{name}Output"),
            prefix: "OUTPUT_",
            members: out_members,
            traits: out_traits.unwrap_or(&default_traits),
            is_union: false,
            // The runtime takes the success status (S3's 204s) from the output schema's `@http`.
            http: Some(&op.http),
            output_root: true,
            unwrapped_xml: op.traits.s3_unwrapped_xml_output,
            error: None,
            extra_message: false,
        },
    ));
    text.push_str(&operation_error_enum(ctx, &op.id.name, &op.errors));

    let errors: Vec<String> = op
        .errors
        .iter()
        .map(|e| format!("{}::SCHEMA", ctx.type_path(e)))
        .collect();
    let _ = writeln!(
        text,
        "static ERRORS: [&::aws_smithy_schema::Schema<'static>; {}] = [{}];\n\
         /// The schema of the `{}` operation.\n pub static OPERATION: ::aws_smithy_http_server::schema::OperationSchema<'static> = ::aws_smithy_http_server::schema::OperationSchema::new({}, &INPUT_SCHEMA, &OUTPUT_SCHEMA, &ERRORS);",
        errors.len(),
        errors.join(", "),
        op.id.name,
        shape_id_expr(&op.id, None),
    );
    let _ = writeln!(
        text,
        "/// The `{0}` operation, as the runtime's routing and upgrade machinery names it.\n#[derive(Debug, Clone, Copy)]\npub struct {name};\n\
         impl ::aws_smithy_http_server::operation::OperationShape for {name} {{ const ID: ::aws_smithy_http_server::shape_id::ShapeId = ::aws_smithy_http_server::shape_id::ShapeId::new({1:?}, {2:?}, {3:?}); type Input = {name}Input; type Output = {name}Output; type Error = {name}Error; }}\n\
         impl ::aws_smithy_http_server::operation::SchemaOperationShape for {name} {{ const SCHEMA: &'static ::aws_smithy_http_server::schema::OperationSchema<'static> = &OPERATION; }}",
        op.id.name,
        op.id.absolute(),
        op.id.namespace,
        op.id.name,
    );

    let input_stream = in_members.iter().find(|m| ctx.is_streaming_blob(&m.target));
    let output_stream = match out_members
        .iter()
        .find(|m| ctx.is_streaming_blob(&m.target) || ctx.is_event_stream(&m.target))
    {
        None => OutputStream::None,
        Some(m) if ctx.is_event_stream(&m.target) => OutputStream::Events(m),
        Some(m) => OutputStream::Blob(m),
    };
    // Reads the input and turns recorded violations into the service's validation error.
    let _ = writeln!(
        text,
        "fn read_input(d: &mut dyn ::aws_smithy_schema::serde::ShapeDeserializer) -> ::std::result::Result<{name}Input, ::aws_smithy_http_server::schema::DeserializeError> {{\n\
         let mut v = ::quarry_codegen_runtime::validation::Violations::new();\n\
         let input = {name}Input::deserialize_schema(d, &mut v)?;\n\
         match (v.message(), input) {{ (Some(message), _) => Err(crate::constraint_violation(message)), (None, Some(input)) => Ok(input), (None, None) => Err(crate::constraint_violation(\"1 validation error detected: the request is incomplete\".to_owned())) }} }}"
    );
    let streaming = input_stream.is_some() || !matches!(output_stream, OutputStream::None);
    if !streaming {
        let _ = writeln!(
            text,
            "impl ::aws_smithy_http_server::schema::DeserializableShape for {name}Input {{ fn deserialize(d: &mut dyn ::aws_smithy_schema::serde::ShapeDeserializer) -> ::std::result::Result<Self, ::aws_smithy_http_server::schema::DeserializeError> {{ read_input(d) }} }}"
        );
        return text;
    }
    let attach_body = match input_stream {
        Some(m) => format!(
            "let input = input.map(|mut input| {{ input.{} = ::aws_smithy_types::byte_stream::ByteStream::new(body); input }});",
            super::snake(&m.name)
        ),
        None => "let _ = body;".to_owned(),
    };
    let serialize_output = match output_stream {
        OutputStream::None => "protocol.serialize_response(&OUTPUT_SCHEMA, &output)".to_owned(),
        OutputStream::Blob(m) => format!(
            "let mut output = output; let body = ::std::mem::take(&mut output.{field}); \
             let body = ::aws_smithy_http_server::body::boxed(body.into_inner()); \
             protocol.serialize_streaming_response(&OUTPUT_SCHEMA, &output, &OUTPUT_MEMBER_{member}, Some(body))",
            field = super::snake(&m.name),
            member = shouty(&m.name)
        ),
        OutputStream::Events(m) => {
            let union = ctx.type_path(&m.target);
            format!(
                "let mut output = output; \
                 let events = ::std::mem::replace(&mut output.{field}, ::aws_smithy_http::event_stream::EventStreamSender::from(::futures_util::stream::empty())); \
                 let body = ::aws_smithy_http_server::schema::event_stream::event_stream_response_body(&OUTPUT_SCHEMA, &output, events, \
                 ::aws_smithy_http_server::schema::event_stream::SchemaEventMarshaller::<{union}>::new(protocol.clone()), \
                 ::aws_smithy_http_server::schema::event_stream::SchemaEventErrorMarshaller::<{union}Error>::new(protocol.clone()), \
                 protocol, ::aws_smithy_http_server::schema::InitialResponsePolicy::Omit); \
                 match body {{ Ok(body) => protocol.serialize_streaming_response(&OUTPUT_SCHEMA, &output, &OUTPUT_MEMBER_{member}, Some(body)), \
                 Err(_) => ::aws_smithy_http_server::operation::empty_internal_server_error() }}",
                field = super::snake(&m.name),
                member = shouty(&m.name)
            )
        }
    };
    let _ = writeln!(
        text,
        "impl ::aws_smithy_http_server::operation::StreamingOperationShape for {name} {{\n\
         fn deserialize_streaming_input(request: ::aws_smithy_runtime_api::http::Request<::aws_smithy_http_server::body::RequestBody>, protocol: ::aws_smithy_http_server::schema::SharedServerProtocol) -> ::aws_smithy_http_server::operation::StreamingInputFuture<{name}Input> {{\n\
         ::aws_smithy_http_server::operation::deserialize_streaming_request(&OPERATION, request, protocol, |d, body, _protocol| {{ let input = read_input(d); {attach_body} Box::pin(async move {{ input }}) }})\n\
         }}\n\
         fn serialize_streaming_output(output: {name}Output, protocol: &::aws_smithy_http_server::schema::SharedServerProtocol) -> ::aws_smithy_http_server::response::Response {{ {serialize_output} }}\n\
         }}"
    );
    text
}

/// Whether the runtime must bind the operation through its streaming upgrade.
pub(crate) fn is_streaming(ctx: &Ctx<'_>, op: &Operation) -> bool {
    let (ins, _) = members_of(ctx, op.input.as_ref());
    let (outs, _) = members_of(ctx, op.output.as_ref());
    ins.iter().any(|m| ctx.is_streaming_blob(&m.target))
        || outs
            .iter()
            .any(|m| ctx.is_streaming_blob(&m.target) || ctx.is_event_stream(&m.target))
}

/// Emits `operation.rs` and one file per operation.
pub(crate) fn emit(ctx: &Ctx<'_>) -> anyhow::Result<Vec<File>> {
    let mut files = Vec::new();
    let mut toc = ctx.header(
        "emit::operation",
        "One module per operation: `<Op>Input`, `<Op>Output`, `<Op>Error` and its schema.",
    );
    for op in &ctx.svc.operations {
        let m = module(&op.id.name);
        let _ = writeln!(toc, "pub mod {m};");
        files.push(File {
            path: format!("src/operation/{m}.rs"),
            text: op_file(ctx, op),
        });
    }
    files.push(File {
        path: "src/operation.rs".into(),
        text: toc,
    });
    Ok(files)
}
