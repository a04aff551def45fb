-- Servers cache "was this access token revoked?" for introspection; every new
-- revocation moves this counter, so each server drops its cached answers.
INSERT INTO change_generations (topic, generation) VALUES ('revocations', 0);
CREATE TRIGGER revoked_access_tokens_inserted AFTER INSERT ON revoked_access_tokens BEGIN
    UPDATE change_generations SET generation = generation + 1 WHERE topic = 'revocations';
END;
