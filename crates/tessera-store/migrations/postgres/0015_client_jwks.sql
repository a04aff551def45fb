-- A client's public keys for private_key_jwt (RFC 7591 `jwks`, a JWK Set as JSON
-- text) or where it publishes them (`jwks_uri`). At most one of the two is set.
ALTER TABLE clients ADD COLUMN jwks TEXT;
ALTER TABLE clients ADD COLUMN jwks_uri TEXT;
