//! Request authentication: SigV4 (header and presigned) and bearer tokens against gateway-issued keys.
