-- Scope registry, client registry and signing keys (PostgreSQL).
CREATE TABLE scopes (
    name        TEXT PRIMARY KEY,
    description TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE clients (
    client_id     TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    org_url       TEXT,
    -- SHA-256 of the secret; NULL for public clients.
    secret_hash   BYTEA CHECK (secret_hash IS NULL OR length(secret_hash) = 32),
    -- JSON arrays of strings.
    redirect_uris TEXT NOT NULL,
    grant_types   TEXT NOT NULL,
    resources     TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);

-- A scope in use by a client cannot be deleted (no ON DELETE on `scope`).
CREATE TABLE client_scopes (
    client_id  TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    scope      TEXT NOT NULL REFERENCES scopes (name),
    is_default BOOLEAN NOT NULL,
    PRIMARY KEY (client_id, scope)
);
CREATE INDEX client_scopes_by_scope ON client_scopes (scope);

CREATE TABLE signing_keys (
    kid         TEXT PRIMARY KEY,
    algorithm   TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('next', 'current', 'retired')),
    -- PKCS#8 DER.
    private_key BYTEA NOT NULL,
    created_at  BIGINT NOT NULL
);
-- Several replicas may start at once; only one key per algorithm becomes current.
CREATE UNIQUE INDEX signing_keys_one_current ON signing_keys (algorithm) WHERE state = 'current';
