//! Bedrock Runtime served over the providers: the generated `BedrockRuntime` trait implemented.
