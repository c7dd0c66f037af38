//! Configuration: TOML parsed into `Uninitialized*` types, then validated into runtime types.
