-- The authorization code flow: browser sessions, remembered consent, codes.
ALTER TABLE clients ADD COLUMN require_pkce BOOLEAN NOT NULL DEFAULT TRUE;

-- A logged-in browser; the cookie holds the session id, the table its SHA-256.
CREATE TABLE sessions (
    session_hash BYTEA PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    auth_time    BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

-- What a user approved for a client, so the consent page is not shown again.
CREATE TABLE consents (
    user_id    TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    scope      TEXT NOT NULL,
    granted_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, client_id)
);

-- Authorization codes by SHA-256; consumed_at makes them single use.
CREATE TABLE authorization_codes (
    code_hash               BYTEA PRIMARY KEY,
    client_id               TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    user_id                 TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    redirect_uri            TEXT NOT NULL,
    redirect_uri_given      BOOLEAN NOT NULL,
    scope                   TEXT NOT NULL,
    code_challenge          TEXT,
    code_challenge_method   TEXT,
    nonce                   TEXT,
    auth_time               BIGINT NOT NULL,
    expires_at              BIGINT NOT NULL,
    consumed_at             BIGINT,
    -- The access token issued from the code, revoked if the code is replayed.
    access_token_jti        TEXT,
    access_token_expires_at BIGINT
);
CREATE INDEX authorization_codes_by_expiry ON authorization_codes (expires_at);
