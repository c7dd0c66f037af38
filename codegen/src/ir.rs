//! IR stage: a protocol-neutral, resolved view of one service: shapes, members, typed traits, operations.

use std::collections::BTreeMap;

use anyhow::{Context, anyhow, bail};
use serde_json::Value;

use crate::load;

/// A shape id split into namespace and name (`com.amazonaws.s3#PutObjectRequest`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ShapeId {
    pub namespace: String,
    pub name: String,
}

impl ShapeId {
    pub fn parse(id: &str) -> anyhow::Result<Self> {
        let (namespace, name) = id
            .split_once('#')
            .ok_or_else(|| anyhow!("shape id without '#': {id}"))?;
        Ok(Self {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        })
    }

    pub fn absolute(&self) -> String {
        format!("{}#{}", self.namespace, self.name)
    }

    fn is_prelude(&self) -> bool {
        self.namespace == "smithy.api"
    }
}

impl std::fmt::Display for ShapeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}#{}", self.namespace, self.name)
    }
}

/// Scalar kinds, named as Smithy names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Simple {
    Blob,
    Boolean,
    String,
    Byte,
    Short,
    Integer,
    Long,
    Float,
    Double,
    BigInteger,
    BigDecimal,
    Timestamp,
    Document,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampFormat {
    DateTime,
    HttpDate,
    EpochSeconds,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    Client,
    Server,
}

/// `smithy.api#length` or `smithy.api#range` bounds.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Bounds {
    pub min: Option<f64>,
    pub max: Option<f64>,
}

/// The traits the generator understands, parsed; anything else lands in `unsupported`.
#[derive(Debug, Clone, Default)]
pub struct Traits {
    pub required: bool,
    pub sensitive: bool,
    pub streaming: bool,
    pub requires_length: bool,
    pub json_name: Option<String>,
    pub xml_name: Option<String>,
    pub xml_attribute: bool,
    pub xml_flattened: bool,
    pub xml_namespace: Option<(String, Option<String>)>,
    pub timestamp_format: Option<TimestampFormat>,
    pub http_header: Option<String>,
    pub http_label: bool,
    pub http_query: Option<String>,
    pub http_query_params: bool,
    pub http_prefix_headers: Option<String>,
    pub http_payload: bool,
    pub http_response_code: bool,
    pub event_header: bool,
    pub event_payload: bool,
    pub media_type: Option<String>,
    pub idempotency_token: bool,
    pub error: Option<ErrorKind>,
    pub http_error: Option<u16>,
    pub length: Option<Bounds>,
    pub range: Option<Bounds>,
    pub pattern: Option<String>,
    pub enum_value: Option<Value>,
    pub s3_unwrapped_xml_output: bool,
    /// Trait ids present on the shape that the generator neither implements nor deliberately ignores.
    pub unsupported: Vec<String>,
}

