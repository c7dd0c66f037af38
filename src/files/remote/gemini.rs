//! The Gemini Files API as a store for the `gemini` provider's objects.
