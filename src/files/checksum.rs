//! The digests S3 clients ask the server to verify: Content-MD5 and the x-amz-checksum family.
