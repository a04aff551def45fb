-- RFC 8707 resource indicators: the resources an authorization code was granted
-- for, and that the refresh token family it starts keeps for every successor (a
-- JSON array of URIs; empty when the authorization request named none).
ALTER TABLE authorization_codes ADD COLUMN resources TEXT NOT NULL DEFAULT '[]';
ALTER TABLE refresh_tokens ADD COLUMN resources TEXT NOT NULL DEFAULT '[]';
