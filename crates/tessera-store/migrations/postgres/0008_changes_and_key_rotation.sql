-- Replicas cache clients and signing keys in memory. Every change to either
-- bumps a generation counter here, in the writer's own transaction (triggers,
-- so that the CLI and any other writer count too), and wakes the replicas with
-- NOTIFY, delivered at commit. The counter is the truth: a replica that missed
-- a notification (reconnect) still sees the counter move on its next poll.
CREATE TABLE change_generations (
    topic      TEXT PRIMARY KEY NOT NULL,
    generation BIGINT NOT NULL
);
INSERT INTO change_generations (topic, generation) VALUES ('clients', 0), ('signing_keys', 0);

CREATE FUNCTION tessera_note_change() RETURNS trigger AS $$
BEGIN
    UPDATE change_generations SET generation = generation + 1 WHERE topic = TG_ARGV[0];
    PERFORM pg_notify('tessera_changes', TG_ARGV[0]);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER clients_changed AFTER INSERT OR UPDATE OR DELETE ON clients
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_note_change('clients');
CREATE TRIGGER signing_keys_changed AFTER INSERT OR UPDATE OR DELETE ON signing_keys
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_note_change('signing_keys');

-- Key rotation: next -> current -> retired. A key signs from `activated_at`;
-- a retired key stays published (so its tokens keep validating) until pruned.
ALTER TABLE signing_keys ADD COLUMN activated_at BIGINT;
ALTER TABLE signing_keys ADD COLUMN retired_at BIGINT;
UPDATE signing_keys SET activated_at = created_at WHERE state = 'current';
CREATE UNIQUE INDEX signing_keys_one_next ON signing_keys (algorithm) WHERE state = 'next';
