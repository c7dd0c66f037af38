//! Service implementations whose every operation answers the modeled `NotImplemented` error.

/// Uses each generated trait's default methods: every operation answers 501 `NotImplemented`.
#[derive(Debug, Default, Clone, Copy)]
pub struct NotImplementedYet;

impl quarry_bedrock_runtime::BedrockRuntime for NotImplementedYet {}
impl quarry_bedrock::Bedrock for NotImplementedYet {}
impl quarry_s3::S3 for NotImplementedYet {}
