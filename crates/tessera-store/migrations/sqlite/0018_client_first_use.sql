-- Dynamic registrations nobody uses expire (`[registration] unused_expiry`).
-- A client's first use (an authentication with credentials, or a code issued)
-- is kept beside the client, not in `clients`: a write there would move the
-- clients generation and empty every server's client cache.
CREATE TABLE client_first_use (
    client_id     TEXT PRIMARY KEY NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    first_used_at INTEGER NOT NULL
);

-- Clients registered before this migration may well be in use: nothing says
-- they are not, so none of them expires.
INSERT INTO client_first_use (client_id, first_used_at)
    SELECT client_id, CAST(strftime('%s', 'now') AS INTEGER) FROM clients;

-- The candidates for expiry, so that pruning does not scan every client.
CREATE INDEX clients_unowned_registrations ON clients (created_at)
    WHERE registration_token_hash IS NOT NULL AND owner_user_id IS NULL;
