-- A refresh token rotation is one statement on the one writer connection, not
-- four (BEGIN, UPDATE, INSERT, COMMIT): the successor is inserted naming its
-- predecessor, and this trigger marks the predecessor rotated within that
-- same statement, so the two changes stand or fall together.
ALTER TABLE refresh_tokens ADD COLUMN rotated_from BLOB;
CREATE TRIGGER refresh_tokens_rotate AFTER INSERT ON refresh_tokens
    WHEN NEW.rotated_from IS NOT NULL
BEGIN
    UPDATE refresh_tokens SET rotated_at = NEW.created_at WHERE token_hash = NEW.rotated_from;
END;