/// Traits with no effect on what a server reads or writes. Each is ignored on purpose.
const IGNORED_TRAITS: &[(&str, &str)] = &[
    (
        "smithy.api#documentation",
        "documentation is stripped from models",
    ),
    (
        "smithy.api#deprecated",
        "deprecated members are still served",
    ),
    ("smithy.api#title", "service display name"),
    ("smithy.api#paginated", "pagination is a client convenience"),
    ("smithy.api#readonly", "safety hint for clients"),
    ("smithy.api#idempotent", "safety hint for clients"),
    ("smithy.api#retryable", "retry hint for clients"),
    ("smithy.api#input", "marks synthetic inputs"),
    ("smithy.api#output", "marks synthetic outputs"),
    ("smithy.api#suppress", "model validation suppression"),
    ("smithy.api#tags", "model tags"),
    ("smithy.api#since", "model versioning"),
    ("smithy.api#unstable", "model stability hint"),
    ("smithy.api#recommended", "client hint"),
    ("smithy.api#examples", "documentation"),
    ("smithy.api#externalDocumentation", "documentation"),
    (
        "smithy.api#auth",
        "authentication is checked by the gateway, not by generated code",
    ),
    (
        "smithy.api#optionalAuth",
        "authentication is checked by the gateway",
    ),
    (
        "smithy.api#unsignedPayload",
        "authentication is checked by the gateway",
    ),
    (
        "smithy.api#endpoint",
        "host prefixes are client endpoint resolution",
    ),
    (
        "smithy.api#hostLabel",
        "host prefixes are client endpoint resolution",
    ),
    (
        "smithy.api#httpChecksumRequired",
        "checksums are verified by the gateway's body handling",
    ),
    (
        "smithy.api#default",
        "every optional member is an Option; the handler decides what to send",
    ),
    ("smithy.api#addedDefault", "see smithy.api#default"),
    ("smithy.api#clientOptional", "client nullability hint"),
    (
        "smithy.api#box",
        "Smithy 1.0 nullability; every member is nullable here",
    ),
    ("aws.api#service", "SDK metadata"),
    ("aws.api#arn", "ARN templates for IAM"),
    ("aws.api#arnReference", "ARN templates for IAM"),
    ("aws.api#controlPlane", "SDK metadata"),
    ("aws.api#dataPlane", "SDK metadata"),
    ("aws.auth#sigv4", "SigV4 is verified by the gateway"),
    (
        "aws.auth#unsignedPayload",
        "SigV4 is verified by the gateway",
    ),
    (
        "aws.protocols#httpChecksum",
        "checksums are verified by the gateway's body handling",
    ),
    ("aws.protocols#restJson1", "read as the service protocol"),
    ("aws.protocols#restXml", "read as the service protocol"),
    (
        "aws.protocols#awsQueryError",
        "only for awsQuery-compatible clients",
    ),
    (
        "aws.customizations#s3UnwrappedXmlOutput",
        "parsed into Traits::s3_unwrapped_xml_output",
    ),
    ("aws.iam#actionPermissionDescription", "IAM metadata"),
    ("aws.iam#conditionKeys", "IAM metadata"),
    ("aws.iam#requiredActions", "IAM metadata"),
    ("aws.iam#iamResource", "IAM metadata"),
    ("aws.iam#defineConditionKeys", "IAM metadata"),
    ("aws.iam#disableConditionKeyInference", "IAM metadata"),
    ("aws.iam#supportedPrincipalTypes", "IAM metadata"),
    ("aws.iam#actionName", "IAM metadata"),
    (
        "aws.cloudformation#cfnExcludeProperty",
        "CloudFormation metadata",
    ),
    (
        "aws.cloudformation#cfnMutability",
        "CloudFormation metadata",
    ),
    ("smithy.rules#contextParam", "client endpoint rules"),
    ("smithy.rules#staticContextParams", "client endpoint rules"),
    (
        "smithy.rules#operationContextParams",
        "client endpoint rules",
    ),
    ("smithy.rules#clientContextParams", "client endpoint rules"),
    ("smithy.rules#endpointRuleSet", "client endpoint rules"),
    ("smithy.rules#endpointTests", "client endpoint rules"),
    ("smithy.rules#endpointBdd", "client endpoint rules"),
    (
        "smithy.api#enum",
        "Smithy 1.0 enum values; parsed into enum variants",
    ),
    ("smithy.api#http", "parsed into Operation::http"),
];

fn bounds(v: &Value) -> Bounds {
    Bounds {
        min: v.get("min").and_then(Value::as_f64),
        max: v.get("max").and_then(Value::as_f64),
    }
}

fn string(v: &Value, id: &str) -> anyhow::Result<String> {
    v.as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("trait {id} must be a string, got {v}"))
}

