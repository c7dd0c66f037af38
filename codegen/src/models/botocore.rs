//! Converts a botocore `service-2.json` description into a Smithy 2.0 JSON AST.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, Result, anyhow, bail};
use serde_json::{Map, Value, json};

/// Official service shape names and protocol details botocore does not carry, by namespace.
struct KnownService {
    namespace: &'static str,
    shape_name: &'static str,
    arn_namespace: Option<&'static str>,
    /// S3 returns bare `<Error>` documents instead of `<ErrorResponse><Error>`.
    no_error_wrapping: bool,
    /// Default XML namespace of every document (S3 only; botocore repeats it per payload member).
    xml_namespace: Option<&'static str>,
}

const KNOWN_SERVICES: &[KnownService] = &[
    KnownService {
        namespace: "com.amazonaws.bedrockruntime",
        shape_name: "AmazonBedrockFrontendService",
        arn_namespace: None,
        no_error_wrapping: false,
        xml_namespace: None,
    },
    KnownService {
        namespace: "com.amazonaws.bedrock",
        shape_name: "AmazonBedrockControlPlaneService",
        arn_namespace: None,
        no_error_wrapping: false,
        xml_namespace: None,
    },
    KnownService {
        namespace: "com.amazonaws.s3",
        shape_name: "AmazonS3",
        arn_namespace: Some("s3"),
        no_error_wrapping: true,
        xml_namespace: Some("http://s3.amazonaws.com/doc/2006-03-01/"),
    },
];

/// Operation traits the official models carry but botocore cannot express: (namespace, operation,
/// trait id). GetBucketLocation answers `<LocationConstraint>` as the document root itself rather
/// than wrapping the output structure's members.
const OPERATION_PATCHES: &[(&str, &str, &str)] = &[(
    "com.amazonaws.s3",
    "GetBucketLocation",
    "aws.customizations#s3UnwrappedXmlOutput",
)];

/// S3 operations that share a method and path with another one and differ only by query parameters
/// or headers. The official model gives each an `x-id=<Operation>` query literal so a Smithy router
/// can tell them apart; botocore omits it. We keep the literal, and the gateway's S3 request
/// normalisation adds `x-id` to requests that lack it (boto3 never sends one).
const X_ID_OPERATIONS: &[(&str, &str)] = &[
    ("com.amazonaws.s3", "AbortMultipartUpload"),
    ("com.amazonaws.s3", "CopyObject"),
    ("com.amazonaws.s3", "DeleteObject"),
    ("com.amazonaws.s3", "GetObject"),
    ("com.amazonaws.s3", "ListBuckets"),
    ("com.amazonaws.s3", "ListParts"),
    ("com.amazonaws.s3", "PutObject"),
    ("com.amazonaws.s3", "UploadPart"),
];

/// Document element names of S3 output structures: botocore clients never check the root element
/// of a response, so botocore omits them, but a server must emit them. (namespace, shape, element);
/// the official-model comparison test reports any served output still missing one.
const XML_ROOT_NAMES: &[(&str, &str, &str)] = &[
    (
        "com.amazonaws.s3",
        "CompleteMultipartUploadOutput",
        "CompleteMultipartUploadResult",
    ),
    (
        "com.amazonaws.s3",
        "CreateMultipartUploadOutput",
        "InitiateMultipartUploadResult",
    ),
    ("com.amazonaws.s3", "DeleteObjectsOutput", "DeleteResult"),
    (
        "com.amazonaws.s3",
        "GetBucketLocationOutput",
        "LocationConstraint",
    ),
    (
        "com.amazonaws.s3",
        "ListBucketsOutput",
        "ListAllMyBucketsResult",
    ),
    (
        "com.amazonaws.s3",
        "ListMultipartUploadsOutput",
        "ListMultipartUploadsResult",
    ),
    ("com.amazonaws.s3", "ListObjectsOutput", "ListBucketResult"),
    (
        "com.amazonaws.s3",
        "ListObjectsV2Output",
        "ListBucketResult",
    ),
    ("com.amazonaws.s3", "ListPartsOutput", "ListPartsResult"),
];

/// Name of the blob shape synthesized for streaming payload members, as the official models call it.
const STREAMING_BLOB: &str = "StreamingBlob";

