//! Emits shared shapes (`types`): structures, unions and enums with their schemas, serde walkers and builders.

use std::fmt::Write as _;

use super::names::{lit, module, pascal, shouty, snake, type_module};
use super::{Ctx, File, Place, shape_id_expr};
use crate::ir::{ErrorKind, Http, Member, ShapeId, ShapeKind, Simple, TimestampFormat, Traits};

/// Everything needed to emit one structure or union.
pub(crate) struct Aggregate<'a> {
    pub id: &'a ShapeId,
    pub rust_name: String,
    /// Prefix of the module-level statics, so several aggregates can share one file.
    pub prefix: &'static str,
    pub members: &'a [Member],
    pub traits: &'a Traits,
    pub is_union: bool,
    pub http: Option<&'a Http>,
    pub output_root: bool,
    pub unwrapped_xml: bool,
    pub error: Option<(ErrorKind, u16)>,
    /// Errors without a modeled `message` still carry one, for the wire envelope and Display.
    pub extra_message: bool,
}

fn wire_name(m: &Member) -> &str {
    m.traits.json_name.as_deref().unwrap_or(&m.name)
}

impl Aggregate<'_> {
    fn member_static(&self, m: &Member) -> String {
        format!("{}MEMBER_{}", self.prefix, shouty(&m.name))
    }
    fn schema_static(&self) -> String {
        format!("{}SCHEMA", self.prefix)
    }
    fn members_static(&self) -> String {
        format!("{}MEMBERS", self.prefix)
    }
}

fn is_sensitive(ctx: &Ctx<'_>, m: &Member) -> bool {
    m.traits.sensitive || ctx.shape(&m.target).traits.sensitive
}

/// A member's field type in the owning struct.
fn field_type(ctx: &Ctx<'_>, owner: &ShapeId, m: &Member) -> String {
    let mut t = ctx.rust_type(&m.target);
    if ctx.boxed.contains(&(owner.clone(), m.name.clone())) {
        t = format!("::std::boxed::Box<{t}>");
    }
    if is_always_present(ctx, m) {
        t
    } else {
        format!("::std::option::Option<{t}>")
    }
}

/// Required members, streaming bodies and event streams are stored without `Option`.
fn is_always_present(ctx: &Ctx<'_>, m: &Member) -> bool {
    m.traits.required || ctx.is_streaming_blob(&m.target) || ctx.is_event_stream(&m.target)
}

fn builder_type(ctx: &Ctx<'_>, owner: &ShapeId, m: &Member) -> String {
    let mut t = ctx.rust_type(&m.target);
    if ctx.boxed.contains(&(owner.clone(), m.name.clone())) {
        t = format!("::std::boxed::Box<{t}>");
    }
    t
}

