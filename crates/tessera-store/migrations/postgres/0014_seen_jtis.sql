-- One-time identifiers seen (DPoP proof `jti`s, client assertion `jti`s), by the
-- SHA-256 of "{purpose}:{issuer_or_jkt}:{jti}", until they expire: a replay is
-- refused whichever replica it reaches.
CREATE TABLE seen_jtis (
    hash       BYTEA PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX seen_jtis_by_expiry ON seen_jtis (expires_at);

-- The JWK SHA-256 thumbprint (RFC 7638) a public client's refresh token is bound
-- to by DPoP (RFC 9449 §5); NULL if unbound. Successors inherit it.
ALTER TABLE refresh_tokens ADD COLUMN dpop_jkt TEXT;

-- RFC 9449 §5.2 client metadata: the client always uses DPoP at the token endpoint.
ALTER TABLE clients ADD COLUMN dpop_bound_access_tokens BOOLEAN NOT NULL DEFAULT FALSE;