impl Traits {
    /// Parses a trait map; unknown ids go to `unsupported` for the validate stage to name.
    pub fn parse(raw: &load::Traits) -> anyhow::Result<Self> {
        let mut t = Traits::default();
        for (id, v) in raw {
            match id.as_str() {
                "smithy.api#required" => t.required = true,
                "smithy.api#sensitive" => t.sensitive = true,
                "smithy.api#streaming" => t.streaming = true,
                "smithy.api#requiresLength" => t.requires_length = true,
                "smithy.api#jsonName" => t.json_name = Some(string(v, id)?),
                "smithy.api#xmlName" => t.xml_name = Some(string(v, id)?),
                "smithy.api#xmlAttribute" => t.xml_attribute = true,
                "smithy.api#xmlFlattened" => t.xml_flattened = true,
                "smithy.api#xmlNamespace" => {
                    let uri = v
                        .get("uri")
                        .and_then(Value::as_str)
                        .ok_or_else(|| anyhow!("xmlNamespace without uri"))?;
                    let prefix = v.get("prefix").and_then(Value::as_str).map(str::to_owned);
                    t.xml_namespace = Some((uri.to_owned(), prefix));
                }
                "smithy.api#timestampFormat" => {
                    t.timestamp_format = Some(match v.as_str() {
                        Some("date-time") => TimestampFormat::DateTime,
                        Some("http-date") => TimestampFormat::HttpDate,
                        Some("epoch-seconds") => TimestampFormat::EpochSeconds,
                        _ => bail!("unknown timestamp format {v}"),
                    })
                }
                "smithy.api#httpHeader" => t.http_header = Some(string(v, id)?),
                "smithy.api#httpLabel" => t.http_label = true,
                "smithy.api#httpQuery" => t.http_query = Some(string(v, id)?),
                "smithy.api#httpQueryParams" => t.http_query_params = true,
                "smithy.api#httpPrefixHeaders" => t.http_prefix_headers = Some(string(v, id)?),
                "smithy.api#httpPayload" => t.http_payload = true,
                "smithy.api#httpResponseCode" => t.http_response_code = true,
                "smithy.api#eventHeader" => t.event_header = true,
                "smithy.api#eventPayload" => t.event_payload = true,
                "smithy.api#mediaType" => t.media_type = Some(string(v, id)?),
                "smithy.api#idempotencyToken" => t.idempotency_token = true,
                "smithy.api#error" => {
                    t.error = Some(match v.as_str() {
                        Some("client") => ErrorKind::Client,
                        Some("server") => ErrorKind::Server,
                        _ => bail!("unknown error kind {v}"),
                    })
                }
                "smithy.api#httpError" => {
                    t.http_error = Some(
                        v.as_u64()
                            .and_then(|c| u16::try_from(c).ok())
                            .ok_or_else(|| anyhow!("bad httpError {v}"))?,
                    )
                }
                "smithy.api#length" => t.length = Some(bounds(v)),
                "smithy.api#range" => t.range = Some(bounds(v)),
                "smithy.api#pattern" => t.pattern = Some(string(v, id)?),
                "smithy.api#enumValue" => t.enum_value = Some(v.clone()),
                "aws.customizations#s3UnwrappedXmlOutput" => t.s3_unwrapped_xml_output = true,
                other if IGNORED_TRAITS.iter().any(|(i, _)| *i == other) => {}
                other => t.unsupported.push(other.to_owned()),
            }
        }
        Ok(t)
    }
}

/// A member of an aggregate shape, with its resolved target.
#[derive(Debug, Clone)]
pub struct Member {
    pub name: String,
    pub target: ShapeId,
    pub traits: Traits,
}

#[derive(Debug, Clone)]
pub struct EnumVariant {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone)]
pub enum ShapeKind {
    Simple(Simple),
    Enum(Vec<EnumVariant>),
    IntEnum(Vec<(String, i64)>),
    List(Box<Member>),
    Map(Box<Member>, Box<Member>),
    Structure(Vec<Member>),
    Union(Vec<Member>),
}

#[derive(Debug, Clone)]
pub struct Shape {
    pub id: ShapeId,
    pub kind: ShapeKind,
    pub traits: Traits,
}

#[derive(Debug, Clone)]
pub struct Http {
    pub method: String,
    pub uri: String,
    pub code: u16,
}

