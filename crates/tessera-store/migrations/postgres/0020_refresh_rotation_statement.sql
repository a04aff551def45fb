-- Each successor refresh token names the token it replaced (written by the
-- one-statement rotation, as in SQLite, where a trigger reads it).
ALTER TABLE refresh_tokens ADD COLUMN rotated_from BYTEA;
