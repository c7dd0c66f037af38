//! Conformance harness: serves generated routers on loopback and builds real AWS SDK clients against them.