#[derive(Debug, Clone)]
pub struct Operation {
    pub id: ShapeId,
    pub http: Http,
    /// `None` for `smithy.api#Unit`.
    pub input: Option<ShapeId>,
    pub output: Option<ShapeId>,
    pub errors: Vec<ShapeId>,
    pub traits: Traits,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Protocol {
    RestJson1,
    RestXml { no_error_wrapping: bool },
}

/// One service, everything the emitters need.
#[derive(Debug, Clone)]
pub struct Service {
    pub id: ShapeId,
    pub version: Option<String>,
    pub protocol: Protocol,
    pub traits: Traits,
    pub operations: Vec<Operation>,
    pub shapes: BTreeMap<ShapeId, Shape>,
}

impl Service {
    pub fn shape(&self, id: &ShapeId) -> anyhow::Result<&Shape> {
        self.shapes
            .get(id)
            .ok_or_else(|| anyhow!("dangling target {id}"))
    }
}

fn prelude(id: &ShapeId) -> Option<ShapeKind> {
    if !id.is_prelude() {
        return None;
    }
    let simple = match id.name.as_str() {
        "Blob" => Simple::Blob,
        "Boolean" | "PrimitiveBoolean" => Simple::Boolean,
        "String" => Simple::String,
        "Byte" | "PrimitiveByte" => Simple::Byte,
        "Short" | "PrimitiveShort" => Simple::Short,
        "Integer" | "PrimitiveInteger" => Simple::Integer,
        "Long" | "PrimitiveLong" => Simple::Long,
        "Float" | "PrimitiveFloat" => Simple::Float,
        "Double" | "PrimitiveDouble" => Simple::Double,
        "BigInteger" => Simple::BigInteger,
        "BigDecimal" => Simple::BigDecimal,
        "Timestamp" => Simple::Timestamp,
        "Document" => Simple::Document,
        "Unit" => return Some(ShapeKind::Structure(Vec::new())),
        _ => return None,
    };
    Some(ShapeKind::Simple(simple))
}

fn member(name: &str, m: &load::Member) -> anyhow::Result<Member> {
    Ok(Member {
        name: name.to_owned(),
        target: ShapeId::parse(&m.target)?,
        traits: Traits::parse(&m.traits).with_context(|| format!("member {name}"))?,
    })
}

fn members(raw: &indexmap::IndexMap<String, load::Member>) -> anyhow::Result<Vec<Member>> {
    raw.iter().map(|(n, m)| member(n, m)).collect()
}

/// Builds the IR of the one service in `model`.
pub fn build(model: &load::Model) -> anyhow::Result<Service> {
    let mut shapes = BTreeMap::new();
    let mut service = None;
    let mut operations = BTreeMap::new();
    for (raw_id, shape) in &model.shapes {
        let id = ShapeId::parse(raw_id)?;
        let ctx = || format!("shape {raw_id}");
        // Enum members become variants, not IR members; their unknown traits are reported on the shape.
        let mut member_unsupported: Vec<String> = Vec::new();
        let (kind, traits) = match shape {
            load::Shape::Blob(s) => (ShapeKind::Simple(Simple::Blob), &s.traits),
            load::Shape::Boolean(s) => (ShapeKind::Simple(Simple::Boolean), &s.traits),
            load::Shape::String(s) => (ShapeKind::Simple(Simple::String), &s.traits),
            load::Shape::Byte(s) => (ShapeKind::Simple(Simple::Byte), &s.traits),
            load::Shape::Short(s) => (ShapeKind::Simple(Simple::Short), &s.traits),
            load::Shape::Integer(s) => (ShapeKind::Simple(Simple::Integer), &s.traits),
            load::Shape::Long(s) => (ShapeKind::Simple(Simple::Long), &s.traits),
            load::Shape::Float(s) => (ShapeKind::Simple(Simple::Float), &s.traits),
            load::Shape::Double(s) => (ShapeKind::Simple(Simple::Double), &s.traits),
            load::Shape::BigInteger(s) => (ShapeKind::Simple(Simple::BigInteger), &s.traits),
            load::Shape::BigDecimal(s) => (ShapeKind::Simple(Simple::BigDecimal), &s.traits),
            load::Shape::Timestamp(s) => (ShapeKind::Simple(Simple::Timestamp), &s.traits),
            load::Shape::Document(s) => (ShapeKind::Simple(Simple::Document), &s.traits),
            load::Shape::Enum(a) => {
                let mut variants = Vec::new();
                for (name, m) in &a.members {
                    let t = Traits::parse(&m.traits).with_context(ctx)?;
                    member_unsupported.extend(
                        t.unsupported
                            .iter()
                            .map(|u| format!("{u} (on enum member {name})")),
                    );
                    let value = match &t.enum_value {
                        Some(Value::String(s)) => s.clone(),
                        None => name.clone(),
                        Some(v) => bail!("{}: enum value {v} is not a string", ctx()),
                    };
                    variants.push(EnumVariant {
                        name: name.clone(),
                        value,
                    });
                }
                (ShapeKind::Enum(variants), &a.traits)
            }
            load::Shape::IntEnum(a) => {
                let mut variants = Vec::new();
                for (name, m) in &a.members {
                    let t = Traits::parse(&m.traits).with_context(ctx)?;
                    member_unsupported.extend(
                        t.unsupported
                            .iter()
                            .map(|u| format!("{u} (on enum member {name})")),
                    );
                    let value = t
                        .enum_value
                        .as_ref()
                        .and_then(Value::as_i64)
                        .ok_or_else(|| anyhow!("{}: intEnum value", ctx()))?;
                    variants.push((name.clone(), value));
                }
                (ShapeKind::IntEnum(variants), &a.traits)
            }
            load::Shape::List(l) => (
                ShapeKind::List(Box::new(member("member", &l.member)?)),
                &l.traits,
            ),
            load::Shape::Map(m) => (
                ShapeKind::Map(
                    Box::new(member("key", &m.key)?),
                    Box::new(member("value", &m.value)?),
                ),
                &m.traits,
            ),
            load::Shape::Structure(a) => (
                ShapeKind::Structure(members(&a.members).with_context(ctx)?),
                &a.traits,
            ),
            load::Shape::Union(a) => (
                ShapeKind::Union(members(&a.members).with_context(ctx)?),
                &a.traits,
            ),
            load::Shape::Operation(op) => {
                operations.insert(id.clone(), op);
                continue;
            }
            load::Shape::Service(s) => {
                if service.replace((id.clone(), s)).is_some() {
                    bail!("more than one service shape in the model");
                }
                continue;
            }
            load::Shape::Resource(_) => bail!(
                "{}: resources are not supported; trim the model to operations",
                ctx()
            ),
        };
        let mixins = match shape {
            load::Shape::Structure(a)
            | load::Shape::Union(a)
            | load::Shape::Enum(a)
            | load::Shape::IntEnum(a) => !a.mixins.is_empty(),
            _ => false,
        };
        if mixins {
            bail!("{}: mixins must be flattened before generation", ctx());
        }
        let mut traits = Traits::parse(traits).with_context(ctx)?;
        traits.unsupported.extend(member_unsupported);
        shapes.insert(id.clone(), Shape { id, kind, traits });
    }
    let (service_id, raw) = service.ok_or_else(|| anyhow!("the model has no service shape"))?;
    let traits = Traits::parse(&raw.traits)?;
    let protocol = if raw.traits.contains_key("aws.protocols#restJson1") {
        Protocol::RestJson1
    } else if let Some(v) = raw.traits.get("aws.protocols#restXml") {
        Protocol::RestXml {
            no_error_wrapping: v
                .get("noErrorWrapping")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        }
    } else {
        bail!("service {service_id} has no supported protocol trait (restJson1 or restXml)");
    };
    let mut ops = Vec::new();
    for target in &raw.operations {
        let id = ShapeId::parse(&target.target)?;
        let op = operations
            .get(&id)
            .ok_or_else(|| anyhow!("service operation {id} is not in the model"))?;
        let traits = Traits::parse(&op.traits).with_context(|| format!("operation {id}"))?;
        let http = op
            .traits
            .get("smithy.api#http")
            .ok_or_else(|| anyhow!("operation {id} has no smithy.api#http trait"))?;
        let http = Http {
            method: http
                .get("method")
                .and_then(Value::as_str)
                .ok_or_else(|| anyhow!("{id}: http.method"))?
                .to_owned(),
            uri: http
                .get("uri")
                .and_then(Value::as_str)
                .ok_or_else(|| anyhow!("{id}: http.uri"))?
                .to_owned(),
            code: http
                .get("code")
                .and_then(Value::as_u64)
                .and_then(|c| u16::try_from(c).ok())
                .unwrap_or(200),
        };
        let unit = |t: &Option<load::Target>| -> anyhow::Result<Option<ShapeId>> {
            match t {
                None => Ok(None),
                Some(t) if t.target == "smithy.api#Unit" => Ok(None),
                Some(t) => Ok(Some(ShapeId::parse(&t.target)?)),
            }
        };
        ops.push(Operation {
            input: unit(&op.input)?,
            output: unit(&op.output)?,
            errors: op
                .errors
                .iter()
                .map(|e| ShapeId::parse(&e.target))
                .collect::<anyhow::Result<_>>()?,
            id,
            http,
            traits,
        });
    }
    ops.sort_by(|a, b| a.id.name.cmp(&b.id.name));
    // Prelude targets become ordinary shapes so emitters never special-case them.
    let mut prelude_shapes = Vec::new();
    let all_targets = shapes.values().flat_map(|s| match &s.kind {
        ShapeKind::List(m) => vec![m.target.clone()],
        ShapeKind::Map(k, v) => vec![k.target.clone(), v.target.clone()],
        ShapeKind::Structure(ms) | ShapeKind::Union(ms) => {
            ms.iter().map(|m| m.target.clone()).collect()
        }
        _ => vec![],
    });
    for t in all_targets {
        if let Some(kind) = prelude(&t) {
            prelude_shapes.push(Shape {
                id: t,
                kind,
                traits: Traits::default(),
            });
        }
    }
    // Synthetic error messages target the prelude String.
    prelude_shapes.push(Shape {
        id: ShapeId {
            namespace: "smithy.api".into(),
            name: "String".into(),
        },
        kind: ShapeKind::Simple(Simple::String),
        traits: Traits::default(),
    });
    for s in prelude_shapes {
        shapes.entry(s.id.clone()).or_insert(s);
    }
    Ok(Service {
        id: service_id,
        version: raw.version.clone(),
        protocol,
        traits,
        operations: ops,
        shapes,
    })
}
