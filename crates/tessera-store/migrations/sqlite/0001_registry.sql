-- Scope registry, client registry and signing keys.
CREATE TABLE scopes (
    name        TEXT PRIMARY KEY NOT NULL,
    description TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE clients (
    client_id     TEXT PRIMARY KEY NOT NULL,
    name          TEXT NOT NULL,
    org_url       TEXT,
    -- SHA-256 of the secret; NULL for public clients.
    secret_hash   BLOB CHECK (secret_hash IS NULL OR length(secret_hash) = 32),
    -- JSON arrays of strings.
    redirect_uris TEXT NOT NULL,
    grant_types   TEXT NOT NULL,
    resources     TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);

-- A scope in use by a client cannot be deleted (no ON DELETE on `scope`).
CREATE TABLE client_scopes (
    client_id  TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    scope      TEXT NOT NULL REFERENCES scopes (name),
    is_default INTEGER NOT NULL CHECK (is_default IN (0, 1)),
    PRIMARY KEY (client_id, scope)
);
CREATE INDEX client_scopes_by_scope ON client_scopes (scope);

CREATE TABLE signing_keys (
    kid         TEXT PRIMARY KEY NOT NULL,
    algorithm   TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('next', 'current', 'retired')),
    -- PKCS#8 DER.
    private_key BLOB NOT NULL,
    created_at  INTEGER NOT NULL
);
-- Several processes may start at once; only one key per algorithm becomes current.
CREATE UNIQUE INDEX signing_keys_one_current ON signing_keys (algorithm) WHERE state = 'current';