// Keys deliberately not translated, with the reason. Any other unknown key fails the conversion.
const IGNORED_TOP: &[(&str, &str)] = &[
    ("documentation", "documentation is stripped from the output"),
    (
        "clientContextParams",
        "client endpoint-resolution settings; a server resolves no endpoints",
    ),
];
const IGNORED_METADATA: &[(&str, &str)] = &[
    ("uid", "identifies the file, not the API"),
    (
        "signatureVersion",
        "signing is modelled by aws.auth#sigv4 from signingName",
    ),
    (
        "auth",
        "client auth-scheme preference; the gateway authenticates on its own terms",
    ),
    ("protocols", "the primary `protocol` is the one served"),
    (
        "protocolSettings",
        "HTTP/2 preference is a transport hint for clients",
    ),
    ("checksumFormat", "legacy client checksum hint"),
    ("globalEndpoint", "endpoint resolution is client-only"),
    ("serviceAbbreviation", "display name only"),
];
const IGNORED_OPERATION: &[(&str, &str)] = &[
    ("documentation", "documentation is stripped from the output"),
    (
        "documentationUrl",
        "documentation is stripped from the output",
    ),
    ("staticContextParams", "endpoint-rule inputs, client-only"),
    ("contextParams", "endpoint-rule inputs, client-only"),
    (
        "operationContextParams",
        "endpoint-rule inputs, client-only",
    ),
];
const IGNORED_SHAPE: &[(&str, &str)] = &[
    ("documentation", "documentation is stripped from the output"),
    (
        "box",
        "Smithy 2.0 members are optional unless required; box only marks nullable primitives",
    ),
    (
        "event",
        "Smithy has no event trait: a structure in a streaming union is an event",
    ),
    (
        "synthetic",
        "botocore-internal marker for errors it adds itself",
    ),
];
const IGNORED_MEMBER: &[(&str, &str)] = &[
    ("documentation", "documentation is stripped from the output"),
    (
        "box",
        "Smithy 2.0 members are optional unless required; box only marks nullable primitives",
    ),
    ("contextParam", "endpoint-rule input, client-only"),
];

/// Converts a whole botocore service description (every operation and shape) into a Smithy JSON
/// AST in `namespace`; trimming to the served operations happens afterwards.
pub fn convert(model: &Value, namespace: &str) -> Result<Value> {
    let mut top = Keys::new(model, "service description")?;
    let _format_version = top.take("version");
    let metadata = top
        .take("metadata")
        .ok_or_else(|| anyhow!("service description has no metadata"))?;
    let operations = top
        .take("operations")
        .ok_or_else(|| anyhow!("service description has no operations"))?;
    let shapes = top
        .take("shapes")
        .ok_or_else(|| anyhow!("service description has no shapes"))?;
    top.finish(IGNORED_TOP)?;

    let meta = Metadata::parse(&metadata)?;
    let shapes = shapes
        .as_object()
        .ok_or_else(|| anyhow!("`shapes` is not an object"))?;
    let operations = operations
        .as_object()
        .ok_or_else(|| anyhow!("`operations` is not an object"))?;

    let mut converter = Converter {
        ns: namespace,
        xml: meta.xml,
        default_xml_namespace: Metadata::known(namespace).and_then(|k| k.xml_namespace),
        shapes,
        flattened: flattened_shapes(shapes),
        synthesized: BTreeMap::new(),
        extra_traits: BTreeMap::new(),
    };
    let mut out: BTreeMap<String, Value> = BTreeMap::new();
    let mut op_ids = Vec::new();
    for (name, def) in operations {
        let id = converter.id(name);
        let shape = converter
            .operation(name, def)
            .with_context(|| format!("operation {name}"))?;
        op_ids.push(id.clone());
        out.insert(id, shape);
    }
    for (name, def) in shapes {
        let shape = converter
            .shape(name, def)
            .with_context(|| format!("shape {name}"))?;
        let id = converter.id(name);
        if out.insert(id, shape).is_some() {
            bail!("shape {name} has the same name as an operation");
        }
    }
    for (ns, shape, element) in XML_ROOT_NAMES {
        // Applied where the shape exists: the comparison test catches a served output left without one.
        if *ns == namespace && shapes.contains_key(*shape) {
            let traits = converter
                .extra_traits
                .entry(converter.id(shape))
                .or_default();
            traits.insert("smithy.api#xmlName".into(), json!(element));
        }
    }
    for (id, traits) in std::mem::take(&mut converter.extra_traits) {
        let shape_traits = out
            .get_mut(&id)
            .and_then(|s| s.as_object_mut())
            .ok_or_else(|| anyhow!("{id} not found"))?
            .entry("traits")
            .or_insert_with(|| json!({}));
        if let Some(t) = shape_traits.as_object_mut() {
            t.extend(traits);
        }
    }
    for (name, shape) in std::mem::take(&mut converter.synthesized) {
        if shapes.contains_key(&name) {
            bail!(
                "synthesized streaming blob `{name}` collides with a botocore shape of that name"
            );
        }
        out.insert(converter.id(&name), shape);
    }
    op_ids.sort();
    let service_id = format!("{namespace}#{}", meta.service_shape_name(namespace));
    out.insert(service_id, meta.service_shape(namespace, &op_ids));

    let shapes: Map<String, Value> = out.into_iter().collect();
    Ok(json!({ "smithy": "2.0", "shapes": shapes }))
}

/// Removes keys from a botocore object as they are translated, so leftovers can be reported.
struct Keys {
    what: String,
    rest: Map<String, Value>,
}

impl Keys {
    fn new(value: &Value, what: impl Into<String>) -> Result<Self> {
        let what = what.into();
        let rest = value
            .as_object()
            .cloned()
            .ok_or_else(|| anyhow!("{what} is not an object"))?;
        Ok(Self { what, rest })
    }

