//! Bedrock Runtime served over the providers: the generated `BedrockRuntime` trait implemented.

mod errors;
mod invoke;
mod passthrough;
pub mod routing;

use std::sync::Arc;

use futures_util::StreamExt as _;
use quarry_bedrock_runtime::BedrockRuntime;
use quarry_bedrock_runtime::operation::{
    apply_guardrail::{ApplyGuardrailError, ApplyGuardrailInput, ApplyGuardrailOutput},
    converse::{ConverseError, ConverseInput, ConverseOutput},
    converse_stream::{ConverseStreamError, ConverseStreamInput, ConverseStreamOutput},
    count_tokens::{CountTokensError, CountTokensInput, CountTokensOutput},
    invoke_model::{InvokeModelError, InvokeModelInput, InvokeModelOutput},
    invoke_model_with_response_stream::{
        InvokeModelWithResponseStreamError, InvokeModelWithResponseStreamInput,
        InvokeModelWithResponseStreamOutput,
    },
};
use quarry_bedrock_runtime::types::{ConverseStreamOutputError, CountTokensInput as TokensRequest};

use self::errors::{internal, wire};
use self::routing::Routes;
use crate::context::CallContext;
use crate::providers::{ConverseCall, ProviderError};

pub use self::routing::{PROVIDER_HEADER, Rule};

/// The Bedrock Runtime service of the gateway.
#[derive(Debug, Clone)]
pub struct Runtime {
    routes: Arc<Routes>,
}

impl Runtime {
    pub fn new(routes: Routes) -> Self {
        Self {
            routes: Arc::new(routes),
        }
    }

    /// The routing table, shared with batch jobs (which route each job as Converse would).
    pub fn routes(&self) -> Arc<Routes> {
        self.routes.clone()
    }

    /// Routes an InvokeModel body: the family codec turns it into a Converse call.
    fn invoke_call(
        &self,
        model_id: &str,
        content_type: Option<&str>,
        body: Option<&aws_smithy_types::Blob>,
    ) -> Result<
        (
            Arc<dyn crate::providers::Provider>,
            ConverseCall,
            crate::families::Dialect,
        ),
        ProviderError,
    > {
        invoke::check_content_type(content_type)?;
        let context = CallContext::current();
        let headers = Arc::clone(&context.headers);
        let (provider, model) = self.routes.select(model_id, &headers)?;
        check_allowed(context.identity.as_ref(), provider.id().as_str(), model_id)?;
        let body = body.map(aws_smithy_types::Blob::as_ref).unwrap_or_default();
        let invocation = crate::families::parse_invoke_request(model.as_str(), body)?;
        let request = invocation.parts.into_converse_input(model_id);
        Ok((
            provider,
            ConverseCall {
                model,
                request,
                headers,
            },
            invocation.dialect,
        ))
    }

    /// Routes a Converse request and builds the provider's call.
    fn call(
        &self,
        request: ConverseInput,
    ) -> Result<(Arc<dyn crate::providers::Provider>, ConverseCall), ProviderError> {
        let context = CallContext::current();
        let headers = Arc::clone(&context.headers);
        let (provider, model) = self.routes.select(&request.model_id, &headers)?;
        check_allowed(
            context.identity.as_ref(),
            provider.id().as_str(),
            &request.model_id,
        )?;
        reject_unsupported(&request, provider.id().as_str())?;
        Ok((
            provider,
            ConverseCall {
                model,
                request,
                headers,
            },
        ))
    }
}

