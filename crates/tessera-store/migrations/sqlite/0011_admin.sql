-- The admin console and API: roles, application owners, per-client token
-- lifetimes, admin API tokens and the audit trail.
ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'developer', 'admin'));

ALTER TABLE clients ADD COLUMN owner_user_id TEXT REFERENCES users (user_id) ON DELETE SET NULL;
ALTER TABLE clients ADD COLUMN access_token_lifetime INTEGER CHECK (access_token_lifetime > 0);
CREATE INDEX clients_by_owner ON clients (owner_user_id, created_at);

-- Bearer tokens for /admin/api, stored as SHA-256. A token acts as its user,
-- with the user's role at the time of each request.
CREATE TABLE admin_api_tokens (
    token_id     TEXT PRIMARY KEY NOT NULL,
    token_hash   BLOB NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    user_id      TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    last_used_at INTEGER
);
CREATE INDEX admin_api_tokens_by_user ON admin_api_tokens (user_id);

-- Who did what, when and from where. Never a secret.
CREATE TABLE audit_events (
    event_id INTEGER PRIMARY KEY AUTOINCREMENT,
    at       INTEGER NOT NULL,
    actor    TEXT NOT NULL,
    action   TEXT NOT NULL,
    target   TEXT,
    outcome  TEXT NOT NULL CHECK (outcome IN ('success', 'failure')),
    ip       TEXT,
    -- A JSON object.
    details  TEXT NOT NULL
);
CREATE INDEX audit_events_by_time ON audit_events (at);
CREATE INDEX audit_events_by_action ON audit_events (action, event_id);