/// Statics for one member schema (and its nested list/map member schemas); returns the code.
fn member_schema(
    ctx: &Ctx<'_>,
    name: &str,
    id: &ShapeId,
    m: &Member,
    index: usize,
    out: &mut String,
) {
    let target = ctx.shape(&m.target);
    let mut nested = String::new();
    let mut chain = String::new();
    match &target.kind {
        ShapeKind::List(inner) => {
            let inner_name = format!("{name}__MEMBER");
            member_schema(ctx, &inner_name, &target.id, inner, 0, &mut nested);
            let _ = write!(chain, ".with_list_member(&{inner_name})");
        }
        ShapeKind::Map(k, v) => {
            let k_name = format!("{name}__KEY");
            let v_name = format!("{name}__VALUE");
            member_schema(ctx, &k_name, &target.id, k, 0, &mut nested);
            member_schema(ctx, &v_name, &target.id, v, 1, &mut nested);
            let _ = write!(chain, ".with_map_members(&{k_name}, &{v_name})");
        }
        _ => {}
    }
    let t = &m.traits;
    if let Some(n) = &t.json_name {
        let _ = write!(chain, ".with_json_name({})", lit(n));
    }
    if let Some(n) = &t.xml_name {
        let _ = write!(chain, ".with_xml_name({})", lit(n));
    }
    if t.xml_attribute {
        chain.push_str(".with_xml_attribute()");
    }
    if t.xml_flattened {
        chain.push_str(".with_xml_flattened()");
    }
    if let Some((uri, prefix)) = t
        .xml_namespace
        .as_ref()
        .or(target.traits.xml_namespace.as_ref())
    {
        let _ = write!(
            chain,
            ".with_xml_namespace({}, {})",
            lit(uri),
            opt_lit(prefix.as_deref())
        );
    }
    if let Some(f) = t.timestamp_format.or(target.traits.timestamp_format) {
        let f = match f {
            TimestampFormat::DateTime => "DateTime",
            TimestampFormat::HttpDate => "HttpDate",
            TimestampFormat::EpochSeconds => "EpochSeconds",
        };
        let _ = write!(
            chain,
            ".with_timestamp_format(::aws_smithy_schema::traits::TimestampFormat::{f})"
        );
    }
    if let Some(h) = &t.http_header {
        let _ = write!(chain, ".with_http_header({})", lit(h));
    }
    if t.http_label {
        chain.push_str(".with_http_label()");
    }
    if let Some(q) = &t.http_query {
        let _ = write!(chain, ".with_http_query({})", lit(q));
    }
    if t.http_query_params {
        chain.push_str(".with_http_query_params()");
    }
    if let Some(p) = &t.http_prefix_headers {
        let _ = write!(chain, ".with_http_prefix_headers({})", lit(p));
    }
    if t.http_payload {
        chain.push_str(".with_http_payload()");
    }
    if t.http_response_code {
        chain.push_str(".with_http_response_code()");
    }
    if target.traits.streaming {
        chain.push_str(".with_streaming()");
    }
    if t.event_header {
        chain.push_str(".with_event_header()");
    }
    if t.event_payload {
        chain.push_str(".with_event_payload()");
    }
    if t.sensitive || target.traits.sensitive {
        chain.push_str(".with_sensitive()");
    }
    if let Some(mt) = t.media_type.as_ref().or(target.traits.media_type.as_ref()) {
        let _ = write!(chain, ".with_media_type({})", lit(mt));
    }
    // Structured XML payloads need the target schema renamed to the payload's root element.
    let xml_payload = ctx.xml && t.http_payload && matches!(target.kind, ShapeKind::Structure(_));
    if t.required || xml_payload {
        let traits = format!("{name}__TRAITS");
        let _ = writeln!(
            nested,
            "static {traits}: ::std::sync::LazyLock<::aws_smithy_schema::TraitMap> = ::std::sync::LazyLock::new(|| {{ let mut map = ::aws_smithy_schema::TraitMap::new();"
        );
        if t.required {
            let _ = writeln!(
                nested,
                "map.insert(::std::boxed::Box::new(::aws_smithy_schema::AnnotationTrait::new(::aws_smithy_schema::ShapeId::from_parts(\"smithy.api#required\", \"smithy.api\", \"required\"))));"
            );
        }
        if xml_payload {
            let _ = writeln!(
                nested,
                "map.insert(::std::boxed::Box::new(::aws_smithy_http_server::schema::traits::XmlMetadata::new(&{name}__XML_PAYLOAD)));"
            );
        }
        nested.push_str("map });\n");
        if xml_payload {
            let root = t
                .xml_name
                .clone()
                .or_else(|| target.traits.xml_name.clone())
                .unwrap_or_else(|| target.id.name.clone());
            let mut payload_chain = format!(".with_xml_name({})", lit(&root));
            let ns = target
                .traits
                .xml_namespace
                .clone()
                .or_else(|| service_xml_ns(ctx));
            if let Some((uri, prefix)) = ns {
                let _ = write!(
                    payload_chain,
                    ".with_xml_namespace({}, {})",
                    lit(&uri),
                    opt_lit(prefix.as_deref())
                );
            }
            let _ = writeln!(
                nested,
                "static {name}__XML_PAYLOAD: ::aws_smithy_schema::Schema<'static> = ::aws_smithy_schema::Schema::new_struct({}, ::aws_smithy_schema::ShapeType::Structure, &{}::MEMBERS){payload_chain};",
                shape_id_expr(&target.id, None),
                schema_module(ctx, &target.id),
            );
        }
        let _ = write!(chain, ".with_traits(&{traits})");
    }
    out.push_str(&nested);
    let _ = writeln!(
        out,
        "static {name}: ::aws_smithy_schema::Schema<'static> = ::aws_smithy_schema::Schema::new_member({}, ::aws_smithy_schema::ShapeType::{}, {}, {index}){chain};",
        shape_id_expr(id, Some(&m.name)),
        ctx.shape_type(&m.target),
        lit(&m.name),
    );
}

fn opt_lit(s: Option<&str>) -> String {
    s.map_or_else(|| "None".to_owned(), |s| format!("Some({})", lit(s)))
}

fn service_xml_ns(ctx: &Ctx<'_>) -> Option<(String, Option<String>)> {
    ctx.svc.traits.xml_namespace.clone()
}

/// The module path holding a shape's `MEMBERS` static.
fn schema_module(ctx: &Ctx<'_>, id: &ShapeId) -> String {
    match ctx.places.get(id) {
        Some(Place::Error) => format!("crate::types::error::{}", module(&id.name)),
        Some(Place::Input(op)) | Some(Place::Output(op)) => {
            format!("crate::operation::{}", module(op))
        }
        _ => format!("crate::types::{}", type_module(&id.name)),
    }
}

