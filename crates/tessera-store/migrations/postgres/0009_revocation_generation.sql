-- Servers cache "was this access token revoked?" for introspection; every new
-- revocation moves this counter and wakes the replicas, so each drops its
-- cached answers. (Purging expired revocations changes no answer: the tokens
-- have expired.)
INSERT INTO change_generations (topic, generation) VALUES ('revocations', 0);
CREATE TRIGGER revoked_access_tokens_inserted AFTER INSERT ON revoked_access_tokens
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_note_change('revocations');
