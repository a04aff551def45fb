-- Pushed authorization requests (RFC 9126), by the SHA-256 of their request_uri.
-- Taking one deletes it: a request_uri is used once, whichever server it reaches.
CREATE TABLE pushed_authorization_requests (
    request_uri_hash BLOB PRIMARY KEY NOT NULL,
    client_id        TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    -- The authorization request's parameters, form-encoded.
    params           TEXT NOT NULL,
    expires_at       INTEGER NOT NULL
);
CREATE INDEX pushed_authorization_requests_by_expiry ON pushed_authorization_requests (expires_at);