/// A statement writing `val` (an expression of type `&T`) through `ser` with schema `schema`.
fn write_stmt(ctx: &Ctx<'_>, schema: &str, target: &ShapeId, val: &str, boxed: bool) -> String {
    let s = ctx.shape(target);
    match &s.kind {
        ShapeKind::Simple(simple) => match simple {
            Simple::Blob => format!("ser.write_blob(&{schema}, {val}.clone())?;"),
            Simple::Boolean => format!("ser.write_boolean(&{schema}, *{val})?;"),
            Simple::String => format!("ser.write_string(&{schema}, {val})?;"),
            Simple::Byte => format!("ser.write_byte(&{schema}, *{val})?;"),
            Simple::Short => format!("ser.write_short(&{schema}, *{val})?;"),
            Simple::Integer => format!("ser.write_integer(&{schema}, *{val})?;"),
            Simple::Long => format!("ser.write_long(&{schema}, *{val})?;"),
            Simple::Float => format!("ser.write_float(&{schema}, *{val})?;"),
            Simple::Double => format!("ser.write_double(&{schema}, *{val})?;"),
            Simple::BigInteger => format!("ser.write_big_integer(&{schema}, {val})?;"),
            Simple::BigDecimal => format!("ser.write_big_decimal(&{schema}, {val})?;"),
            Simple::Timestamp => format!("ser.write_timestamp(&{schema}, {val})?;"),
            Simple::Document => format!("ser.write_document(&{schema}, {val})?;"),
        },
        ShapeKind::IntEnum(_) => format!("ser.write_integer(&{schema}, *{val})?;"),
        ShapeKind::Enum(_) => format!("ser.write_string(&{schema}, {val}.as_str())?;"),
        ShapeKind::Structure(_) | ShapeKind::Union(_) => {
            if boxed {
                format!("ser.write_struct(&{schema}, &**{val})?;")
            } else {
                format!("ser.write_struct(&{schema}, {val})?;")
            }
        }
        ShapeKind::List(m) => {
            let inner = write_stmt(ctx, &format!("{schema}__MEMBER"), &m.target, "item", false);
            format!(
                "ser.write_list_with_length(&{schema}, {val}.len(), &|ser: &mut dyn ::aws_smithy_schema::serde::ShapeSerializer| {{ for item in {val}.iter() {{ {inner} }} Ok(()) }})?;"
            )
        }
        ShapeKind::Map(_, v) => {
            let inner = write_stmt(ctx, &format!("{schema}__VALUE"), &v.target, "value", false);
            format!(
                "ser.write_map_with_length(&{schema}, {val}.len(), &|ser: &mut dyn ::aws_smithy_schema::serde::ShapeSerializer| {{ for (key, value) in {val}.iter() {{ ser.write_string(&{schema}__KEY, key)?; {inner} }} Ok(()) }})?;"
            )
        }
    }
}

/// Constraint checks for a just-read value bound to `x`.
fn checks(ctx: &Ctx<'_>, m_traits: &Traits, target: &ShapeId, sensitive: bool) -> String {
    let s = ctx.shape(target);
    let length = m_traits.length.or(s.traits.length);
    let range = m_traits.range.or(s.traits.range);
    let pattern = m_traits.pattern.as_ref().or(s.traits.pattern.as_ref());
    let mut out = String::new();
    let opt_u =
        |v: Option<f64>| v.map_or_else(|| "None".to_owned(), |v| format!("Some({}u64)", v as u64));
    let opt_f = |v: Option<f64>| v.map_or_else(|| "None".to_owned(), |v| format!("Some({v:?}f64)"));
    if let Some(b) = length {
        let (len, shown) = match &s.kind {
            ShapeKind::Simple(Simple::String) => ("x.chars().count()", "x.as_str()"),
            ShapeKind::Enum(_) => ("x.as_str().chars().count()", "x.as_str()"),
            ShapeKind::Simple(Simple::Blob) => ("x.as_ref().len()", "\"\""),
            // Lists count every element received, even one that failed validation and was dropped.
            ShapeKind::List(_) => ("received", "if received == 0 { \"[]\" } else { \"[...]\" }"),
            ShapeKind::Map(..) => ("x.len()", "if x.is_empty() { \"{}\" } else { \"{...}\" }"),
            _ => ("0", "\"\""),
        };
        if len != "0" {
            let _ = write!(
                out,
                "v.length({shown}, {sensitive}, {len}, {}, {});",
                opt_u(b.min),
                opt_u(b.max)
            );
        }
    }
    if let Some(b) = range {
        let num = matches!(
            s.kind,
            ShapeKind::Simple(
                Simple::Byte
                    | Simple::Short
                    | Simple::Integer
                    | Simple::Long
                    | Simple::Float
                    | Simple::Double
            )
        );
        if num {
            let _ = write!(
                out,
                "v.range(x as f64, {}, {});",
                opt_f(b.min),
                opt_f(b.max)
            );
        }
    }
    if let Some(p) = pattern
        && matches!(s.kind, ShapeKind::Simple(Simple::String))
    {
        let _ = write!(
            out,
            "{{ static PATTERN: ::quarry_codegen_runtime::validation::Pattern = ::quarry_codegen_runtime::validation::Pattern::new({}); v.pattern(&x, {sensitive}, &PATTERN); }}",
            lit(p)
        );
    }
    if let ShapeKind::Enum(_) = s.kind {
        let path = ctx.type_path(target);
        let _ = write!(
            out,
            "if let {path}::Unknown(raw) = &x {{ v.enum_value(raw, {path}::values()); }}"
        );
    }
    out
}

