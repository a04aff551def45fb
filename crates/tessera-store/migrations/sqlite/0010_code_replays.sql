-- A code presented again is marked replayed (in the statement that finds what
-- to revoke); a redemption still under way then cannot start a refresh family.
ALTER TABLE authorization_codes ADD COLUMN replayed_at INTEGER;
