-- Client lifecycle (rotation, disabling, dynamic registration) and token revocation.
ALTER TABLE clients ADD COLUMN previous_secret_hash BLOB
    CHECK (previous_secret_hash IS NULL OR length(previous_secret_hash) = 32);
ALTER TABLE clients ADD COLUMN previous_secret_expires_at INTEGER;
ALTER TABLE clients ADD COLUMN token_endpoint_auth_method TEXT NOT NULL DEFAULT 'client_secret_basic';
ALTER TABLE clients ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1));
ALTER TABLE clients ADD COLUMN may_introspect_any_token INTEGER NOT NULL DEFAULT 0
    CHECK (may_introspect_any_token IN (0, 1));
-- SHA-256 of the RFC 7592 registration access token.
ALTER TABLE clients ADD COLUMN registration_token_hash BLOB;
UPDATE clients SET token_endpoint_auth_method = 'none' WHERE secret_hash IS NULL;

-- Revoked access tokens, remembered by jti until they would have expired.
CREATE TABLE revoked_access_tokens (
    jti        TEXT PRIMARY KEY NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX revoked_access_tokens_by_expiry ON revoked_access_tokens (expires_at);

-- RFC 7591 initial access tokens, stored as SHA-256.
CREATE TABLE registration_tokens (
    token_hash BLOB PRIMARY KEY NOT NULL CHECK (length(token_hash) = 32),
    created_at INTEGER NOT NULL,
    expires_at INTEGER
);