/// An expression of type `Option<T>` reading a value of `target` from `d` with schema `schema`.
fn read_expr(
    ctx: &Ctx<'_>,
    schema: &str,
    m_traits: &Traits,
    target: &ShapeId,
    sensitive: bool,
) -> String {
    let s = ctx.shape(target);
    let checks = checks(ctx, m_traits, target, sensitive);
    let simple = |call: &str| format!("{{ let x = d.{call}(&{schema})?; {checks} Some(x) }}");
    match &s.kind {
        ShapeKind::Simple(simple_kind) => match simple_kind {
            Simple::Blob => simple("read_blob"),
            Simple::Boolean => simple("read_boolean"),
            Simple::String => simple("read_string"),
            Simple::Byte => simple("read_byte"),
            Simple::Short => simple("read_short"),
            Simple::Integer => simple("read_integer"),
            Simple::Long => simple("read_long"),
            Simple::Float => simple("read_float"),
            Simple::Double => simple("read_double"),
            Simple::BigInteger => simple("read_big_integer"),
            Simple::BigDecimal => simple("read_big_decimal"),
            Simple::Timestamp => simple("read_timestamp"),
            Simple::Document => simple("read_document"),
        },
        ShapeKind::IntEnum(_) => simple("read_integer"),
        ShapeKind::Enum(_) => {
            let path = ctx.type_path(target);
            format!(
                "{{ let x = {path}::from(d.read_string(&{schema})?.as_str()); {checks} Some(x) }}"
            )
        }
        ShapeKind::Structure(_) | ShapeKind::Union(_) => {
            format!("{}::deserialize_schema(d, v)?", ctx.type_path(target))
        }
        ShapeKind::List(m) => {
            let received = if checks.contains("received") {
                "let received = index;"
            } else {
                ""
            };
            let inner_sensitive = is_sensitive(ctx, m);
            let inner = read_expr(
                ctx,
                &format!("{schema}__MEMBER"),
                &m.traits,
                &m.target,
                inner_sensitive,
            );
            format!(
                "{{ let mut items = ::std::vec::Vec::new(); let mut complete = true; let mut index = 0usize; \
                 d.read_list(&{schema}, &mut |d: &mut dyn ::aws_smithy_schema::serde::ShapeDeserializer| {{ \
                 if d.is_null() {{ d.read_null()?; return Ok(()); }} \
                 v.enter_index(index); index += 1; \
                 match {inner} {{ Some(item) => items.push(item), None => complete = false }} \
                 v.leave(); Ok(()) }})?; \
                 let x = items; {received} {checks} if complete {{ Some(x) }} else {{ None }} }}"
            )
        }
        ShapeKind::Map(key_member, val) => {
            // Keys are stored as strings; their constraints (length, pattern, enum) are checked here.
            let key_checks = match &ctx.shape(&key_member.target).kind {
                ShapeKind::Enum(_) => {
                    let path = ctx.type_path(&key_member.target);
                    format!(
                        "if let {path}::Unknown(raw) = {path}::from(key.as_str()) {{ v.enum_value(&raw, {path}::values()); }}"
                    )
                }
                _ => {
                    let c = self::checks(ctx, &key_member.traits, &key_member.target, false);
                    if c.is_empty() {
                        String::new()
                    } else {
                        format!("{{ let x = key.clone(); {c} }}")
                    }
                }
            };
            let inner_sensitive = is_sensitive(ctx, val);
            let inner = read_expr(
                ctx,
                &format!("{schema}__VALUE"),
                &val.traits,
                &val.target,
                inner_sensitive,
            );
            format!(
                "{{ let mut entries = ::std::collections::HashMap::new(); let mut complete = true; \
                 d.read_map(&{schema}, &mut |key: ::std::string::String, d: &mut dyn ::aws_smithy_schema::serde::ShapeDeserializer| {{ \
                 if d.is_null() {{ d.read_null()?; return Ok(()); }} \
                 v.enter(&key); {key_checks} \
                 match {inner} {{ Some(value) => {{ entries.insert(key, value); }} None => complete = false }} \
                 v.leave(); Ok(()) }})?; \
                 let x = entries; {checks} if complete {{ Some(x) }} else {{ None }} }}"
            )
        }
    }
}

