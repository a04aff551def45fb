-- Replicas cache clients and signing keys in memory. Every change to either
-- bumps a generation counter here, in the writer's own transaction (triggers,
-- so that the CLI and any other writer count too); each server polls the
-- counters and drops what it cached when one moves.
CREATE TABLE change_generations (
    topic      TEXT PRIMARY KEY NOT NULL,
    generation INTEGER NOT NULL
);
INSERT INTO change_generations (topic, generation) VALUES ('clients', 0), ('signing_keys', 0);

CREATE TRIGGER clients_inserted AFTER INSERT ON clients BEGIN
    UPDATE change_generations SET generation = generation + 1 WHERE topic = 'clients';
END;
CREATE TRIGGER clients_updated AFTER UPDATE ON clients BEGIN
    UPDATE change_generations SET generation = generation + 1 WHERE topic = 'clients';
END;
CREATE TRIGGER clients_deleted AFTER DELETE ON clients BEGIN
    UPDATE change_generations SET generation = generation + 1 WHERE topic = 'clients';
END;
CREATE TRIGGER signing_keys_inserted AFTER INSERT ON signing_keys BEGIN
    UPDATE change_generations SET generation = generation + 1 WHERE topic = 'signing_keys';
END;
CREATE TRIGGER signing_keys_updated AFTER UPDATE ON signing_keys BEGIN
    UPDATE change_generations SET generation = generation + 1 WHERE topic = 'signing_keys';
END;
CREATE TRIGGER signing_keys_deleted AFTER DELETE ON signing_keys BEGIN
    UPDATE change_generations SET generation = generation + 1 WHERE topic = 'signing_keys';
END;

-- Key rotation: next -> current -> retired. A key signs from `activated_at`;
-- a retired key stays published (so its tokens keep validating) until pruned.
ALTER TABLE signing_keys ADD COLUMN activated_at INTEGER;
ALTER TABLE signing_keys ADD COLUMN retired_at INTEGER;
UPDATE signing_keys SET activated_at = created_at WHERE state = 'current';
CREATE UNIQUE INDEX signing_keys_one_next ON signing_keys (algorithm) WHERE state = 'next';
