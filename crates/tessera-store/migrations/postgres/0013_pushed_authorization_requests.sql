-- Pushed authorization requests (RFC 9126), by the SHA-256 of their request_uri.
-- Taking one deletes it: a request_uri is used once, whichever replica it reaches.
CREATE TABLE pushed_authorization_requests (
    request_uri_hash BYTEA PRIMARY KEY,
    client_id        TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    -- The authorization request's parameters, form-encoded.
    params           TEXT NOT NULL,
    expires_at       BIGINT NOT NULL
);
CREATE INDEX pushed_authorization_requests_by_expiry ON pushed_authorization_requests (expires_at);
