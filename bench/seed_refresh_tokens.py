#!/usr/bin/env python3
"""Bulk-insert refresh tokens (and users to own them) into a Tessera database,
SQLite or PostgreSQL, for the scale scenario, with a progress bar.

Usage: seed_refresh_tokens.py sqlite DB_PATH COUNT
       seed_refresh_tokens.py postgres DATABASE_URL COUNT

The database must have been made by Tessera (its migrations ran) and hold at
least one client and one user, made by the CLI. Rows are generated inside the
database by INSERT ... SELECT, in chunks (one transaction each), so nothing is
pumped through Python; PostgreSQL is driven through `psql`.

What the rows look like, so that the tables and their indexes have the shape
a server that has run for a while would have:
- COUNT // 20 new users, copies of the first user row with a new user_id and
  username (the copied password hash signs nobody in: nobody knows it).
- Families of 5 tokens, as a family looks after four rotations: the first four
  rotated (rotated_at set, an hour apart), the last live. Each family has a
  random 32-hex family_id, a client spread over every registered client, a
  user spread over the users, scope `contact.read`, and started between 45
  days and 5 hours ago, so that with the 30-day lifetime about a third of the
  families have expired (nothing deletes expired refresh tokens). One family
  in 50 is revoked. Token hashes are 32 random bytes, the shape of SHA-256.
Tokens the bench presents are real ones, issued by the server next to these.

Speed: the secondary indexes of refresh_tokens are dropped for the load and
built again from their own definitions (one sort each instead of ten million
random inserts); each chunk goes in primary-key order. PostgreSQL skips the
foreign-key triggers while loading (the references hold by construction) and
is vacuumed and analyzed at the end, as autovacuum would soon do. Ten million
rows take about 3 minutes in either backend on the bench machine.
"""

import subprocess
import sys
import time

FAMILY_SIZE = 5
FAMILIES_PER_CHUNK = 40_000
LIFETIME = 30 * 86400
# Families start between OLDEST and YOUNGEST seconds ago.
OLDEST = 45 * 86400
YOUNGEST = 5 * 3600
ROTATION_EVERY = 3600
REVOKED_ONE_IN = 50
SCOPE = "contact.read"


class Sqlite:
    def __init__(self, path):
        import sqlite3
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode = WAL")
        # A throwaway benchmark database: no fsync while loading it.
        self.db.execute("PRAGMA synchronous = OFF")
        self.db.execute("PRAGMA cache_size = -2097152")
        self.db.execute("PRAGMA temp_store = MEMORY")

    random_hex32 = "lower(hex(randomblob(16)))"
    random_hash = "randomblob(32)"
    temp_table = "CREATE TEMP TABLE"

    def random_below(self, n):
        return f"(abs(random()) % {n})"

    def series(self, name, start, end):
        """A CTE `name(i)` over start..end-1."""
        return f"{name}(i) AS (SELECT {start} UNION ALL SELECT i + 1 FROM {name} WHERE i + 1 < {end})"

    def recursive(self):
        return "RECURSIVE "

    def columns(self, table):
        return [row[1] for row in self.db.execute(f"PRAGMA table_info({table})")]

    def scalar(self, sql):
        return self.db.execute(sql).fetchone()[0]

    def secondary_indexes(self, table):
        return self.db.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
            (table,),
        ).fetchall()

    def create_index(self, sql):
        self.run(sql)

    def run(self, sql):
        self.db.execute("BEGIN")
        self.db.execute(sql)
        self.db.execute("COMMIT")

    def finish(self):
        self.db.execute("DROP TABLE IF EXISTS temp.bench_pick_clients")
        self.db.execute("DROP TABLE IF EXISTS temp.bench_pick_users")
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.db.close()