/// Emits one structure or union: type, accessors, Debug, builder, schema, serde.
pub(crate) fn aggregate(ctx: &Ctx<'_>, a: &Aggregate<'_>) -> String {
    let mut out = String::new();
    let name = &a.rust_name;
    let streaming = a
        .members
        .iter()
        .any(|m| ctx.is_streaming_blob(&m.target) || ctx.is_event_stream(&m.target));
    let event_stream_union = a.is_union && a.traits.streaming;
    let variants: Vec<&Member> = if event_stream_union {
        ctx.stream_parts(a.id).0
    } else {
        a.members.iter().collect()
    };
    let derives = if streaming {
        ""
    } else {
        "#[derive(Clone, PartialEq)]"
    };
    let _ = writeln!(out, "/// The `{}` shape.", a.id.name);
    if a.is_union {
        let _ = writeln!(out, "{derives}\npub enum {name} {{");
        for m in &variants {
            let _ = writeln!(
                out,
                "    /// The `{}` member.\n    {}({}),",
                m.name,
                pascal(&m.name),
                builder_type(ctx, a.id, m)
            );
        }
        out.push_str("}\n");
    } else {
        let _ = writeln!(out, "{derives}\npub struct {name} {{");
        for m in a.members {
            let _ = writeln!(
                out,
                "    /// The `{}` member.\n    pub {}: {},",
                m.name,
                snake(&m.name),
                field_type(ctx, a.id, m)
            );
        }
        if a.extra_message {
            out.push_str("    /// The error message; not a modeled member, sent in the protocol's error envelope.\n    pub message: ::std::option::Option<::std::string::String>,\n");
        }
        out.push_str("}\n");
    }
    // Debug, with sensitive members redacted.
    let _ = writeln!(
        out,
        "impl ::std::fmt::Debug for {name} {{ fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {{"
    );
    if a.is_union {
        out.push_str("match self {");
        for m in &variants {
            let (bind, value) = if is_sensitive(ctx, m) {
                ("_", "&\"*** Sensitive Data Redacted ***\"")
            } else {
                ("v", "v")
            };
            let _ = write!(
                out,
                "Self::{}({bind}) => f.debug_tuple({}).field({value}).finish(),",
                pascal(&m.name),
                lit(&pascal(&m.name))
            );
        }
        if variants.is_empty() {
            out.push_str("_ => unreachable!(),");
        }
        out.push('}');
    } else {
        let _ = write!(out, "f.debug_struct({})", lit(name));
        for m in a.members {
            let field = snake(&m.name);
            if is_sensitive(ctx, m) {
                let _ = write!(
                    out,
                    ".field({}, &\"*** Sensitive Data Redacted ***\")",
                    lit(field.trim_start_matches("r#").trim_end_matches('_'))
                );
            } else {
                let _ = write!(
                    out,
                    ".field({}, &self.{field})",
                    lit(field.trim_start_matches("r#").trim_end_matches('_'))
                );
            }
        }
        if a.extra_message {
            out.push_str(".field(\"message\", &self.message)");
        }
        out.push_str(".finish()");
    }
    out.push_str("} }\n");

    if !a.is_union {
        emit_builder(ctx, a, &mut out);
    }

    // Schemas.
    for (index, m) in a.members.iter().enumerate() {
        member_schema(ctx, &a.member_static(m), a.id, m, index, &mut out);
    }
    let member_refs: Vec<String> = a
        .members
        .iter()
        .map(|m| format!("&{}", a.member_static(m)))
        .collect();
    let _ = writeln!(
        out,
        "pub(crate) static {}: [&::aws_smithy_schema::Schema<'static>; {}] = [{}];",
        a.members_static(),
        a.members.len(),
        member_refs.join(", ")
    );
    let mut chain = String::new();
    if let Some(x) = &a.traits.xml_name {
        let _ = write!(chain, ".with_xml_name({})", lit(x));
    }
    let ns = a.traits.xml_namespace.clone().or_else(|| {
        if a.output_root {
            service_xml_ns(ctx)
        } else {
            None
        }
    });
    if let Some((uri, prefix)) = ns {
        let _ = write!(
            chain,
            ".with_xml_namespace({}, {})",
            lit(&uri),
            opt_lit(prefix.as_deref())
        );
    }
    if let Some(http) = a.http {
        let _ = write!(
            chain,
            ".with_http(::aws_smithy_schema::traits::HttpTrait::new({}, {}, Some({})))",
            lit(&http.method),
            lit(&http.uri),
            http.code
        );
    }
    if a.unwrapped_xml {
        chain.push_str(".with_xml_unwrapped_output()");
    }
    if event_stream_union {
        chain.push_str(".with_streaming()");
    }
    if let Some((kind, status)) = a.error {
        let traits = format!("{}TRAITS", a.prefix);
        let kind = match kind {
            ErrorKind::Client => "client",
            ErrorKind::Server => "server",
        };
        let _ = writeln!(
            out,
            "static {traits}: ::std::sync::LazyLock<::aws_smithy_schema::TraitMap> = ::std::sync::LazyLock::new(|| {{ let mut map = ::aws_smithy_schema::TraitMap::new(); \
             map.insert(::std::boxed::Box::new(::aws_smithy_schema::StringTrait::new(::aws_smithy_schema::ShapeId::from_parts(\"smithy.api#error\", \"smithy.api\", \"error\"), {}))); \
             map.insert(::std::boxed::Box::new(::aws_smithy_http_server::schema::traits::HttpErrorTrait::new({status}))); map }});",
            lit(kind)
        );
        let _ = write!(chain, ".with_traits(&{traits})");
    }
    let _ = writeln!(
        out,
        "pub(crate) static {}: ::aws_smithy_schema::Schema<'static> = ::aws_smithy_schema::Schema::new_struct({}, ::aws_smithy_schema::ShapeType::{}, &{}){chain};",
        a.schema_static(),
        shape_id_expr(a.id, None),
        if a.is_union { "Union" } else { "Structure" },
        a.members_static(),
    );
    let _ = writeln!(
        out,
        "impl {name} {{ /// The schema of this shape.\n pub const SCHEMA: &'static ::aws_smithy_schema::Schema<'static> = &{}; }}",
        a.schema_static()
    );

    // SerializableStruct.
    let _ = writeln!(
        out,
        "impl ::aws_smithy_schema::serde::SerializableStruct for {name} {{ fn schema(&self) -> &::aws_smithy_schema::Schema<'_> {{ Self::SCHEMA }} \
         #[allow(unused_variables)] fn serialize_members(&self, ser: &mut dyn ::aws_smithy_schema::serde::ShapeSerializer) -> ::std::result::Result<(), ::aws_smithy_schema::serde::SerdeError> {{"
    );
    if a.is_union {
        out.push_str("match self {");
        for m in &variants {
            let boxed = ctx.boxed.contains(&(a.id.clone(), m.name.clone()));
            let stmt = write_stmt(ctx, &a.member_static(m), &m.target, "val", boxed);
            let _ = write!(out, "Self::{}(val) => {{ {stmt} }}", pascal(&m.name));
        }
        if variants.is_empty() {
            out.push_str("_ => {}");
        }
        out.push_str("}\n");
    } else {
        for m in a.members {
            if ctx.is_streaming_blob(&m.target) || ctx.is_event_stream(&m.target) {
                continue; // Streaming payloads are written by the protocol, not the serializer.
            }
            let boxed = ctx.boxed.contains(&(a.id.clone(), m.name.clone()));
            let stmt = write_stmt(ctx, &a.member_static(m), &m.target, "val", boxed);
            if is_always_present(ctx, m) {
                let _ = write!(out, "{{ let val = &self.{}; {stmt} }}", snake(&m.name));
            } else {
                let _ = write!(
                    out,
                    "if let Some(val) = &self.{} {{ {stmt} }}",
                    snake(&m.name)
                );
            }
        }
    }
    out.push_str("Ok(()) } }\n");

    if !event_stream_union {
        emit_deserialize(ctx, a, &mut out);
    }
    out
}

