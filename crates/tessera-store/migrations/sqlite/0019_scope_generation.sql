-- Servers keep their discovery document, which lists the scopes, rendered in
-- memory; every change to the scopes moves this counter, so each server
-- renders it again.
INSERT INTO change_generations (topic, generation) VALUES ('scopes', 0);
CREATE TRIGGER scopes_inserted AFTER INSERT ON scopes BEGIN
    UPDATE change_generations SET generation = generation + 1 WHERE topic = 'scopes';
END;
CREATE TRIGGER scopes_updated AFTER UPDATE ON scopes BEGIN
    UPDATE change_generations SET generation = generation + 1 WHERE topic = 'scopes';
END;
CREATE TRIGGER scopes_deleted AFTER DELETE ON scopes BEGIN
    UPDATE change_generations SET generation = generation + 1 WHERE topic = 'scopes';
END;
