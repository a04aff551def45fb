-- Counting live refresh families (the metrics gauge) reads only this index.
CREATE INDEX refresh_tokens_live ON refresh_tokens (expires_at) WHERE rotated_at IS NULL AND revoked_at IS NULL;