fn emit_builder(ctx: &Ctx<'_>, a: &Aggregate<'_>, out: &mut String) {
    let name = &a.rust_name;
    let required: Vec<&Member> = a
        .members
        .iter()
        .filter(|m| m.traits.required || ctx.is_event_stream(&m.target))
        .collect();
    let _ = writeln!(
        out,
        "impl {name} {{ /// A builder for [`{name}`].\n pub fn builder() -> {name}Builder {{ {name}Builder::default() }} }}"
    );
    let _ = writeln!(
        out,
        "/// A builder for [`{name}`].\n#[derive(Default)]\npub struct {name}Builder {{"
    );
    for m in a.members {
        let _ = writeln!(
            out,
            "    pub(crate) {}: ::std::option::Option<{}>,",
            snake(&m.name),
            builder_type(ctx, a.id, m)
        );
    }
    if a.extra_message {
        out.push_str("    pub(crate) message: ::std::option::Option<::std::string::String>,\n");
    }
    out.push_str("}\n");
    let _ = writeln!(
        out,
        "impl ::std::fmt::Debug for {name}Builder {{ fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {{ f.debug_struct({}).finish_non_exhaustive() }} }}",
        lit(&format!("{name}Builder"))
    );
    let _ = writeln!(out, "impl {name}Builder {{");
    for m in a.members {
        let field = snake(&m.name);
        let setter = field.trim_start_matches("r#");
        // `build` is the builder's own method; smithy-rs names such a setter `build_value`.
        let setter_fn = if field == "build" {
            "build_value".to_owned()
        } else {
            field.clone()
        };
        let ty = builder_type(ctx, a.id, m);
        let _ = writeln!(
            out,
            "/// Sets `{}`.\n pub fn {setter_fn}(mut self, value: impl ::std::convert::Into<{ty}>) -> Self {{ self.{field} = Some(value.into()); self }}\n\
             /// Sets or clears `{}`.\n pub fn set_{setter}(mut self, value: ::std::option::Option<{ty}>) -> Self {{ self.{field} = value; self }}",
            m.name, m.name
        );
    }
    if a.extra_message {
        out.push_str("/// Sets the error message.\n pub fn message(mut self, value: impl ::std::convert::Into<::std::string::String>) -> Self { self.message = Some(value.into()); self }\n");
    }
    let mut fields = String::new();
    for m in a.members {
        let field = snake(&m.name);
        if ctx.is_streaming_blob(&m.target) {
            let _ = write!(fields, "{field}: self.{field}.unwrap_or_default(),");
        } else if m.traits.required || ctx.is_event_stream(&m.target) {
            let _ = write!(
                fields,
                "{field}: self.{field}.ok_or(::quarry_codegen_runtime::BuildError::missing({}, {}))?,",
                lit(&a.id.name),
                lit(&m.name)
            );
        } else {
            let _ = write!(fields, "{field}: self.{field},");
        }
    }
    if a.extra_message {
        fields.push_str("message: self.message,");
    }
    if required.is_empty() {
        let _ = writeln!(
            out,
            "/// Builds the [`{name}`].\n pub fn build(self) -> {name} {{ {name} {{ {fields} }} }}"
        );
    } else {
        let _ = writeln!(
            out,
            "/// Builds the [`{name}`], failing if a required member is unset.\n pub fn build(self) -> ::std::result::Result<{name}, ::quarry_codegen_runtime::BuildError> {{ Ok({name} {{ {fields} }}) }}"
        );
    }
    out.push_str("}\n");
}