    fn take(&mut self, key: &str) -> Option<Value> {
        self.rest.remove(key)
    }

    fn take_str(&mut self, key: &str) -> Result<Option<String>> {
        match self.rest.remove(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => bail!("{}: `{key}` is not a string: {other}", self.what),
        }
    }

    fn take_bool(&mut self, key: &str) -> Result<bool> {
        match self.rest.remove(key) {
            None => Ok(false),
            Some(Value::Bool(b)) => Ok(b),
            Some(other) => bail!("{}: `{key}` is not a boolean: {other}", self.what),
        }
    }

    fn finish(self, ignored: &[(&str, &str)]) -> Result<()> {
        let unknown: Vec<&String> = self
            .rest
            .keys()
            .filter(|k| !ignored.iter().any(|(i, _)| i == k))
            .collect();
        if !unknown.is_empty() {
            let list: Vec<String> = unknown.iter().map(|k| format!("`{k}`")).collect();
            bail!(
                "{}: untranslated botocore key {}",
                self.what,
                list.join(", ")
            );
        }
        Ok(())
    }
}

struct Metadata {
    api_version: String,
    xml: bool,
    signing_name: String,
    service_id: String,
    endpoint_prefix: String,
    title: Option<String>,
}

impl Metadata {
    fn parse(value: &Value) -> Result<Self> {
        let mut m = Keys::new(value, "metadata")?;
        let protocol = m
            .take_str("protocol")?
            .ok_or_else(|| anyhow!("metadata has no protocol"))?;
        let xml = match protocol.as_str() {
            "rest-json" => false,
            "rest-xml" => true,
            other => bail!("unsupported botocore protocol `{other}` (only rest-json and rest-xml)"),
        };
        let api_version = m
            .take_str("apiVersion")?
            .ok_or_else(|| anyhow!("metadata has no apiVersion"))?;
        let endpoint_prefix = m
            .take_str("endpointPrefix")?
            .ok_or_else(|| anyhow!("metadata has no endpointPrefix"))?;
        let service_id = m
            .take_str("serviceId")?
            .ok_or_else(|| anyhow!("metadata has no serviceId"))?;
        // botocore omits signingName when it equals the endpoint prefix.
        let signing_name = m
            .take_str("signingName")?
            .unwrap_or_else(|| endpoint_prefix.clone());
        let title = m.take_str("serviceFullName")?;
        m.finish(IGNORED_METADATA)?;
        Ok(Self {
            api_version,
            xml,
            signing_name,
            service_id,
            endpoint_prefix,
            title,
        })
    }

    fn known(namespace: &str) -> Option<&'static KnownService> {
        KNOWN_SERVICES.iter().find(|k| k.namespace == namespace)
    }

    fn service_shape_name(&self, namespace: &str) -> String {
        match Self::known(namespace) {
            Some(k) => k.shape_name.to_owned(),
            None => self.service_id.replace(' ', ""),
        }
    }

    fn service_shape(&self, namespace: &str, operations: &[String]) -> Value {
        let known = Self::known(namespace);
        let mut traits = Map::new();
        let mut service = Map::new();
        service.insert("sdkId".into(), json!(self.service_id));
        if let Some(arn) = known.and_then(|k| k.arn_namespace) {
            service.insert("arnNamespace".into(), json!(arn));
        }
        service.insert("endpointPrefix".into(), json!(self.endpoint_prefix));
        traits.insert("aws.api#service".into(), Value::Object(service));
        traits.insert(
            "aws.auth#sigv4".into(),
            json!({ "name": self.signing_name }),
        );
        if self.xml {
            let wrapping = known.is_some_and(|k| k.no_error_wrapping);
            let value = if wrapping {
                json!({ "noErrorWrapping": true })
            } else {
                json!({})
            };
            traits.insert("aws.protocols#restXml".into(), value);
        } else {
            traits.insert("aws.protocols#restJson1".into(), json!({}));
        }
        if let Some(title) = &self.title {
            traits.insert("smithy.api#title".into(), json!(title));
        }
        if let Some(uri) = known.and_then(|k| k.xml_namespace) {
            traits.insert("smithy.api#xmlNamespace".into(), json!({ "uri": uri }));
        }
        let ops: Vec<Value> = operations
            .iter()
            .map(|id| json!({ "target": id }))
            .collect();
        json!({
            "type": "service",
            "version": self.api_version,
            "operations": ops,
            "traits": traits,
        })
    }
}

/// List and map shapes botocore marks `flattened`; Smithy puts `xmlFlattened` on the members
/// that target them instead.
fn flattened_shapes(shapes: &Map<String, Value>) -> BTreeSet<String> {
    shapes
        .iter()
        .filter(|(_, def)| {
            def.get("flattened") == Some(&Value::Bool(true))
                || def.pointer("/member/flattened") == Some(&Value::Bool(true))
        })
        .map(|(name, _)| name.clone())
        .collect()
}