class Postgres:
    def __init__(self, url):
        self.url = url

    random_hex32 = "replace(gen_random_uuid()::text, '-', '')"
    random_hash = "sha256(uuid_send(gen_random_uuid()))"
    # Each statement is its own psql session, so the pick tables are real
    # tables (of a throwaway database), dropped at the end.
    temp_table = "CREATE UNLOGGED TABLE"

    def random_below(self, n):
        return f"floor(random() * {n})::bigint"

    def series(self, name, start, end):
        return f"{name}(i) AS (SELECT generate_series({start}::bigint, {end - 1}::bigint))"

    def recursive(self):
        return ""

    def psql(self, sql, *flags):
        done = subprocess.run(
            ["psql", self.url, "-X", "-q", "-v", "ON_ERROR_STOP=1", *flags, "-c", sql],
            capture_output=True, text=True,
        )
        if done.returncode != 0:
            sys.exit(f"psql failed: {done.stderr.strip()}\n{sql[:2000]}")
        return done.stdout

    def columns(self, table):
        out = self.psql(
            "SELECT column_name FROM information_schema.columns "
            f"WHERE table_schema = current_schema() AND table_name = '{table}' ORDER BY ordinal_position",
            "-At",
        )
        return out.split()

    def scalar(self, sql):
        return self.psql(sql, "-At").strip()

    def secondary_indexes(self, table):
        out = self.psql(
            "SELECT i.indexname || chr(9) || i.indexdef FROM pg_indexes i "
            f"WHERE i.schemaname = current_schema() AND i.tablename = '{table}' AND NOT EXISTS ("
            "SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
            "-At",
        )
        return [tuple(line.split("\t", 1)) for line in out.splitlines() if line]

    def create_index(self, sql):
        self.psql("SET maintenance_work_mem = '1GB'; " + sql)

    def run(self, sql):
        # The rows refer to existing clients and users by construction, so the
        # foreign-key triggers (one per row and key) are skipped while loading.
        self.psql("SET synchronous_commit = off; SET session_replication_role = replica; " + sql, "-1")

    def finish(self):
        self.psql("DROP TABLE IF EXISTS bench_pick_clients; DROP TABLE IF EXISTS bench_pick_users")
        # What autovacuum would soon do anyway, done now so it does not start
        # in the middle of a measured run.
        self.psql("VACUUM (ANALYZE) users")
        self.psql("VACUUM (ANALYZE) refresh_tokens")
        self.psql("CHECKPOINT")


def progress(done, total, started, what):
    width = 30
    filled = width * done // total if total else width
    elapsed = time.monotonic() - started
    rate = done / elapsed if elapsed > 0 else 0
    sys.stderr.write(f"\r  [{'#' * filled}{'.' * (width - filled)}] {done:>12,}/{total:,} {what} "
                     f"{elapsed:6.0f}s {rate:>9,.0f}/s")
    sys.stderr.flush()


def seed_users(db, count):
    """COUNT copies of the first user: new user_id and username, the rest copied."""
    columns = db.columns("users")
    template = db.scalar("SELECT user_id FROM users ORDER BY created_at, user_id LIMIT 1")
    replaced = {
        "user_id": db.random_hex32,
        "username": "'bench-user-' || s.i",
        "email": "NULL",
        "name": "NULL",
    }
    select = ", ".join(replaced.get(c, f"t.{c}") for c in columns)
    started = time.monotonic()
    step = 100_000
    for start in range(0, count, step):
        end = min(start + step, count)
        db.run(f"WITH {db.recursive()}{db.series('s', start, end)} "
               f"INSERT INTO users ({', '.join(columns)}) SELECT {select} FROM users t, s "
               f"WHERE t.user_id = '{template}'")
        progress(end, count, started, "users")
    sys.stderr.write("\n")


