-- Client lifecycle (rotation, disabling, dynamic registration) and token revocation (PostgreSQL).
ALTER TABLE clients
    ADD COLUMN previous_secret_hash BYTEA
        CHECK (previous_secret_hash IS NULL OR length(previous_secret_hash) = 32),
    ADD COLUMN previous_secret_expires_at BIGINT,
    ADD COLUMN token_endpoint_auth_method TEXT NOT NULL DEFAULT 'client_secret_basic',
    ADD COLUMN disabled BOOLEAN NOT NULL DEFAULT FALSE,
    ADD COLUMN may_introspect_any_token BOOLEAN NOT NULL DEFAULT FALSE,
    -- SHA-256 of the RFC 7592 registration access token.
    ADD COLUMN registration_token_hash BYTEA;
UPDATE clients SET token_endpoint_auth_method = 'none' WHERE secret_hash IS NULL;

-- Revoked access tokens, remembered by jti until they would have expired.
CREATE TABLE revoked_access_tokens (
    jti        TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX revoked_access_tokens_by_expiry ON revoked_access_tokens (expires_at);

-- RFC 7591 initial access tokens, stored as SHA-256.
CREATE TABLE registration_tokens (
    token_hash BYTEA PRIMARY KEY CHECK (length(token_hash) = 32),
    created_at BIGINT NOT NULL,
    expires_at BIGINT
);