struct Converter<'a> {
    ns: &'a str,
    xml: bool,
    /// The service-wide XML namespace; botocore repeats it on payload members, Smithy inherits it.
    default_xml_namespace: Option<&'static str>,
    shapes: &'a Map<String, Value>,
    flattened: BTreeSet<String>,
    /// Streaming blob shapes created for members botocore marks `streaming`.
    synthesized: BTreeMap<String, Value>,
    /// Traits operations put on their input shapes (botocore keeps them on the operation).
    extra_traits: BTreeMap<String, Map<String, Value>>,
}

impl<'a> Converter<'a> {
    fn id(&self, name: &str) -> String {
        format!("{}#{name}", self.ns)
    }

    /// A target id for a botocore shape reference, checking the shape exists.
    fn target(&self, reference: &Value) -> Result<(String, &'a Value)> {
        let name = reference
            .get("shape")
            .and_then(Value::as_str)
            .ok_or_else(|| anyhow!("reference without `shape`: {reference}"))?;
        let shapes: &'a Map<String, Value> = self.shapes;
        let def = shapes
            .get(name)
            .ok_or_else(|| anyhow!("reference to unknown shape `{name}`"))?;
        Ok((name.to_owned(), def))
    }

    /// Removes an `xmlNamespace` that only restates the service-wide default (no prefix).
    fn drop_default_namespace(&self, traits: &mut Map<String, Value>) {
        let Some(default) = self.default_xml_namespace else {
            return;
        };
        if traits.get("smithy.api#xmlNamespace") == Some(&json!({ "uri": default })) {
            traits.remove("smithy.api#xmlNamespace");
        }
    }

    fn operation(&mut self, name: &str, def: &Value) -> Result<Value> {
        let mut k = Keys::new(def, format!("operation {name}"))?;
        if let Some(n) = k.take_str("name")?
            && n != name
        {
            bail!("operation key `{name}` names itself `{n}`");
        }
        let mut traits = Map::new();

        let http = k.take("http").ok_or_else(|| anyhow!("no `http`"))?;
        let mut h = Keys::new(&http, format!("operation {name} http"))?;
        let method = h
            .take_str("method")?
            .ok_or_else(|| anyhow!("no http method"))?;
        let uri = h
            .take_str("requestUri")?
            .ok_or_else(|| anyhow!("no http requestUri"))?;
        let uri = if X_ID_OPERATIONS
            .iter()
            .any(|(ns, op)| *ns == self.ns && *op == name)
        {
            let sep = if uri.contains('?') { '&' } else { '?' };
            format!("{uri}{sep}x-id={name}")
        } else {
            uri
        };
        // Smithy's http trait defaults `code` to 200, and so does botocore.
        let code = h.take("responseCode").unwrap_or_else(|| json!(200));
        h.finish(&[])?;
        traits.insert(
            "smithy.api#http".into(),
            json!({ "method": method, "uri": uri, "code": code }),
        );

        let mut shape = Map::new();
        shape.insert("type".into(), json!("operation"));
        for direction in ["input", "output"] {
            let target = match k.take(direction) {
                None => "smithy.api#Unit".to_owned(),
                Some(reference) => {
                    let mut r = Keys::new(&reference, format!("operation {name} {direction}"))?;
                    let (target, _) = self.target(&reference)?;
                    r.take("shape");
                    let id = self.id(&target);
                    let mut extra = Map::new();
                    if let Some(element) = r.take_str("locationName")? {
                        extra.insert("smithy.api#xmlName".into(), json!(element));
                    }
                    if let Some(ns) = r.take("xmlNamespace") {
                        extra.insert("smithy.api#xmlNamespace".into(), xml_namespace(&ns)?);
                    }
                    r.finish(&[])?;
                    self.drop_default_namespace(&mut extra);
                    if !extra.is_empty() {
                        self.extra_traits
                            .entry(id.clone())
                            .or_default()
                            .extend(extra);
                    }
                    id
                }
            };
            shape.insert(direction.into(), json!({ "target": target }));
        }
        if let Some(errors) = k.take("errors") {
            let list = errors
                .as_array()
                .ok_or_else(|| anyhow!("`errors` is not a list"))?;
            let mut targets = Vec::new();
            for e in list {
                let (target, def) = self.target(e)?;
                if def.get("exception") != Some(&Value::Bool(true)) {
                    bail!("error `{target}` is not marked exception");
                }
                targets.push(json!({ "target": self.id(&target) }));
            }
            if !targets.is_empty() {
                shape.insert("errors".into(), Value::Array(targets));
            }
        }
        if k.take_bool("readonly")? {
            traits.insert("smithy.api#readonly".into(), json!({}));
        }
        if k.take_bool("idempotent")? {
            traits.insert("smithy.api#idempotent".into(), json!({}));
        }
        if let Some(d) = deprecated(&mut k)? {
            traits.insert("smithy.api#deprecated".into(), d);
        }
        if let Some(c) = k.take("httpChecksum") {
            traits.insert("aws.protocols#httpChecksum".into(), http_checksum(&c)?);
        }
        if k.take_bool("httpChecksumRequired")? {
            traits.insert("smithy.api#httpChecksumRequired".into(), json!({}));
        }
        if let Some(endpoint) = k.take("endpoint") {
            let mut e = Keys::new(&endpoint, format!("operation {name} endpoint"))?;
            let prefix = e
                .take_str("hostPrefix")?
                .ok_or_else(|| anyhow!("endpoint without hostPrefix"))?;
            e.finish(&[])?;
            traits.insert(
                "smithy.api#endpoint".into(),
                json!({ "hostPrefix": prefix }),
            );
        }
        let mut unsigned = k.take_bool("unsignedPayload")?;
        match k.take_str("authtype")?.as_deref() {
            None | Some("v4") => {}
            Some("v4-unsigned-body") => unsigned = true,
            Some("none") => {
                traits.insert("smithy.api#optionalAuth".into(), json!({}));
            }
            Some(other) => bail!("unsupported authtype `{other}`"),
        }
        if unsigned {
            traits.insert("aws.auth#unsignedPayload".into(), json!({}));
        }
        k.finish(IGNORED_OPERATION)?;
        for (ns, op, trait_id) in OPERATION_PATCHES {
            if *ns == self.ns && *op == name {
                traits.insert((*trait_id).into(), json!({}));
            }
        }
        shape.insert("traits".into(), Value::Object(traits));
        Ok(Value::Object(shape))
    }

