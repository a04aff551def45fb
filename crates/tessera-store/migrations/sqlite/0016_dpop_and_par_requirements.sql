-- RFC 9126 §6 client metadata: the client starts authorization requests only
-- through the PAR endpoint. (`dpop_bound_access_tokens`, RFC 9449 §5.2, came
-- with migration 0014.)
ALTER TABLE clients ADD COLUMN require_pushed_authorization_requests INTEGER NOT NULL DEFAULT 0
    CHECK (require_pushed_authorization_requests IN (0, 1));

-- RFC 9449 §10: the JWK SHA-256 thumbprint (RFC 7638) of the DPoP key a code
-- was bound to by `dpop_jkt`; NULL if unbound. Redeeming it needs a proof of that key.
ALTER TABLE authorization_codes ADD COLUMN dpop_jkt TEXT;