impl Runtime {
    /// Runs `attempt` on the routed provider, then on its fallbacks in order while the failure
    /// is one another provider may not have. Only failures before an answer started reach here:
    /// a stream that already sent events fails in-stream instead.
    async fn with_fallbacks<T, Fut>(
        &self,
        primary: Arc<dyn crate::providers::Provider>,
        call: ConverseCall,
        attempt: impl Fn(Arc<dyn crate::providers::Provider>, ConverseCall) -> Fut,
    ) -> Result<T, ProviderError>
    where
        Fut: std::future::Future<Output = Result<T, ProviderError>>,
    {
        let fallbacks = self.routes.fallbacks_of(primary.id());
        if fallbacks.is_empty() {
            // Nothing to fall back on: the call need not be kept for another attempt.
            return attempt(primary, call).await;
        }
        let from = primary.id().clone();
        let mut last = match attempt(primary, call.clone()).await {
            Ok(answer) => return Ok(answer),
            Err(err) => err,
        };
        let identity = CallContext::current().identity.clone();
        for (provider, model) in fallbacks {
            if !last.falls_back() {
                break;
            }
            // A key's allowance covers its fallbacks too: a provider it may not use is skipped.
            if check_allowed(
                identity.as_ref(),
                provider.id().as_str(),
                &call.request.model_id,
            )
            .is_err()
            {
                continue;
            }
            tracing::warn!(from = %from, to = %provider.id(), model = %model, error = %last, "falling back");
            let mut next = call.clone();
            next.model = model;
            match attempt(provider, next).await {
                Ok(answer) => return Ok(answer),
                Err(err) => last = err,
            }
        }
        Err(last)
    }
}

/// A gateway-issued key reaches only the providers and models it was given.
fn check_allowed(
    identity: Option<&crate::auth::Identity>,
    provider: &str,
    model_id: &str,
) -> Result<(), ProviderError> {
    match identity {
        Some(key) if !key.allows(provider, model_id) => Err(ProviderError::new(
            crate::providers::ErrorKind::AccessDenied,
            format!(
                "You don't have access to the model with the specified model ID: key '{}' may not use model '{model_id}' through provider '{provider}'",
                key.key_name
            ),
        )),
        _ => Ok(()),
    }
}

/// Features no provider behind the gateway can serve yet: refused by name, never dropped.
fn reject_unsupported(request: &ConverseInput, provider: &str) -> Result<(), ProviderError> {
    if request.guardrail_config.is_some() {
        return Err(ProviderError::validation(format!(
            "guardrailConfig is not supported by provider '{provider}'"
        )));
    }
    if request.prompt_variables.is_some() {
        return Err(ProviderError::validation(format!(
            "promptVariables require a Bedrock prompt resource, which provider '{provider}' does not have"
        )));
    }
    Ok(())
}

/// ConverseStream's input carries the same fields as Converse's, except its guardrail type.
fn stream_request(input: ConverseStreamInput) -> Result<ConverseInput, ProviderError> {
    if input.guardrail_config.is_some() {
        return Err(ProviderError::validation(
            "guardrailConfig is not supported by this gateway's providers",
        ));
    }
    ConverseInput::builder()
        .model_id(input.model_id)
        .set_messages(input.messages)
        .set_system(input.system)
        .set_inference_config(input.inference_config)
        .set_tool_config(input.tool_config)
        .set_additional_model_request_fields(input.additional_model_request_fields)
        .set_prompt_variables(input.prompt_variables)
        .set_additional_model_response_field_paths(input.additional_model_response_field_paths)
        .set_request_metadata(input.request_metadata)
        .set_performance_config(input.performance_config)
        .set_service_tier(input.service_tier)
        .set_output_config(input.output_config)
        .build()
        .map_err(|e| ProviderError::validation(e.to_string()))
}

impl BedrockRuntime for Runtime {
    async fn converse(&self, input: ConverseInput) -> Result<ConverseOutput, ConverseError> {
        let (provider, call) = self.call(input).map_err(wire::<ConverseError>)?;
        self.with_fallbacks(provider, call, |p, c| async move { p.converse(c).await })
            .await
            .map_err(wire::<ConverseError>)
    }

    async fn converse_stream(
        &self,
        input: ConverseStreamInput,
    ) -> Result<ConverseStreamOutput, ConverseStreamError> {
        let request = stream_request(input).map_err(wire::<ConverseStreamError>)?;
        let (provider, call) = self.call(request).map_err(wire::<ConverseStreamError>)?;
        // Errors before the first event are ordinary responses; later ones become exception frames.
        let events = self
            .with_fallbacks(
                provider,
                call,
                |p, c| async move { p.converse_stream(c).await },
            )
            .await
            .map_err(wire::<ConverseStreamError>)?;
        let events = events.map(|item| item.map_err(wire::<ConverseStreamOutputError>));
        ConverseStreamOutput::builder()
            .stream(aws_smithy_http::event_stream::EventStreamSender::from(
                events,
            ))
            .build()
            .map_err(internal::<ConverseStreamError>)
    }