    fn shape(&mut self, name: &str, def: &Value) -> Result<Value> {
        let mut k = Keys::new(def, format!("shape {name}"))?;
        let ty = k.take_str("type")?.ok_or_else(|| anyhow!("no `type`"))?;
        let mut traits = Map::new();
        let mut shape = Map::new();

        if k.take_bool("sensitive")? {
            traits.insert("smithy.api#sensitive".into(), json!({}));
        }
        if let Some(d) = deprecated(&mut k)? {
            traits.insert("smithy.api#deprecated".into(), d);
        }
        if let Some(p) = k.take_str("pattern")? {
            traits.insert("smithy.api#pattern".into(), json!(p));
        }
        let (min, max) = (k.take("min"), k.take("max"));
        if min.is_some() || max.is_some() {
            let mut bounds = Map::new();
            if let Some(v) = min {
                bounds.insert("min".into(), v);
            }
            if let Some(v) = max {
                bounds.insert("max".into(), v);
            }
            let id = match ty.as_str() {
                "string" | "blob" | "list" | "map" => "smithy.api#length",
                "integer" | "long" | "float" | "double" | "short" | "byte" | "bigdecimal"
                | "biginteger" => "smithy.api#range",
                other => bail!("min/max on a {other} shape"),
            };
            traits.insert(id.into(), Value::Object(bounds));
        }
        if let Some(f) = k.take_str("timestampFormat")? {
            if ty != "timestamp" {
                bail!("timestampFormat on a {ty} shape");
            }
            traits.insert(
                "smithy.api#timestampFormat".into(),
                json!(timestamp_format(&f)?),
            );
        }
        if k.take_bool("streaming")? {
            if ty != "blob" {
                bail!("streaming on a {ty} shape");
            }
            traits.insert("smithy.api#streaming".into(), json!({}));
        }
        if k.take_bool("requiresLength")? {
            traits.insert("smithy.api#requiresLength".into(), json!({}));
        }
        if let Some(ns) = k.take("xmlNamespace") {
            traits.insert("smithy.api#xmlNamespace".into(), xml_namespace(&ns)?);
        }
        if let Some(element) = k.take_str("locationName")? {
            if !self.xml {
                bail!("shape-level locationName only has meaning for XML protocols");
            }
            traits.insert("smithy.api#xmlName".into(), json!(element));
        }
        if k.take_bool("flattened")? && ty != "list" && ty != "map" {
            bail!("flattened on a {ty} shape");
        }
        self.error_traits(name, &mut k, &mut traits)?;
        self.drop_default_namespace(&mut traits);

        let smithy_type = match ty.as_str() {
            "structure" => {
                let union = k.take_bool("union")?;
                let document = k.take_bool("document")?;
                let eventstream = k.take_bool("eventstream")?;
                let members = k.take("members").unwrap_or_else(|| json!({}));
                let required = k.take("required");
                let payload = k.take_str("payload")?;
                if document {
                    if union || eventstream || required.is_some() || payload.is_some() {
                        bail!("document shape with structure features");
                    }
                    if members.as_object().is_some_and(|m| !m.is_empty()) {
                        bail!("document shape with members");
                    }
                    "document"
                } else {
                    let required = string_list(required.as_ref(), "required")?;
                    let members = self.members(name, &members, &required, payload.as_deref())?;
                    shape.insert("members".into(), Value::Object(members));
                    if eventstream {
                        traits.insert("smithy.api#streaming".into(), json!({}));
                    }
                    if union || eventstream {
                        "union"
                    } else {
                        "structure"
                    }
                }
            }
            "list" => {
                let member = k
                    .take("member")
                    .ok_or_else(|| anyhow!("list without member"))?;
                shape.insert(
                    "member".into(),
                    self.collection_member(name, "member", &member)?,
                );
                "list"
            }
            "map" => {
                for part in ["key", "value"] {
                    let member = k.take(part).ok_or_else(|| anyhow!("map without {part}"))?;
                    shape.insert(part.into(), self.collection_member(name, part, &member)?);
                }
                "map"
            }
            "string" => match k.take("enum") {
                Some(values) => {
                    shape.insert("members".into(), Value::Object(enum_members(&values)?));
                    "enum"
                }
                None => "string",
            },
            "integer" | "long" | "boolean" | "blob" | "timestamp" | "float" | "double"
            | "short" | "byte" => ty.as_str(),
            "bigdecimal" => "bigDecimal",
            "biginteger" => "bigInteger",
            other => bail!("unknown botocore shape type `{other}`"),
        };
        k.finish(IGNORED_SHAPE)?;

        let mut out = Map::new();
        out.insert("type".into(), json!(smithy_type));
        out.extend(shape);
        if !traits.is_empty() {
            out.insert("traits".into(), Value::Object(traits));
        }
        Ok(Value::Object(out))
    }