def seed_tokens(db, count, now):
    # Numbered clients and users, so each family picks one by arithmetic.
    db.run(f"{db.temp_table} bench_pick_clients (n INTEGER PRIMARY KEY, client_id TEXT NOT NULL)")
    db.run("INSERT INTO bench_pick_clients SELECT row_number() OVER (ORDER BY client_id), client_id FROM clients")
    db.run(f"{db.temp_table} bench_pick_users (n INTEGER PRIMARY KEY, user_id TEXT NOT NULL)")
    db.run("INSERT INTO bench_pick_users SELECT row_number() OVER (ORDER BY user_id), user_id FROM users")
    clients = int(db.scalar("SELECT count(*) FROM bench_pick_clients"))
    users = int(db.scalar("SELECT count(*) FROM bench_pick_users"))

    # The secondary indexes are dropped and built again afterwards from their
    # own definitions, which sorts once instead of inserting 10M random keys;
    # the primary key stays and takes the rows in key order, chunk by chunk.
    indexes = db.secondary_indexes("refresh_tokens")
    for name, _ in indexes:
        db.run(f"DROP INDEX {name}")

    families = -(-count // FAMILY_SIZE)
    spread = OLDEST - YOUNGEST
    started = time.monotonic()
    inserted = 0
    for first in range(0, families, FAMILIES_PER_CHUNK):
        last = min(first + FAMILIES_PER_CHUNK, families)
        # The last family may be short, so that exactly COUNT rows go in.
        # In key order within a chunk: each index page is then visited once
        # per chunk rather than once per row.
        sql = f"""
WITH {db.recursive()}{db.series('f', first, last)},
k(k) AS (SELECT 0 UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4),
fam AS MATERIALIZED (
  SELECT f.i AS f, {db.random_hex32} AS family_id,
         {now - YOUNGEST} - {db.random_below(spread)} AS start
  FROM f
)
INSERT INTO refresh_tokens (token_hash, family_id, client_id, user_id, scope, auth_time,
                            created_at, expires_at, rotated_at, revoked_at, dpop_jkt, resources)
SELECT {db.random_hash}, fam.family_id, c.client_id, u.user_id, '{SCOPE}', fam.start,
       fam.start + k.k * {ROTATION_EVERY}, fam.start + {LIFETIME},
       CASE WHEN k.k < {FAMILY_SIZE - 1} THEN fam.start + (k.k + 1) * {ROTATION_EVERY} END,
       CASE WHEN fam.f % {REVOKED_ONE_IN} = 0 THEN fam.start + {FAMILY_SIZE * ROTATION_EVERY} END,
       NULL, '[]'
FROM fam
JOIN k ON fam.f * {FAMILY_SIZE} + k.k < {count}
JOIN bench_pick_clients c ON c.n = 1 + (fam.f * 2654435761) % {clients}
JOIN bench_pick_users u ON u.n = 1 + fam.f % {users}
ORDER BY 1
"""
        db.run(sql)
        inserted = min(last * FAMILY_SIZE, count)
        progress(inserted, count, started, "refresh tokens")
    sys.stderr.write("\n")
    for done, (name, sql) in enumerate(indexes, 1):
        sys.stderr.write(f"\r  building index {done}/{len(indexes)} ({name})...")
        sys.stderr.flush()
        db.create_index(sql)
    sys.stderr.write(f"\r  built {len(indexes)} indexes in {time.monotonic() - started:.0f}s since the first row\n")
    return inserted


def main():
    kind, target, count = sys.argv[1:4]
    count = int(count)
    db = {"sqlite": Sqlite, "postgres": Postgres}[kind](target)
    # The columns this seeder writes; a new NOT NULL column without a default
    # would make the inserts fail loudly rather than seed something stale.
    missing = {"token_hash", "family_id", "client_id", "user_id", "scope", "auth_time", "created_at",
               "expires_at", "rotated_at", "revoked_at", "dpop_jkt", "resources"} - set(db.columns("refresh_tokens"))
    if missing:
        sys.exit(f"refresh_tokens lacks {sorted(missing)}: the seeder is out of date with the schema")
    started = time.monotonic()
    seed_users(db, max(1, count // 20))
    seed_tokens(db, count, int(time.time()))
    db.finish()
    print(f"seeded {count:,} refresh tokens ({kind}) in {time.monotonic() - started:.0f}s", file=sys.stderr)


if __name__ == "__main__":
    main()
