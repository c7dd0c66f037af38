//! ListFoundationModels and GetFoundationModel, answered from the routing table: the Bedrock models
//! whose InvokeModel bodies the gateway translates, plus the configured aliases, each with the
//! provider it routes to.

use quarry_bedrock::types::{
    FoundationModelDetails, FoundationModelLifecycle, FoundationModelLifecycleStatus,
    FoundationModelSummary, InferenceType, ModelModality,
};

use super::errors::BatchError;
use crate::runtime::routing::Routes;

/// One Bedrock model id per family `src/families/` reads and writes.
const CATALOG: &[(&str, &str)] = &[
    ("anthropic.claude-3-haiku-20240307-v1:0", "Claude 3 Haiku"),
    ("anthropic.claude-3-sonnet-20240229-v1:0", "Claude 3 Sonnet"),
    (
        "anthropic.claude-3-5-sonnet-20240620-v1:0",
        "Claude 3.5 Sonnet",
    ),
    (
        "anthropic.claude-3-5-sonnet-20241022-v2:0",
        "Claude 3.5 Sonnet v2",
    ),
    ("meta.llama3-8b-instruct-v1:0", "Llama 3 8B Instruct"),
    ("meta.llama3-70b-instruct-v1:0", "Llama 3 70B Instruct"),
    ("mistral.mistral-7b-instruct-v0:2", "Mistral 7B Instruct"),
    ("mistral.mistral-large-2407-v1:0", "Mistral Large (24.07)"),
    ("amazon.titan-text-express-v1", "Titan Text G1 - Express"),
    ("amazon.nova-lite-v1:0", "Nova Lite"),
    ("amazon.nova-pro-v1:0", "Nova Pro"),
    ("cohere.command-r-v1:0", "Command R"),
];

/// A model the gateway answers: its id, a display name, and the provider that serves it.
struct Entry {
    id: String,
    name: String,
    provider: String,
}

fn entries(routes: &Routes) -> Vec<Entry> {
    let headers = http::HeaderMap::new();
    let mut out = Vec::new();
    let ids = CATALOG
        .iter()
        .map(|(id, name)| ((*id).to_owned(), (*name).to_owned()))
        .chain(
            routes
                .alias_names()
                .into_iter()
                .map(|a| (a.to_owned(), a.to_owned())),
        );
    for (id, name) in ids {
        if let Ok((provider, _)) = routes.select(&id, &headers) {
            out.push(Entry {
                id,
                name,
                provider: provider.id().as_str().to_owned(),
            });
        }
    }
    out
}

fn arn(region: &str, id: &str) -> String {
    format!("arn:aws:bedrock:{region}::foundation-model/{id}")
}

fn lifecycle() -> Result<FoundationModelLifecycle, BatchError> {
    FoundationModelLifecycle::builder()
        .status(FoundationModelLifecycleStatus::Active)
        .build()
        .map_err(|e| BatchError::Internal(e.to_string()))
}

/// Every model, filtered by provider name (case-insensitive) and output modality as Bedrock
/// filters; every model here is on-demand, text in and out, streaming.
pub fn list(
    routes: &Routes,
    region: &str,
    by_provider: Option<&str>,
    by_output_modality: Option<&ModelModality>,
    by_inference_type: Option<&InferenceType>,
) -> Result<Vec<FoundationModelSummary>, BatchError> {
    if by_output_modality.is_some_and(|m| *m != ModelModality::Text)
        || by_inference_type.is_some_and(|t| *t != InferenceType::OnDemand)
    {
        return Ok(Vec::new());
    }
    entries(routes)
        .into_iter()
        .filter(|e| by_provider.is_none_or(|p| p.eq_ignore_ascii_case(&e.provider)))
        .map(|e| {
            FoundationModelSummary::builder()
                .model_arn(arn(region, &e.id))
                .model_id(e.id)
                .model_name(e.name)
                .provider_name(e.provider)
                .input_modalities(vec![ModelModality::Text])
                .output_modalities(vec![ModelModality::Text])
                .response_streaming_supported(true)
                .customizations_supported(vec![])
                .inference_types_supported(vec![InferenceType::OnDemand])
                .model_lifecycle(lifecycle()?)
                .build()
                .map_err(|e| BatchError::Internal(e.to_string()))
        })
        .collect()
}

/// One model by id or foundation-model ARN; unknown ids are ResourceNotFoundException.
pub fn get(
    routes: &Routes,
    region: &str,
    identifier: &str,
) -> Result<FoundationModelDetails, BatchError> {
    let id = identifier
        .rsplit_once("foundation-model/")
        .map_or(identifier, |(_, id)| id);
    let entry = entries(routes)
        .into_iter()
        .find(|e| e.id == id)
        .ok_or_else(|| {
            BatchError::NotFound(format!(
                "The model {identifier} is not one this gateway lists."
            ))
        })?;
    FoundationModelDetails::builder()
        .model_arn(arn(region, &entry.id))
        .model_id(entry.id)
        .model_name(entry.name)
        .provider_name(entry.provider)
        .input_modalities(vec![ModelModality::Text])
        .output_modalities(vec![ModelModality::Text])
        .response_streaming_supported(true)
        .customizations_supported(vec![])
        .inference_types_supported(vec![InferenceType::OnDemand])
        .model_lifecycle(lifecycle()?)
        .build()
        .map_err(|e| BatchError::Internal(e.to_string()))
}
