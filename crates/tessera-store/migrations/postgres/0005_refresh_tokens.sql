-- Refresh tokens by SHA-256, in families: one family per code redemption.
CREATE TABLE refresh_tokens (
    token_hash BYTEA PRIMARY KEY,
    family_id  TEXT NOT NULL,
    client_id  TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    scope      TEXT NOT NULL,
    auth_time  BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    -- Set once, when the token is exchanged for its successor.
    rotated_at BIGINT,
    -- Set when the family is revoked (reuse, revocation, code replay).
    revoked_at BIGINT
);
CREATE INDEX refresh_tokens_by_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_by_expiry ON refresh_tokens (expires_at);

-- The refresh family issued from a code, revoked if the code is replayed.
ALTER TABLE authorization_codes ADD COLUMN refresh_family_id TEXT;

-- Server-wide secrets created on first start (e.g. the refresh successor key).
CREATE TABLE server_secrets (
    name       TEXT PRIMARY KEY,
    value      BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);
