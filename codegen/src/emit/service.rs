//! Emits the service: its schema, the trait handlers implement, and the router that binds them.

use std::fmt::Write as _;

use super::names::{module, pascal, snake};
use super::operation::is_streaming;
use super::{Ctx, File, shape_id_expr};
use crate::ir::Protocol;

pub(crate) fn emit(ctx: &Ctx<'_>) -> anyhow::Result<Vec<File>> {
    let svc = ctx.svc;
    let trait_name = &ctx.opts.service_name;
    let mut text = ctx.header(
        "emit::service",
        &format!("The `{trait_name}` service: its schema, the trait to implement, and its router."),
    );

    // Service schema.
    let (protocol_id, registry) = match &ctx.opts.server_protocol {
        Some((id, registry)) => (id.clone(), Some(registry.clone())),
        None => (
            match svc.protocol {
                Protocol::RestJson1 => "aws.protocols#restJson1".to_owned(),
                Protocol::RestXml { .. } => "aws.protocols#restXml".to_owned(),
            },
            None,
        ),
    };
    let (pns, pname) = protocol_id
        .split_once('#')
        .unwrap_or(("", protocol_id.as_str()));
    let ops: Vec<String> = svc
        .operations
        .iter()
        .map(|o| format!("&crate::operation::{}::OPERATION", module(&o.id.name)))
        .collect();
    let traits = match svc.protocol {
        Protocol::RestXml { no_error_wrapping } => {
            let _ = writeln!(
                text,
                "static SERVICE_TRAITS: ::std::sync::LazyLock<::aws_smithy_schema::TraitMap> = ::std::sync::LazyLock::new(|| {{ let mut map = ::aws_smithy_schema::TraitMap::new(); \
                 map.insert(::std::boxed::Box::new(::aws_smithy_http_server::schema::traits::RestXmlTrait::new().with_no_error_wrapping({no_error_wrapping}))); map }});"
            );
            ".with_traits(&SERVICE_TRAITS)"
        }
        Protocol::RestJson1 => "",
    };
    let _ = writeln!(
        text,
        "static OPERATIONS: [&::aws_smithy_http_server::schema::OperationSchema<'static>; {}] = [{}];\n\
         static PROTOCOLS: [::aws_smithy_schema::ShapeId<'static>; 1] = [::aws_smithy_schema::ShapeId::from_parts({protocol_id:?}, {pns:?}, {pname:?})];\n\
         /// The schema of the service: its operations and the protocol it speaks.\n\
         pub static SERVICE: ::aws_smithy_http_server::schema::ServiceSchema<'static> = ::aws_smithy_http_server::schema::ServiceSchema::new({}, {}, &PROTOCOLS, &OPERATIONS){traits};",
        ops.len(),
        ops.join(", "),
        shape_id_expr(&svc.id, None),
        svc.version
            .as_ref()
            .map_or_else(|| "None".to_owned(), |v| format!("Some({v:?})")),
    );
    let _ = writeln!(
        text,
        "/// The service as the runtime's plugin machinery names it.\n#[derive(Debug, Clone, Copy)]\npub struct {trait_name}Shape;\n\
         impl ::aws_smithy_http_server::service::ServiceShape for {trait_name}Shape {{ const ID: ::aws_smithy_http_server::shape_id::ShapeId = ::aws_smithy_http_server::shape_id::ShapeId::new({:?}, {:?}, {:?}); const VERSION: ::std::option::Option<&'static str> = {}; type Protocol = (); type Operations = (); }}",
        svc.id.absolute(),
        svc.id.namespace,
        svc.id.name,
        svc.version
            .as_ref()
            .map_or_else(|| "None".to_owned(), |v| format!("Some({v:?})")),
    );

    // The routes, for gateways that serve several services under one prefix.
    let routes: Vec<String> = svc
        .operations
        .iter()
        .map(|o| format!("({:?}, {:?})", o.http.method, o.http.uri))
        .collect();
    let _ = writeln!(
        text,
        "/// Every operation's HTTP method and URI template, in the model's syntax.\npub const ROUTES: &[(&str, &str)] = &[{}];",
        routes.join(", ")
    );

    // The trait.
    let _ = writeln!(
        text,
        "/// The `{trait_name}` operations. Every method answers `NotImplemented` until a server overrides it.\npub trait {trait_name}: Send + Sync + 'static {{"
    );
    for op in &svc.operations {
        let m = module(&op.id.name);
        let n = pascal(&op.id.name);
        let _ = writeln!(
            text,
            "/// Handles `{}` (`{} {}`).\n fn {}(&self, input: crate::operation::{m}::{n}Input) -> impl ::std::future::Future<Output = ::std::result::Result<crate::operation::{m}::{n}Output, crate::operation::{m}::{n}Error>> + Send {{ let _ = input; ::std::future::ready(Err(crate::operation::{m}::{n}Error::not_implemented())) }}",
            op.id.name,
            op.http.method,
            op.http.uri,
            snake(&op.id.name)
        );
    }
    text.push_str("}\n");

    // The router.
    let registries = match &registry {
        Some(r) => format!("[&{r}]"),
        None => "[]".to_owned(),
    };
    let _ = writeln!(
        text,
        "/// Binds every operation of `service` and builds the routing service.\n\
         pub fn router<S: {trait_name}>(service: ::std::sync::Arc<S>, options: ::aws_smithy_http_server::schema::routing::ProtocolOptions) -> ::std::result::Result<::aws_smithy_http_server::schema::routing::MultiProtocolRoutingService, ::aws_smithy_http_server::schema::routing::RouterBuildError> {{\n\
         use ::aws_smithy_http_server::operation::OperationShapeExt as _;\n\
         use ::aws_smithy_http_server::plugin::Plugin as _;\n\
         let bindings: ::std::vec::Vec<(&'static ::aws_smithy_http_server::schema::OperationSchema<'static>, ::aws_smithy_http_server::routing::SyncRoute<::aws_smithy_http_server::body::RequestBody>)> = vec!["
    );
    for op in &svc.operations {
        let m = module(&op.id.name);
        let n = pascal(&op.id.name);
        let plugin = if is_streaming(ctx, op) {
            "DynStreamingUpgradePlugin"
        } else {
            "DynUpgradePlugin"
        };
        let _ = writeln!(
            text,
            "{{ let service = service.clone(); \
             let handler = crate::operation::{m}::{n}::from_handler(move |input: crate::operation::{m}::{n}Input| {{ let service = service.clone(); async move {{ service.{}(input).await }} }}); \
             let route = ::aws_smithy_http_server::plugin::Plugin::<{trait_name}Shape, crate::operation::{m}::{n}, _>::apply(&::aws_smithy_http_server::operation::{plugin}::<()>::new(), handler); \
             (&crate::operation::{m}::OPERATION, ::aws_smithy_http_server::routing::SyncRoute::new(route)) }},",
            snake(&op.id.name)
        );
    }
    let _ = writeln!(
        text,
        "];\n ::aws_smithy_http_server::schema::routing::MultiProtocolRoutingService::builder(&SERVICE).registries({registries}).operation_handler_bindings(bindings).options(options).build() }}"
    );
    Ok(vec![File {
        path: "src/service.rs".into(),
        text,
    }])
}