fn emit_deserialize(ctx: &Ctx<'_>, a: &Aggregate<'_>, out: &mut String) {
    let name = &a.rust_name;
    let _ = writeln!(
        out,
        "impl {name} {{ /// Reads this shape, recording constraint violations in `v`; `None` when a required member is missing.\n\
         #[allow(unused_variables, unused_mut, clippy::match_single_binding, clippy::single_match)]\n\
         pub fn deserialize_schema(d: &mut dyn ::aws_smithy_schema::serde::ShapeDeserializer, v: &mut ::quarry_codegen_runtime::validation::Violations) -> ::std::result::Result<::std::option::Option<Self>, ::aws_smithy_schema::serde::SerdeError> {{"
    );
    if a.is_union {
        let _ = writeln!(
            out,
            "let mut value: ::std::option::Option<Self> = None; let mut complete = true;"
        );
    } else {
        let _ = writeln!(
            out,
            "let mut builder = {name}Builder::default(); let mut complete = true;"
        );
        // Required members track presence apart from validity, so an invalid value is not also
        // reported as missing.
        for (index, m) in a.members.iter().enumerate() {
            if m.traits.required && !ctx.is_event_stream(&m.target) {
                let _ = writeln!(out, "let mut seen_{index} = false;");
            }
        }
    }
    let _ = writeln!(
        out,
        "d.read_struct(&{}, &mut |member: &::aws_smithy_schema::Schema<'_>, d: &mut dyn ::aws_smithy_schema::serde::ShapeDeserializer| {{ match member.member_index() {{",
        a.schema_static()
    );
    for (index, m) in a.members.iter().enumerate() {
        if ctx.is_streaming_blob(&m.target) || ctx.is_event_stream(&m.target) {
            continue;
        }
        let field = snake(&m.name);
        let sensitive = is_sensitive(ctx, m);
        let read = read_expr(ctx, &a.member_static(m), &m.traits, &m.target, sensitive);
        let boxed = ctx.boxed.contains(&(a.id.clone(), m.name.clone()));
        let wrap = if boxed {
            "::std::boxed::Box::new(x)"
        } else {
            "x"
        };
        let assign = if a.is_union {
            format!("value = Some(Self::{}({wrap}))", pascal(&m.name))
        } else {
            format!("builder.{field} = Some({wrap})")
        };
        let seen = if !a.is_union && m.traits.required {
            format!("seen_{index} = true; ")
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "Some({index}) => {{ if d.is_null() {{ d.read_null()?; }} else {{ {seen}v.enter({}); match {read} {{ Some(x) => {{ {assign}; }} None => complete = false }} v.leave(); }} }}",
            lit(wire_name(m))
        );
    }
    out.push_str("_ => {} } Ok(()) })?;\n");
    if a.is_union {
        out.push_str("if value.is_none() && complete { v.missing_union(); } Ok(if complete { value } else { None }) } }\n");
    } else {
        for (index, m) in a.members.iter().enumerate() {
            if m.traits.required && !ctx.is_event_stream(&m.target) {
                let _ = writeln!(
                    out,
                    "if !seen_{index} {{ v.missing({}); complete = false; }}",
                    lit(wire_name(m))
                );
            }
        }
        let required = a
            .members
            .iter()
            .any(|m| m.traits.required || ctx.is_event_stream(&m.target));
        if required {
            out.push_str("if !complete { return Ok(None); } Ok(builder.build().ok()) } }\n");
        } else {
            out.push_str("if !complete { return Ok(None); } Ok(Some(builder.build())) } }\n");
        }
    }
}

