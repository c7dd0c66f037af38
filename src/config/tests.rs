//! Loading: the embedded default, the example file, every refusal with its position, precedence.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::*;
use crate::providers::ProviderId;

const EXAMPLE: &str = include_str!("../../quarry.example.toml");

fn env(pairs: &[(&str, &str)]) -> Env {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn load_text(text: &str) -> Result<Config, ConfigError> {
    load(
        Source {
            name: "quarry.toml",
            text,
        },
        &Env::new(),
        &Flags::default(),
    )
}

/// The error message for a refused file.
fn refused(text: &str) -> String {
    match load_text(text) {
        Ok(config) => panic!("accepted: {config:?}"),
        Err(e) => e.to_string(),
    }
}

const MOCK: &str = "[providers.mock]\ntype = \"mock\"\n";

#[test]
fn embedded_default_is_the_mock_without_auth() {
    let config = load(Source::embedded(), &Env::new(), &Flags::default()).unwrap();
    assert_eq!(config.default_provider, ProviderId::new("mock"));
    assert_eq!(config.providers.len(), 1);
    match &config.providers[&ProviderId::new("mock")] {
        ProviderConfig::Mock(m) => {
            assert_eq!(m.reply, None);
            assert_eq!(m.stream_chunk_chars, 8);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(config.auth, AuthConfig::None));
    assert!(config.routes.is_empty() && config.aliases.is_empty());
    let server = &config.server;
    assert_eq!(
        server.listen,
        "127.0.0.1:8080".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(server.data_dir, PathBuf::from("./quarry-data"));
    assert_eq!(server.log_format, LogFormat::Pretty);
    assert_eq!(server.shutdown_grace, Duration::from_secs(30));
    assert_eq!(
        server.max_body_bytes.bedrock_runtime.get(),
        32 * 1024 * 1024
    );
    assert_eq!(server.max_body_bytes.bedrock.get(), 1024 * 1024);
    assert_eq!(server.max_body_bytes.files_xml.get(), 8 * 1024 * 1024);
    assert_eq!(server.tls, None);
}

#[test]
fn an_empty_file_is_the_embedded_default() {
    let config = load_text("").unwrap();
    assert_eq!(config.default_provider, ProviderId::new("mock"));
    assert_eq!(
        config.providers.keys().collect::<Vec<_>>(),
        [&ProviderId::new("mock")]
    );
}

/// The environment the example's `env = "..."` keys read, plus `extra`.
fn example_env(extra: &[(&str, &str)]) -> Env {
    let mut vars = env(&[
        ("OPENAI_API_KEY", "sk-from-env"),
        ("GEMINI_API_KEY", "g-from-env"),
    ]);
    vars.extend(env(extra));
    vars
}

#[test]
fn the_example_file_loads() {
    let config = load(
        Source {
            name: "quarry.example.toml",
            text: EXAMPLE,
        },
        &example_env(&[]),
        &Flags::default(),
    )
    .unwrap();
    let names: Vec<&str> = config.providers.keys().map(ProviderId::as_str).collect();
    assert_eq!(names, ["anthropic", "aws", "gemini", "mock", "openai"]);
    match &config.providers[&ProviderId::new("openai")] {
        ProviderConfig::OpenAi(o) => {
            assert_eq!(o.base_url.to_string(), "https://api.openai.com/v1");
            let weights: Vec<u32> = o.api_keys.iter().map(|k| k.weight.get()).collect();
            assert_eq!(weights, [3, 1]);
            assert_eq!(o.api_keys[0].key.expose(), "sk-from-env");
            assert!(o.headers.contains_key("openai-organization"));
            let fallbacks: Vec<String> = o
                .remote
                .fallbacks
                .iter()
                .map(|(p, m)| format!("{p}/{m}"))
                .collect();
            assert_eq!(
                fallbacks,
                [
                    "anthropic/claude-3-5-haiku-latest",
                    "gemini/gemini-2.0-flash"
                ]
            );
        }
        other => panic!("{other:?}"),
    }
    match &config.providers[&ProviderId::new("aws")] {
        ProviderConfig::Bedrock(b) => {
            assert_eq!(b.region, "us-east-1");
            assert!(matches!(b.credentials, BedrockCredentials::AwsDefaultChain));
            assert_eq!(b.s3, None, "the example's s3 table is commented out");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(config.routes.len(), 3);
    assert_eq!(config.routes[0].provider, ProviderId::new("openai"));
    assert!(
        config.routes[1]
            .pattern
            .is_match("anthropic.claude-3-haiku")
    );
    assert_eq!(
        config.routes[1].upstream_model.as_ref().map(|m| m.as_str()),
        Some("claude-sonnet-4-5")
    );
    let (provider, model) = &config.aliases["fast"];
    assert_eq!(
        (provider.as_str(), model.as_str()),
        ("openai", "gpt-4o-mini")
    );
    assert!(matches!(config.auth, AuthConfig::None));
    assert_eq!(config.files, crate::config::FilesConfig::default());
}

#[test]
fn files_base_domain_is_a_dns_name_or_off() {
    let load_files = |text: &str| {
        load(
            Source {
                name: "q.toml",
                text,
            },
            &Env::new(),
            &Flags::default(),
        )
        .map(|c| c.files.base_domain)
    };
    assert_eq!(
        load_files("[files]\nbase_domain = \"S3.Example.com.\"\n").unwrap(),
        Some("s3.example.com".to_owned())
    );
    assert_eq!(load_files("[files]\nbase_domain = \"\"\n").unwrap(), None);
    let err = load_files("[files]\nbase_domain = \"http://x\"\n").unwrap_err();
    assert!(err.to_string().contains("q.toml:2:15"), "{err}");
    assert!(err.to_string().contains("DNS name"), "{err}");
}

#[test]
fn the_example_keys_load_in_sigv4_mode() {
    let config = load(
        Source {
            name: "quarry.example.toml",
            text: EXAMPLE,
        },
        &example_env(&[("QUARRY_AUTH_MODE", "sigv4")]),
        &Flags::default(),
    )
    .unwrap();
    let AuthConfig::SigV4(sigv4) = &config.auth else {
        panic!("{:?}", config.auth)
    };
    assert_eq!(sigv4.max_skew, Duration::from_secs(900));
    assert_eq!(sigv4.keys.len(), 2);
    let ci = &sigv4.keys[0];
    assert_eq!(ci.name, "ci");
    assert_eq!(ci.access_key_id.as_str(), "AKIAQUARRYCI0000001");
    assert!(ci.bearer_token.is_some());
    assert!(ci.providers.allows(&ProviderId::new("openai")));
    assert!(!ci.providers.allows(&ProviderId::new("gemini")));
    assert!(ci.models.allows("gpt-4o"));
    assert!(!ci.models.allows("gemini-2.0-flash"));
    let alice = &sigv4.keys[1];
    assert_eq!(alice.providers, Allowed::Any);
    assert!(alice.models.allows("anything"));
    // The verifier knows both keys.
    let verifier = sigv4.verifier();
    assert!(verifier.keys.lookup("AKIAQUARRYALICE0001").is_some());
    assert!(
        verifier
            .keys
            .lookup_bearer("change-me-ci-bearer-token")
            .is_some()
    );
}

#[test]
fn syntax_errors_name_line_and_column() {
    assert_eq!(
        refused("[server]\nlisten = \n"),
        "quarry.toml:2:10: string values must be quoted, expected literal string"
    );
}

#[test]
fn type_errors_name_the_value() {
    assert_eq!(
        refused("[server]\nshutdown_grace = \"soon\"\n"),
        "quarry.toml:2:18: invalid type: string \"soon\", expected u64"
    );
}

#[test]
fn unknown_keys_are_refused_where_they_are() {
    assert_eq!(
        refused("[server]\nlisten = \"127.0.0.1:1\"\nlisen = 1\n"),
        "quarry.toml:3:1: unknown field `lisen`, expected one of `listen`, `data_dir`, \
         `log_format`, `shutdown_grace`, `max_body_bytes`, `tls`"
    );
    // Inside a provider table, serde only knows the table; the key is found again by name.
    assert_eq!(
        refused("[providers.o]\ntype = \"openai\"\nbase_ur = \"https://x\"\n"),
        "quarry.toml:3:1: unknown field `base_ur`, expected one of `base_url`, `api_keys`, `headers`, `max_tokens_field`, `timeouts`, `retries`, `fallbacks`, `batch`"
    );
    assert_eq!(
        refused("[providers.o]\ntype = \"cohere\"\n"),
        "quarry.toml:2:8: unknown variant `cohere`, expected one of `mock`, `openai`, \
         `anthropic`, `gemini`, `bedrock`"
    );
}

#[test]
fn a_route_to_an_unknown_provider_is_refused() {
    let text = format!(
        "{MOCK}\n[providers.openai]\ntype = \"openai\"\n\n[[routes]]\nmodel = \"gpt-*\"\nprovider = \"opneai\"\n"
    );
    assert_eq!(
        refused(&text),
        "quarry.toml:9:12: route names provider \"opneai\", which is not configured \
         (configured: mock, openai)"
    );
}

#[test]
fn aliases_and_default_provider_must_name_configured_providers() {
    assert_eq!(
        refused(&format!("{MOCK}[aliases]\nfast = \"openai/gpt-4o\"\n")),
        "quarry.toml:4:8: alias \"fast\" names provider \"openai\", which is not configured \
         (configured: mock)"
    );
    assert_eq!(
        refused(&format!("{MOCK}[aliases]\nfast = \"gpt-4o\"\n")),
        "quarry.toml:4:8: alias \"fast\" must name \"<provider>/<model>\", not \"gpt-4o\""
    );
    assert_eq!(
        refused(&format!("default_provider = \"gpt\"\n{MOCK}")),
        "quarry.toml:1:20: default_provider names provider \"gpt\", which is not configured \
         (configured: mock)"
    );
}

#[test]
fn several_providers_without_mock_need_a_default() {
    assert_eq!(
        refused("[providers.a]\ntype = \"mock\"\n[providers.b]\ntype = \"mock\"\n"),
        "quarry.toml:1:1: default_provider must be set: several providers are configured (a, b) \
         and none is called \"mock\""
    );
    let one = load_text("[providers.only]\ntype = \"mock\"\n").unwrap();
    assert_eq!(one.default_provider.as_str(), "only");
}

#[test]
fn bad_globs_are_refused() {
    assert_eq!(
        refused(&format!(
            "{MOCK}[[routes]]\nmodel = \"gpt-[\"\nprovider = \"mock\"\n"
        )),
        "quarry.toml:4:9: \"gpt-[\" is not a valid glob: unclosed character class; missing ']'"
    );
}

#[test]
fn bad_urls_are_refused() {
    assert_eq!(
        refused("[providers.o]\ntype = \"openai\"\nbase_url = \"ftp://example.com\"\n"),
        "quarry.toml:3:12: \"ftp://example.com\" is not a valid URL: scheme \"ftp\" is not http or https"
    );
    assert_eq!(
        refused(
            "[providers.b]\ntype = \"bedrock\"\nregion = \"us-east-1\"\nendpoint = \"bedrock.local\"\n"
        ),
        "quarry.toml:4:12: \"bedrock.local\" is not a valid URL: it is not absolute (expected http:// or https://)"
    );
}

#[test]
fn zero_weights_and_empty_keys_are_refused() {
    assert_eq!(
        refused(
            "[providers.o]\ntype = \"openai\"\napi_keys = [{ key = \"a\" }, { key = \"b\", weight = 0 }]\n"
        ),
        "quarry.toml:3:50: api_keys[1].weight must be greater than 0"
    );
    assert_eq!(
        refused("[providers.a]\ntype = \"anthropic\"\napi_keys = [{ key = \"\" }]\n"),
        "quarry.toml:3:21: api_keys[0].key must not be empty"
    );
    assert_eq!(
        refused("[providers.g]\ntype = \"gemini\"\n"),
        "quarry.toml:1:1: provider \"g\" of type gemini needs at least one api_keys entry (or GEMINI_API_KEY set in the environment)"
    );
}

fn load_with_env(text: &str, vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    load(
        Source {
            name: "quarry.toml",
            text,
        },
        &env(vars),
        &Flags::default(),
    )
}

#[test]
fn keys_come_from_the_environment_by_name_or_by_the_standard_variable() {
    let config = load_with_env(
        "default_provider = \"a\"\n[providers.a]\ntype = \"anthropic\"\n[providers.g]\ntype = \"gemini\"\napi_keys = [{ env = \"MY_GEMINI\", weight = 2 }]\n",
        &[("ANTHROPIC_API_KEY", "sk-ant-env"), ("MY_GEMINI", "g-env")],
    )
    .unwrap();
    let ProviderConfig::Anthropic(a) = &config.providers[&ProviderId::new("a")] else {
        panic!("not anthropic");
    };
    assert_eq!(a.api_keys[0].key.expose(), "sk-ant-env");
    let ProviderConfig::Gemini(g) = &config.providers[&ProviderId::new("g")] else {
        panic!("not gemini");
    };
    assert_eq!(g.api_keys[0].key.expose(), "g-env");
    assert_eq!(g.api_keys[0].weight.get(), 2);
    // Keys given in the file win over the standard variable; an empty list means no key.
    let config = load_with_env(
        "[providers.o]\ntype = \"openai\"\napi_keys = []\n",
        &[("OPENAI_API_KEY", "sk-env")],
    )
    .unwrap();
    let ProviderConfig::OpenAi(o) = &config.providers[&ProviderId::new("o")] else {
        panic!("not openai");
    };
    assert!(o.api_keys.is_empty());
    assert_eq!(
        load_with_env(
            "[providers.g]\ntype = \"gemini\"\napi_keys = [{ env = \"NOPE\" }]\n",
            &[]
        )
        .unwrap_err()
        .to_string(),
        "quarry.toml:3:21: \"NOPE\" is not a valid value: this environment variable is not set"
    );
    assert_eq!(
        refused("[providers.g]\ntype = \"gemini\"\napi_keys = [{ key = \"k\", env = \"K\" }]\n"),
        "quarry.toml:3:13: \"api_keys[0]\" is not a valid value: give exactly one of `key` and `env`"
    );
}

#[test]
fn timeouts_retries_and_fallbacks_are_parsed_and_checked() {
    let config = load_text(
        "[providers.mock]\ntype = \"mock\"\n[providers.o]\ntype = \"openai\"\nmax_tokens_field = \"max_completion_tokens\"\ntimeouts = { connect = 1.5, idle = 30 }\nretries = { max = 4, base_backoff_ms = 10 }\nfallbacks = [\"mock/echo\"]\n",
    )
    .unwrap();
    let ProviderConfig::OpenAi(o) = &config.providers[&ProviderId::new("o")] else {
        panic!("not openai");
    };
    assert_eq!(o.max_tokens_field, MaxTokensField::MaxCompletionTokens);
    let upstream = o.remote.upstream;
    assert_eq!(upstream.timeouts.connect, Duration::from_millis(1500));
    assert_eq!(upstream.timeouts.idle, Duration::from_secs(30));
    assert_eq!(upstream.timeouts.first_byte, Duration::from_secs(300));
    assert_eq!(upstream.retry.max_retries, 4);
    assert_eq!(upstream.retry.base_backoff, Duration::from_millis(10));
    assert_eq!(
        o.remote.fallbacks,
        vec![(
            ProviderId::new("mock"),
            crate::providers::ModelId::new("echo")
        )]
    );
    assert_eq!(
        refused("[providers.o]\ntype = \"openai\"\nfallbacks = [\"nobody/x\"]\n"),
        "quarry.toml:3:14: fallback of provider \"o\" names provider \"nobody\", which is not configured (configured: o)"
    );
    assert_eq!(
        refused("[providers.o]\ntype = \"openai\"\nfallbacks = [\"no-slash\"]\n"),
        "quarry.toml:3:14: \"no-slash\" is not a valid value: a fallback is \"<provider>/<model>\""
    );
    assert_eq!(
        refused("[providers.o]\ntype = \"openai\"\ntimeouts = { idle = 0 }\n"),
        "quarry.toml:3:21: \"0\" is not a valid value: a timeout is a number of seconds above 0 and at most 86400"
    );
}

const KEY: &str =
    "[[auth.keys]]\nname = \"a\"\naccess_key_id = \"AKID1\"\nsecret_access_key = \"s1\"\n";

#[test]
fn sigv4_without_keys_is_refused() {
    assert_eq!(
        refused("[auth]\nmode = \"sigv4\"\n"),
        "quarry.toml:2:8: auth mode \"sigv4\" needs at least one [[auth.keys]] entry"
    );
    let from_env = load(
        Source::embedded(),
        &example_env(&[("QUARRY_AUTH_MODE", "sigv4")]),
        &Flags::default(),
    )
    .unwrap_err();
    assert_eq!(
        from_env.to_string(),
        "$QUARRY_AUTH_MODE: auth mode \"sigv4\" needs at least one [[auth.keys]] entry"
    );
    let with_key = load_text(&format!("[auth]\nmode = \"sigv4\"\n{KEY}")).unwrap();
    assert!(matches!(with_key.auth, AuthConfig::SigV4(_)));
}

#[test]
fn duplicate_access_key_ids_are_refused() {
    let second =
        "[[auth.keys]]\nname = \"b\"\naccess_key_id = \"AKID1\"\nsecret_access_key = \"s2\"\n";
    assert_eq!(
        refused(&format!("{KEY}{second}")),
        "quarry.toml:7:17: access key id \"AKID1\" is already used by key \"a\""
    );
}

#[test]
fn keys_must_name_configured_providers_and_valid_globs() {
    assert_eq!(
        refused(&format!("{KEY}providers = [\"mock\", \"openai\"]\n")),
        "quarry.toml:5:22: key \"a\" names provider \"openai\", which is not configured \
         (configured: mock)"
    );
    assert_eq!(
        refused(&format!("{KEY}models = [\"{{gpt\"]\n")),
        "quarry.toml:5:11: \"{gpt\" is not a valid glob: unclosed alternate group; missing '}' \
         (maybe escape '{' with '[{]'?)"
    );
    assert_eq!(
        refused(&KEY.replace("\"s1\"", "\"\"")),
        "quarry.toml:4:21: secret_access_key must not be empty"
    );
}

#[test]
fn bad_listen_addresses_are_refused() {
    assert_eq!(
        refused("[server]\nlisten = \"localhost\"\n"),
        "quarry.toml:2:10: \"localhost\" is not a socket address (expected IP:port, such as 127.0.0.1:8080)"
    );
    assert_eq!(
        refused("[server.max_body_bytes]\nbedrock = 0\n"),
        "quarry.toml:2:11: max_body_bytes.bedrock must be greater than 0"
    );
}

#[test]
fn environment_overrides_the_file_and_flags_override_both() {
    let text = format!(
        "default_provider = \"mock\"\n{MOCK}[providers.other]\ntype = \"mock\"\n\
         [server]\nlisten = \"127.0.0.1:1000\"\ndata_dir = \"file-dir\"\nlog_format = \"pretty\"\n"
    );
    let source = Source {
        name: "quarry.toml",
        text: &text,
    };
    let file_only = load(source, &Env::new(), &Flags::default()).unwrap();
    assert_eq!(file_only.server.listen.port(), 1000);
    assert_eq!(file_only.default_provider.as_str(), "mock");

    let vars = env(&[
        ("QUARRY_LISTEN", "127.0.0.1:2000"),
        ("QUARRY_DATA_DIR", "env-dir"),
        ("QUARRY_LOG_FORMAT", "json"),
        ("QUARRY_DEFAULT_PROVIDER", "other"),
        // Not one of ours: ignored.
        ("QUARRY_SOMETHING_ELSE", "x"),
    ]);
    let from_env = load(source, &vars, &Flags::default()).unwrap();
    assert_eq!(from_env.server.listen.port(), 2000);
    assert_eq!(from_env.server.data_dir, PathBuf::from("env-dir"));
    assert_eq!(from_env.server.log_format, LogFormat::Json);
    assert_eq!(from_env.default_provider.as_str(), "other");

    let flags = Flags {
        listen: Some("127.0.0.1:3000".parse().unwrap()),
        data_dir: Some(PathBuf::from("flag-dir")),
        log_format: Some(LogFormat::Pretty),
        tls_cert: Some(PathBuf::from("cert.pem")),
        tls_key: Some(PathBuf::from("key.pem")),
    };
    let from_flags = load(source, &vars, &flags).unwrap();
    assert_eq!(from_flags.server.listen.port(), 3000);
    assert_eq!(from_flags.server.data_dir, PathBuf::from("flag-dir"));
    assert_eq!(from_flags.server.log_format, LogFormat::Pretty);
    assert_eq!(
        from_flags.server.tls,
        Some(TlsConfig {
            cert: PathBuf::from("cert.pem"),
            key: PathBuf::from("key.pem"),
        })
    );
    // Flags have no default-provider switch: the environment's still holds.
    assert_eq!(from_flags.default_provider.as_str(), "other");
}

#[test]
fn empty_environment_variables_count_as_unset() {
    let config = load(
        Source::embedded(),
        &env(&[("QUARRY_LISTEN", ""), ("QUARRY_AUTH_MODE", "")]),
        &Flags::default(),
    )
    .unwrap();
    assert_eq!(config.server.listen.port(), 8080);
}

#[test]
fn bad_overrides_name_their_source() {
    let err = |vars: &[(&str, &str)], flags: &Flags| {
        load(Source::embedded(), &env(vars), flags)
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        err(&[("QUARRY_LISTEN", "nowhere")], &Flags::default()),
        "$QUARRY_LISTEN: \"nowhere\" is not a socket address (expected IP:port, such as 127.0.0.1:8080)"
    );
    assert_eq!(
        err(&[("QUARRY_LOG_FORMAT", "xml")], &Flags::default()),
        "$QUARRY_LOG_FORMAT: \"xml\" is not a valid value: unknown log format \"xml\" \
         (expected \"pretty\" or \"json\")"
    );
    assert_eq!(
        err(&[("QUARRY_DEFAULT_PROVIDER", "openai")], &Flags::default()),
        "$QUARRY_DEFAULT_PROVIDER: default_provider names provider \"openai\", which is not \
         configured (configured: mock)"
    );
    let half = Flags {
        tls_key: Some(PathBuf::from("key.pem")),
        ..Flags::default()
    };
    assert_eq!(
        err(&[], &half),
        "--tls-key: given without --tls-cert; a TLS certificate and key go together"
    );
}

#[test]
fn secrets_never_show_in_debug() {
    let config = load(
        Source {
            name: "quarry.example.toml",
            text: EXAMPLE,
        },
        &example_env(&[("QUARRY_AUTH_MODE", "sigv4")]),
        &Flags::default(),
    )
    .unwrap();
    let debug = format!("{config:?}");
    for secret in [
        "change-me-ci-secret",
        "change-me-alice-secret",
        "change-me-ci-bearer-token",
        "sk-from-env",
        "g-from-env",
        "sk-ant-change-me",
        "gemini-change-me",
        "org-change-me",
    ] {
        assert!(!debug.contains(secret), "{secret} leaked into {debug}");
    }
    assert!(
        debug.contains("AKIAQUARRYCI0000001"),
        "access key ids are public"
    );
    let key = format!("{:?}", ApiKey::new("sk-live"));
    assert_eq!(key, "ApiKey(<redacted>)");
}

#[test]
fn errors_carry_structured_origin_and_problem() {
    let e = load_text("[providers.mock]\ntype = \"mock\"\nstream_chunk_chars = 0\n").unwrap_err();
    assert_eq!(
        e.origin(),
        Some(&Origin::File {
            path: "quarry.toml".to_owned(),
            line: 3,
            column: 22,
        })
    );
    assert_eq!(
        e.problem(),
        Some(&Problem::Zero {
            field: "stream_chunk_chars".to_owned()
        })
    );
}

const BEDROCK: &str = "[providers.aws]\ntype = \"bedrock\"\nregion = \"eu-west-1\"\n";

fn s3_of(text: &str) -> Option<S3Target> {
    let config = load_text(text).unwrap();
    match &config.providers[&ProviderId::new("aws")] {
        ProviderConfig::Bedrock(b) => b.s3.clone(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn bedrock_files_stay_local_without_an_s3_table() {
    assert_eq!(s3_of(BEDROCK), None);
}

#[test]
fn an_s3_table_defaults_to_aws_in_the_providers_region_virtual_hosted() {
    let s3 = s3_of(&format!("{BEDROCK}[providers.aws.s3]\n")).unwrap();
    assert_eq!(s3.region, "eu-west-1");
    assert_eq!(
        s3.endpoint,
        BaseUrl::parse("https://s3.eu-west-1.amazonaws.com").unwrap()
    );
    assert_eq!(s3.addressing, Addressing::Virtual);
    // Another region moves the default endpoint with it.
    let s3 = s3_of(&format!(
        "{BEDROCK}[providers.aws.s3]\nregion = \"us-west-2\"\n"
    ))
    .unwrap();
    assert_eq!(s3.region, "us-west-2");
    assert_eq!(
        s3.endpoint.to_string(),
        "https://s3.us-west-2.amazonaws.com/"
    );
    // An inline table is the same thing.
    let inline = s3_of(&format!("{BEDROCK}s3 = {{ addressing = \"path\" }}\n")).unwrap();
    assert_eq!(inline.addressing, Addressing::Path);
    assert_eq!(
        inline.endpoint.to_string(),
        "https://s3.eu-west-1.amazonaws.com/"
    );
}

#[test]
fn a_custom_s3_endpoint_defaults_to_path_style() {
    let s3 = s3_of(&format!(
        "{BEDROCK}[providers.aws.s3]\nendpoint = \"http://127.0.0.1:9000\"\n"
    ))
    .unwrap();
    assert_eq!(
        s3.endpoint,
        BaseUrl::parse("http://127.0.0.1:9000").unwrap()
    );
    assert_eq!(s3.addressing, Addressing::Path);
    assert_eq!(s3.region, "eu-west-1");
    let s3 = s3_of(&format!(
        "{BEDROCK}[providers.aws.s3]\nendpoint = \"https://s3.example.com\"\naddressing = \"virtual\"\n"
    ))
    .unwrap();
    assert_eq!(s3.addressing, Addressing::Virtual);
}

#[test]
fn bad_s3_settings_are_refused_where_they_are() {
    assert_eq!(
        refused(&format!(
            "{BEDROCK}[providers.aws.s3]\naddressing = \"dns\"\n"
        )),
        "quarry.toml:5:14: \"dns\" is not a valid value: expected \"virtual\" (<bucket>.<endpoint host>) or \"path\" (<endpoint>/<bucket>)"
    );
    assert_eq!(
        refused(&format!(
            "{BEDROCK}[providers.aws.s3]\nendpoint = \"minio:9000\"\n"
        )),
        "quarry.toml:5:12: \"minio:9000\" is not a valid URL: it is not absolute (expected http:// or https://)"
    );
    assert_eq!(
        refused(&format!(
            "{BEDROCK}[providers.aws.s3]\nregion = \"EU West\"\n"
        )),
        "quarry.toml:5:10: \"EU West\" is not a valid value: an AWS region is lowercase letters, digits and '-', such as us-east-1"
    );
    assert_eq!(
        refused(&format!("{BEDROCK}[providers.aws.s3]\nbucket = \"b\"\n")),
        "quarry.toml:5:1: unknown field `bucket`, expected one of `region`, `endpoint`, `addressing`, `buckets`"
    );
    assert_eq!(
        refused(&format!("{BEDROCK}s3 = {{ bucket = \"b\" }}\n")),
        "quarry.toml:4:8: unknown field `bucket`, expected one of `region`, `endpoint`, `addressing`, `buckets`"
    );
}

#[test]
fn s3_needs_aws_credentials() {
    let err = refused(&format!(
        "{BEDROCK}api_key = \"bedrock-key\"\n[providers.aws.s3]\nregion = \"eu-west-1\"\n"
    ));
    assert!(err.starts_with("quarry.toml:5:"), "{err}");
    assert!(
        err.contains("provider \"aws\" has an s3 table but authenticates with api_key"),
        "{err}"
    );
}

#[test]
fn s3_is_only_for_bedrock_providers() {
    let err = load_text("[providers.o]\ntype = \"openai\"\napi_keys = []\n[providers.o.s3]\n")
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "quarry.toml:4:14: s3 is only for providers of type \"bedrock\" (provider \"o\" is of type \"openai\"): only AWS Bedrock's files live in S3"
    );
    assert_eq!(
        err.problem(),
        Some(&Problem::S3NotBedrock {
            name: "o".to_owned(),
            kind: "openai".to_owned()
        })
    );
    assert_eq!(
        refused("[providers.m]\ntype = \"mock\"\ns3 = { region = \"us-east-1\" }\n"),
        "quarry.toml:3:1: s3 is only for providers of type \"bedrock\" (provider \"m\" is of type \"mock\"): only AWS Bedrock's files live in S3"
    );
}

#[test]
fn the_examples_s3_table_loads_once_uncommented() {
    let uncommented = EXAMPLE
        .lines()
        .map(|line| {
            if line == "# [providers.aws.s3]"
                || ["# region =", "# endpoint =", "# addressing ="]
                    .iter()
                    .any(|k| line.starts_with(k))
            {
                line.trim_start_matches("# ").to_owned()
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert_ne!(
        uncommented,
        EXAMPLE.trim_end(),
        "the example documents [providers.aws.s3]"
    );
    let config = load(
        Source {
            name: "quarry.example.toml",
            text: &uncommented,
        },
        &example_env(&[]),
        &Flags::default(),
    )
    .unwrap();
    let ProviderConfig::Bedrock(aws) = &config.providers[&ProviderId::new("aws")] else {
        panic!("aws is a bedrock provider")
    };
    let s3 = aws.s3.as_ref().expect("the s3 table is read");
    assert_eq!(s3.region, "us-east-1");
    assert_eq!(
        s3.endpoint.to_string(),
        "https://s3.us-east-1.amazonaws.com/"
    );
    assert_eq!(s3.addressing, Addressing::Virtual);
}

#[test]
fn batch_settings_are_checked() {
    let config = crate::config::load(
        Source {
            name: "quarry.toml",
            text: "[batch]\nregion = \"eu-west-1\"\naccount_id = \"123456789012\"\nconcurrency = 4\n\
                   requests_per_second = 2.5\nmax_records = 10\npoll_interval_seconds = 0.5\nmax_running_jobs = 2\n\
                   [providers.mock]\ntype = \"mock\"\n[providers.v]\ntype = \"openai\"\n\
                   base_url = \"http://127.0.0.1:1/v1\"\napi_keys = [{ key = \"k\" }]\nbatch = \"local\"\n",
        },
        &Env::default(),
        &Flags::default(),
    )
    .unwrap();
    assert_eq!(config.batch.region, "eu-west-1");
    assert_eq!(config.batch.account_id, "123456789012");
    assert_eq!(config.batch.concurrency.get(), 4);
    assert_eq!(config.batch.requests_per_second, Some(2.5));
    assert_eq!(config.batch.max_records, 10);
    assert_eq!(config.batch.poll_interval, Duration::from_millis(500));
    assert_eq!(config.batch.max_running_jobs.get(), 2);
    let v = config.providers.get(&ProviderId::new("v")).unwrap();
    assert_eq!(
        v.remote().unwrap().batch,
        crate::config::BatchBackend::Local
    );

    for (text, want) in [
        (
            "[batch]\naccount_id = \"123\"\n",
            "batch.account_id is 12 digits",
        ),
        (
            "[batch]\nregion = \"Mars\"\n",
            "batch.region is an AWS region name",
        ),
        (
            "[batch]\nconcurrency = 0\n",
            "batch.concurrency is 1 to 1024",
        ),
        (
            "[batch]\nrequests_per_second = 0.0\n",
            "requests_per_second is a number above 0",
        ),
        ("[batch]\nmax_records = 0\n", "batch.max_records is above 0"),
        (
            "[batch]\nmax_running_jobs = 0\n",
            "batch.max_running_jobs is 1 to 256",
        ),
        (
            "[providers.o]\ntype = \"openai\"\napi_keys = [{ key = \"k\" }]\nbatch = \"later\"\n",
            "batch is \"native\"",
        ),
    ] {
        let err = refused(text);
        assert!(err.contains(want), "{text}: {err}");
    }
}

#[test]
fn base_url_join_is_the_url_the_whole_string_parses_to() {
    // `join` sets path and query on a URL parsed once; it must give what parsing the
    // concatenated string gives, which is what requests were built from before.
    for base in [
        "http://127.0.0.1:8080",
        "http://127.0.0.1:8080/",
        "https://api.openai.com/v1",
        "https://api.openai.com/v1/",
        "https://proxy.example/a%20b/v1",
        "https://xn--bcher-kva.example:8443/openai",
    ] {
        for path in [
            "/chat/completions",
            "/models/gemini-2.0-flash:streamGenerateContent?alt=sse",
            "/models/x%3A0:countTokens",
            "/v1/messages?beta=true&x=a b",
        ] {
            let joined = BaseUrl::parse(base).unwrap().join(path);
            let whole = format!("{}{path}", base.trim_end_matches('/'));
            assert_eq!(
                joined,
                reqwest::Url::parse(&whole).unwrap(),
                "{base} + {path}"
            );
        }
    }
}
