-- OpenID Connect RP-Initiated Logout: where a client may send the browser after logout (JSON array).
ALTER TABLE clients ADD COLUMN post_logout_redirect_uris TEXT NOT NULL DEFAULT '[]';
