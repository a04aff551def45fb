-- Servers keep their discovery document, which lists the scopes, rendered in
-- memory; every change to the scopes moves this counter and wakes the
-- replicas, so each renders it again.
INSERT INTO change_generations (topic, generation) VALUES ('scopes', 0);
CREATE TRIGGER scopes_changed AFTER INSERT OR UPDATE OR DELETE ON scopes
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_note_change('scopes');
