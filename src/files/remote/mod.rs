//! Provider file stores (OpenAI Files, Gemini Files) that hold the bodies of their buckets' objects.

pub mod gemini;
pub mod openai;