    fn error_traits(
        &self,
        name: &str,
        k: &mut Keys,
        traits: &mut Map<String, Value>,
    ) -> Result<()> {
        let exception = k.take_bool("exception")?;
        let fault = k.take_bool("fault")?;
        let error = k.take("error");
        let retryable = k.take("retryable");
        if !exception && !fault {
            if error.is_some() || retryable.is_some() {
                bail!("error details on a shape not marked exception");
            }
            return Ok(());
        }
        let (mut status, mut sender_fault) = (None, false);
        if let Some(error) = error {
            let mut e = Keys::new(&error, format!("shape {name} error"))?;
            status = e
                .take("httpStatusCode")
                .map(|s| s.as_u64().ok_or_else(|| anyhow!("bad httpStatusCode {s}")))
                .transpose()?;
            sender_fault = e.take_bool("senderFault")?;
            // restJson1 and restXml identify errors by shape name; a different wire code could only
            // be expressed with awsQueryError, which the official models for these protocols never use.
            if let Some(code) = e.take_str("code")?
                && code != name
            {
                bail!(
                    "error code `{code}` differs from the shape name; not expressible for this protocol"
                );
            }
            e.finish(&[])?;
        }
        let kind = if fault {
            "server"
        } else if sender_fault || status.is_none_or(|s| s < 500) {
            "client"
        } else {
            "server"
        };
        traits.insert("smithy.api#error".into(), json!(kind));
        if let Some(s) = status {
            traits.insert("smithy.api#httpError".into(), json!(s));
        }
        if let Some(r) = retryable {
            let mut rk = Keys::new(&r, format!("shape {name} retryable"))?;
            let throttling = rk.take_bool("throttling")?;
            rk.finish(&[])?;
            let value = if throttling {
                json!({ "throttling": true })
            } else {
                json!({})
            };
            traits.insert("smithy.api#retryable".into(), value);
        }
        Ok(())
    }

    fn members(
        &mut self,
        owner: &str,
        members: &Value,
        required: &[String],
        payload: Option<&str>,
    ) -> Result<Map<String, Value>> {
        let members = members
            .as_object()
            .ok_or_else(|| anyhow!("`members` is not an object"))?;
        for r in required {
            if !members.contains_key(r) {
                bail!("required member `{r}` does not exist");
            }
        }
        if let Some(p) = payload
            && !members.contains_key(p)
        {
            bail!("payload member `{p}` does not exist");
        }
        let mut out = Map::new();
        for (name, def) in members {
            let is_required = required.iter().any(|r| r == name);
            let is_payload = payload == Some(name.as_str());
            let member = self
                .member(name, def, is_required, is_payload)
                .with_context(|| format!("member {owner}${name}"))?;
            out.insert(name.clone(), member);
        }
        Ok(out)
    }

