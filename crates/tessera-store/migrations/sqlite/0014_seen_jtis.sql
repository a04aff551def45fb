-- One-time identifiers seen (DPoP proof `jti`s, client assertion `jti`s), by the
-- SHA-256 of "{purpose}:{issuer_or_jkt}:{jti}", until they expire: a replay is
-- refused whichever server it reaches.
CREATE TABLE seen_jtis (
    hash       BLOB PRIMARY KEY NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX seen_jtis_by_expiry ON seen_jtis (expires_at);

-- The JWK SHA-256 thumbprint (RFC 7638) a public client's refresh token is bound
-- to by DPoP (RFC 9449 §5); NULL if unbound. Successors inherit it.
ALTER TABLE refresh_tokens ADD COLUMN dpop_jkt TEXT;

-- RFC 9449 §5.2 client metadata: the client always uses DPoP at the token endpoint.
ALTER TABLE clients ADD COLUMN dpop_bound_access_tokens INTEGER NOT NULL DEFAULT 0
    CHECK (dpop_bound_access_tokens IN (0, 1));