    async fn count_tokens(
        &self,
        input: CountTokensInput,
    ) -> Result<CountTokensOutput, CountTokensError> {
        let request = match input.input {
            TokensRequest::Converse(c) => ConverseInput::builder()
                .model_id(input.model_id)
                .set_messages(c.messages)
                .set_system(c.system)
                .set_tool_config(c.tool_config)
                .set_additional_model_request_fields(c.additional_model_request_fields)
                .build()
                .map_err(|e| wire::<CountTokensError>(ProviderError::validation(e.to_string())))?,
            TokensRequest::InvokeModel(body) => {
                let (provider, call, _) = self
                    .invoke_call(&input.model_id, None, Some(&body.body))
                    .map_err(wire::<CountTokensError>)?;
                let tokens = provider
                    .count_tokens(call)
                    .await
                    .map_err(wire::<CountTokensError>)?;
                return CountTokensOutput::builder()
                    .input_tokens(tokens)
                    .build()
                    .map_err(internal::<CountTokensError>);
            }
        };
        let (provider, call) = self.call(request).map_err(wire::<CountTokensError>)?;
        let tokens = provider
            .count_tokens(call)
            .await
            .map_err(wire::<CountTokensError>)?;
        CountTokensOutput::builder()
            .input_tokens(tokens)
            .build()
            .map_err(internal::<CountTokensError>)
    }

    async fn invoke_model(
        &self,
        input: InvokeModelInput,
    ) -> Result<InvokeModelOutput, InvokeModelError> {
        let (provider, call, dialect) = self
            .invoke_call(
                &input.model_id,
                input.content_type.as_deref(),
                input.body.as_ref(),
            )
            .map_err(wire::<InvokeModelError>)?;
        let context = crate::families::ResponseContext::new(call.model.as_str());
        let out = self
            .with_fallbacks(provider, call, |p, c| async move { p.converse(c).await })
            .await
            .map_err(wire::<InvokeModelError>)?;
        InvokeModelOutput::builder()
            .body(aws_smithy_types::Blob::new(
                dialect.render_response(&out, &context),
            ))
            .content_type(invoke::JSON)
            .build()
            .map_err(internal::<InvokeModelError>)
    }

    async fn invoke_model_with_response_stream(
        &self,
        input: InvokeModelWithResponseStreamInput,
    ) -> Result<InvokeModelWithResponseStreamOutput, InvokeModelWithResponseStreamError> {
        let (provider, call, dialect) = self
            .invoke_call(
                &input.model_id,
                input.content_type.as_deref(),
                input.body.as_ref(),
            )
            .map_err(wire::<InvokeModelWithResponseStreamError>)?;
        let encoder =
            dialect.stream_encoder(crate::families::ResponseContext::new(call.model.as_str()));
        let events = self
            .with_fallbacks(
                provider,
                call,
                |p, c| async move { p.converse_stream(c).await },
            )
            .await
            .map_err(wire::<InvokeModelWithResponseStreamError>)?;
        InvokeModelWithResponseStreamOutput::builder()
            .body(aws_smithy_http::event_stream::EventStreamSender::from(
                invoke::FamilyChunks::new(events, encoder),
            ))
            .content_type(invoke::JSON)
            .build()
            .map_err(internal::<InvokeModelWithResponseStreamError>)
    }

    async fn apply_guardrail(
        &self,
        input: ApplyGuardrailInput,
    ) -> Result<ApplyGuardrailOutput, ApplyGuardrailError> {
        Err(wire::<ApplyGuardrailError>(ProviderError::validation(
            format!(
                "Guardrail '{}' cannot be applied: guardrails are not supported by the configured providers",
                input.guardrail_identifier
            ),
        )))
    }
}