    // No `smithy.api#default` is ever emitted: botocore has no defaults, so every member that is
    // not required stays optional, which is what botocore clients assume too.
    fn member(&mut self, name: &str, def: &Value, required: bool, payload: bool) -> Result<Value> {
        let mut k = Keys::new(def, format!("member {name}"))?;
        let (target_name, target_def) = self.target(def)?;
        k.take("shape");
        let target_type = target_def
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let mut target = self.id(&target_name);
        let mut traits = Map::new();
        if required {
            traits.insert("smithy.api#required".into(), json!({}));
        }
        if payload {
            traits.insert("smithy.api#httpPayload".into(), json!({}));
        }
        let location = k.take_str("location")?;
        let location_name = k.take_str("locationName")?;
        match location.as_deref() {
            None => {
                if let Some(element) = location_name {
                    let id = if self.xml {
                        "smithy.api#xmlName"
                    } else {
                        "smithy.api#jsonName"
                    };
                    traits.insert(id.into(), json!(element));
                }
            }
            Some("uri") => {
                // Smithy binds labels by member name, so a differing locationName would need the
                // URI rewritten; no served service does that, so refuse rather than guess.
                if location_name.as_deref().is_some_and(|l| l != name) {
                    bail!("uri label `{location_name:?}` differs from the member name");
                }
                traits.insert("smithy.api#httpLabel".into(), json!({}));
            }
            Some("querystring") => {
                if target_type == "map" {
                    traits.insert("smithy.api#httpQueryParams".into(), json!({}));
                } else {
                    let key = location_name
                        .ok_or_else(|| anyhow!("query member without locationName"))?;
                    traits.insert("smithy.api#httpQuery".into(), json!(key));
                }
            }
            Some("header") => {
                let key =
                    location_name.ok_or_else(|| anyhow!("header member without locationName"))?;
                traits.insert("smithy.api#httpHeader".into(), json!(key));
            }
            Some("headers") => {
                // botocore omits the prefix when the map takes every header; Smithy spells that "".
                traits.insert(
                    "smithy.api#httpPrefixHeaders".into(),
                    json!(location_name.unwrap_or_default()),
                );
            }
            Some("statusCode") => {
                traits.insert("smithy.api#httpResponseCode".into(), json!({}));
            }
            Some(other) => bail!("unknown member location `{other}`"),
        }
        if k.take_bool("flattened")? || self.flattened.contains(&target_name) {
            traits.insert("smithy.api#xmlFlattened".into(), json!({}));
        }
        if k.take_bool("xmlAttribute")? {
            traits.insert("smithy.api#xmlAttribute".into(), json!({}));
        }
        if let Some(ns) = k.take("xmlNamespace") {
            traits.insert("smithy.api#xmlNamespace".into(), xml_namespace(&ns)?);
        }
        if k.take_bool("idempotencyToken")? {
            traits.insert("smithy.api#idempotencyToken".into(), json!({}));
        }
        if k.take_bool("hostLabel")? {
            traits.insert("smithy.api#hostLabel".into(), json!({}));
        }
        if k.take_bool("eventpayload")? {
            traits.insert("smithy.api#eventPayload".into(), json!({}));
        }
        if k.take_bool("eventheader")? {
            traits.insert("smithy.api#eventHeader".into(), json!({}));
        }
        if k.take_bool("sensitive")? {
            traits.insert("smithy.api#sensitive".into(), json!({}));
        }
        if let Some(f) = k.take_str("timestampFormat")? {
            traits.insert(
                "smithy.api#timestampFormat".into(),
                json!(timestamp_format(&f)?),
            );
        }
        if let Some(d) = deprecated(&mut k)? {
            traits.insert("smithy.api#deprecated".into(), d);
        }
        if k.take_bool("streaming")? {
            target = self.streaming_blob(&target_name, target_def)?;
        }
        k.finish(IGNORED_MEMBER)?;
        self.drop_default_namespace(&mut traits);
        Ok(json!({ "target": target, "traits": traits }))
    }

    /// Smithy allows `streaming` only on blob shapes, while botocore marks the member; the member
    /// is pointed at a streaming copy of its blob so other users of the blob stay non-streaming.
    fn streaming_blob(&mut self, target_name: &str, target_def: &Value) -> Result<String> {
        if target_def.get("type").and_then(Value::as_str) != Some("blob") {
            bail!("streaming member targets non-blob `{target_name}`");
        }
        let mut shape = self.shape(target_name, target_def)?;
        let plain = shape.get("traits").is_none();
        let traits = shape
            .as_object_mut()
            .ok_or_else(|| anyhow!("converted blob is not an object"))?
            .entry("traits")
            .or_insert_with(|| json!({}));
        if let Some(t) = traits.as_object_mut() {
            t.insert("smithy.api#streaming".into(), json!({}));
        }
        // A plain blob gets the official models' shared name; one with traits keeps them apart.
        let name = if plain {
            STREAMING_BLOB.to_owned()
        } else {
            format!("Streaming{target_name}")
        };
        self.synthesized.insert(name.clone(), shape);
        Ok(self.id(&name))
    }

    fn collection_member(&self, owner: &str, part: &str, def: &Value) -> Result<Value> {
        let mut k = Keys::new(def, format!("shape {owner} {part}"))?;
        let (target, _) = self.target(def)?;
        k.take("shape");
        let mut traits = Map::new();
        if let Some(element) = k.take_str("locationName")? {
            let id = if self.xml {
                "smithy.api#xmlName"
            } else {
                "smithy.api#jsonName"
            };
            traits.insert(id.into(), json!(element));
        }
        if let Some(ns) = k.take("xmlNamespace") {
            traits.insert("smithy.api#xmlNamespace".into(), xml_namespace(&ns)?);
        }
        // Already recorded by flattened_shapes: it flattens the list wherever it is used.
        k.take_bool("flattened")?;
        k.finish(IGNORED_MEMBER)?;
        let mut out = Map::new();
        out.insert("target".into(), json!(self.id(&target)));
        self.drop_default_namespace(&mut traits);
        if !traits.is_empty() {
            out.insert("traits".into(), Value::Object(traits));
        }
        Ok(Value::Object(out))
    }
}

