//! Decoding of `Content-Encoding: aws-chunked` request bodies, with chunk and trailer signatures.