/// Emits an open enum: known variants plus `Unknown`, as the AWS SDKs keep unknown values.
pub(crate) fn enumeration(ctx: &Ctx<'_>, id: &ShapeId) -> String {
    let ShapeKind::Enum(variants) = &ctx.shape(id).kind else {
        return String::new();
    };
    let name = ctx.type_name(id);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "/// The `{}` enum. Unknown values are kept in `Unknown`, as the AWS SDKs keep them.\n#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]\n#[non_exhaustive]\npub enum {name} {{",
        id.name
    );
    let mut used = std::collections::BTreeSet::new();
    let mut names = Vec::new();
    for v in variants {
        let mut n = pascal(&v.name);
        while n == "Unknown" || !used.insert(n.clone()) {
            n.push('_');
        }
        let _ = writeln!(out, "    /// `{}`\n    {n},", v.value.replace('`', "'"));
        names.push(n);
    }
    out.push_str("    /// A value this version of the model does not know.\n    Unknown(::std::string::String),\n}\n");
    let values: Vec<String> = variants.iter().map(|v| lit(&v.value)).collect();
    let _ = writeln!(
        out,
        "impl {name} {{ /// Every known value.\n pub const fn values() -> &'static [&'static str] {{ &[{}] }}",
        values.join(", ")
    );
    out.push_str("/// The wire value.\n pub fn as_str(&self) -> &str { match self {");
    for (n, v) in names.iter().zip(variants) {
        let _ = write!(out, "Self::{n} => {},", lit(&v.value));
    }
    out.push_str("Self::Unknown(s) => s.as_str(), } } }\n");
    let _ = writeln!(
        out,
        "impl ::std::convert::From<&str> for {name} {{ fn from(s: &str) -> Self {{ match s {{"
    );
    for (n, v) in names.iter().zip(variants) {
        let _ = write!(out, "{} => Self::{n},", lit(&v.value));
    }
    out.push_str("other => Self::Unknown(other.to_owned()), } } }\n");
    let _ = writeln!(
        out,
        "impl ::std::str::FromStr for {name} {{ type Err = ::std::convert::Infallible; fn from_str(s: &str) -> ::std::result::Result<Self, Self::Err> {{ Ok(Self::from(s)) }} }}"
    );
    let _ = writeln!(
        out,
        "impl ::std::fmt::Display for {name} {{ fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {{ f.write_str(self.as_str()) }} }}"
    );
    out
}

/// Emits `types.rs` and one file per shared structure, union and enum.
pub(crate) fn emit(ctx: &Ctx<'_>) -> anyhow::Result<Vec<File>> {
    let mut files = Vec::new();
    let mut toc = ctx.header(
        "emit::shapes",
        "Shapes shared by the operations: structures, unions and enums.",
    );
    toc.push_str("pub mod error;\n");
    let mut builders = String::new();
    for shape in ctx.svc.shapes.values() {
        if !matches!(ctx.places.get(&shape.id), Some(Place::Type)) {
            continue;
        }
        let m = type_module(&shape.id.name);
        let name = ctx.type_name(&shape.id);
        let mut text = ctx.header("emit::shapes", &format!("The `{}` shape.", shape.id.name));
        match &shape.kind {
            ShapeKind::Enum(_) => {
                text.push_str(&enumeration(ctx, &shape.id));
                let _ = writeln!(toc, "pub(crate) mod {m};\npub use self::{m}::{name};");
            }
            ShapeKind::Structure(members) | ShapeKind::Union(members) => {
                let is_union = matches!(shape.kind, ShapeKind::Union(_));
                text.push_str(&aggregate(
                    ctx,
                    &Aggregate {
                        id: &shape.id,
                        rust_name: name.clone(),
                        prefix: "",
                        members,
                        traits: &shape.traits,
                        is_union,
                        http: None,
                        output_root: ctx.payload_targets.contains(&shape.id),
                        unwrapped_xml: false,
                        error: None,
                        extra_message: false,
                    },
                ));
                if shape.traits.streaming && is_union {
                    text.push_str(&super::error::stream_error_enum(ctx, &shape.id));
                    let _ = writeln!(
                        toc,
                        "pub(crate) mod {m};\npub use self::{m}::{{{name}, {name}Error}};"
                    );
                } else {
                    let _ = writeln!(toc, "pub(crate) mod {m};\npub use self::{m}::{name};");
                }
                if !is_union {
                    let _ = writeln!(builders, "pub use super::{m}::{name}Builder;");
                }
            }
            _ => continue,
        }
        files.push(File {
            path: format!("src/types/{m}.rs"),
            text,
        });
    }
    let _ = writeln!(
        toc,
        "/// Builders for the shared structures.\npub mod builders {{ {builders} }}"
    );
    files.push(File {
        path: "src/types.rs".into(),
        text: toc,
    });
    Ok(files)
}
