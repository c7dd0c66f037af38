//! The OpenAI Files API as a store for the `openai` provider's objects.