fn string_list(value: Option<&Value>, what: &str) -> Result<Vec<String>> {
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    value
        .as_array()
        .ok_or_else(|| anyhow!("`{what}` is not a list"))?
        .iter()
        .map(|v| {
            v.as_str()
                .map(str::to_owned)
                .ok_or_else(|| anyhow!("`{what}` holds a non-string"))
        })
        .collect()
}

fn deprecated(k: &mut Keys) -> Result<Option<Value>> {
    let flag = k.take_bool("deprecated")?;
    let message = k.take_str("deprecatedMessage")?;
    let since = k.take_str("deprecatedSince")?;
    if !flag && (message.is_some() || since.is_some()) {
        bail!("deprecatedMessage/deprecatedSince without deprecated");
    }
    if !flag {
        return Ok(None);
    }
    let mut d = Map::new();
    if let Some(m) = message {
        d.insert("message".into(), json!(m));
    }
    if let Some(s) = since {
        d.insert("since".into(), json!(s));
    }
    Ok(Some(Value::Object(d)))
}

fn timestamp_format(botocore: &str) -> Result<&'static str> {
    Ok(match botocore {
        "iso8601" => "date-time",
        "rfc822" => "http-date",
        "unixTimestamp" => "epoch-seconds",
        other => bail!("unknown timestampFormat `{other}`"),
    })
}

fn xml_namespace(value: &Value) -> Result<Value> {
    let mut k = Keys::new(value, "xmlNamespace")?;
    let uri = k
        .take_str("uri")?
        .ok_or_else(|| anyhow!("xmlNamespace without uri"))?;
    let prefix = k.take_str("prefix")?;
    k.finish(&[])?;
    Ok(match prefix {
        Some(p) => json!({ "uri": uri, "prefix": p }),
        None => json!({ "uri": uri }),
    })
}

fn http_checksum(value: &Value) -> Result<Value> {
    let mut k = Keys::new(value, "httpChecksum")?;
    let mut out = Map::new();
    if let Some(m) = k.take_str("requestAlgorithmMember")? {
        out.insert("requestAlgorithmMember".into(), json!(m));
    }
    // Smithy's default is false, and the official models omit it then.
    if k.take_bool("requestChecksumRequired")? {
        out.insert("requestChecksumRequired".into(), json!(true));
    }
    if let Some(m) = k.take_str("requestValidationModeMember")? {
        out.insert("requestValidationModeMember".into(), json!(m));
    }
    if let Some(a) = k.take("responseAlgorithms") {
        out.insert(
            "responseAlgorithms".into(),
            Value::Array(
                string_list(Some(&a), "responseAlgorithms")?
                    .into_iter()
                    .map(Value::String)
                    .collect(),
            ),
        );
    }
    k.finish(&[])?;
    Ok(Value::Object(out))
}

/// Enum members named UPPER_SNAKE after their values, the way the official models name most of them.
fn enum_members(values: &Value) -> Result<Map<String, Value>> {
    let values = string_list(Some(values), "enum")?;
    let mut out = Map::new();
    for value in &values {
        let base = enum_member_name(value);
        let mut name = base.clone();
        // Values differing only in punctuation or case would collide; number them in value order.
        let mut n = 2;
        while out.contains_key(&name) {
            name = format!("{base}_{n}");
            n += 1;
        }
        out.insert(
            name,
            json!({ "target": "smithy.api#Unit", "traits": { "smithy.api#enumValue": value } }),
        );
    }
    Ok(out)
}

/// `end_turn` → `END_TURN`, `InProgress` → `IN_PROGRESS`, `af-south-1` → `AF_SOUTH_1`, `1x` → `_1X`.
pub(crate) fn enum_member_name(value: &str) -> String {
    let mut name = String::new();
    let mut prev: Option<char> = None;
    for c in value.chars() {
        if c.is_ascii_alphanumeric() {
            // Only lower→upper is a word boundary: `CRC32C` must stay one word.
            let boundary = c.is_ascii_uppercase() && prev.is_some_and(|p| p.is_ascii_lowercase());
            if boundary && !name.ends_with('_') {
                name.push('_');
            }
            name.push(c.to_ascii_uppercase());
        } else if !name.is_empty() && !name.ends_with('_') {
            name.push('_');
        }
        prev = Some(c);
    }
    while name.ends_with('_') {
        name.pop();
    }
    if name.is_empty() {
        return "EMPTY".to_owned();
    }
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert(0, '_');
    }
    name
}
