#!/usr/bin/env python3
"""Bulk-register clients in a Tessera database, SQLite or PostgreSQL, for the
scale scenario, with a progress bar.

Usage: seed_clients.py DB_PATH COUNT SAMPLE HEADERS_FILE TEMPLATE_SECRET
       seed_clients.py postgres://... COUNT SAMPLE HEADERS_FILE TEMPLATE_SECRET

The database must hold exactly one client, made by `tessera client create`
(so Tessera has run its migrations and the row has the exact shape Tessera
writes). Every new client is a copy of that row, column by column, with a new
client_id, name and secret hash, plus copies of its client_scopes rows: the
seeder assumes nothing about the schema beyond those three columns.

Secrets are stored as Tessera stores them, SHA-256 of the secret; the script
checks that against the template client's own secret first and refuses to run
if it does not hold. SAMPLE of the new clients, spread over the whole range,
get a known secret; their `Basic` credentials (base64 of id:secret) are
written one per line to HEADERS_FILE for wrk. The rest get the hash of a
random secret nobody knows, as real registered clients would.

PostgreSQL is driven through `psql`, the rows made inside the database by
INSERT ... SELECT in chunks: ids are MD5 of a random salt and the row number
(32 hex digits, as Tessera's), secrets of the sample are derived likewise
from a second salt (so this script can print them), the others from a third
that is never kept.
"""

import base64
import hashlib
import random
import secrets
import sqlite3
import subprocess
import sys
import time


def progress(done, total, started):
    width = 30
    filled = width * done // total if total else width
    elapsed = time.monotonic() - started
    sys.stderr.write(f"\r  [{'#' * filled}{'.' * (width - filled)}] {done:>10,}/{total:,} clients {elapsed:5.0f}s")
    sys.stderr.flush()


def main():
    db_path, count, sample, headers_file, template_secret = sys.argv[1:6]
    count, sample = int(count), int(sample)
    if db_path.startswith("postgres://"):
        seed_postgres(db_path, count, sample, headers_file, template_secret)
        return
    db = sqlite3.connect(db_path)
    db.execute("PRAGMA journal_mode = WAL")
    # A throwaway benchmark database: no fsync while loading it.
    db.execute("PRAGMA synchronous = OFF")
    db.execute("PRAGMA cache_size = -262144")

    columns = [row[1] for row in db.execute("PRAGMA table_info(clients)")]
    templates = db.execute(f"SELECT {', '.join(columns)} FROM clients").fetchall()
    if len(templates) != 1:
        sys.exit(f"expected exactly one template client, found {len(templates)}")
    template = dict(zip(columns, templates[0]))
    if template["secret_hash"] != hashlib.sha256(template_secret.encode()).digest():
        sys.exit("secret_hash is not SHA-256 of the secret: the seeder is out of date with the schema")
    scope_columns = [row[1] for row in db.execute("PRAGMA table_info(client_scopes)")]
    scope_rows = [
        dict(zip(scope_columns, row))
        for row in db.execute(
            f"SELECT {', '.join(scope_columns)} FROM client_scopes WHERE client_id = ?",
            (template["client_id"],),
        )
    ]

    # Ids in the shape Tessera generates (32 hex digits), distinct.
    ids = set()
    while len(ids) < count:
        ids.add(secrets.token_hex(16))
    # In key order, so the inserts append to the B-trees instead of splitting pages.
    ids = sorted(ids)
    known = set(random.sample(range(count), sample))

    started = time.monotonic()
    client_sql = f"INSERT INTO clients ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    scope_sql = f"INSERT INTO client_scopes ({', '.join(scope_columns)}) VALUES ({', '.join('?' * len(scope_columns))})"
    headers = []

    def client_rows():
        for i, client_id in enumerate(ids):
            row = dict(template)
            row["client_id"] = client_id
            row["name"] = f"bench client {i}"
            secret = secrets.token_urlsafe(32)
            if i in known:
                headers.append(base64.b64encode(f"{client_id}:{secret}".encode()).decode())
            if i % 50_000 == 0 or i == count - 1:
                progress(i + 1, count, started)
            row["secret_hash"] = hashlib.sha256(secret.encode()).digest()
            yield tuple(row[c] for c in columns)

    def scope_rows_for_all():
        for client_id in ids:
            for scope_row in scope_rows:
                row = dict(scope_row)
                row["client_id"] = client_id
                yield tuple(row[c] for c in scope_columns)

    with db:
        db.executemany(client_sql, client_rows())
        db.executemany(scope_sql, scope_rows_for_all())
    sys.stderr.write("\n")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()

    random.shuffle(headers)
    with open(headers_file, "w", encoding="ascii") as f:
        f.write("\n".join(headers) + "\n")
    print(f"seeded {count} clients in {time.monotonic() - started:.1f}s", file=sys.stderr)


def seed_postgres(url, count, sample, headers_file, template_secret):
    def psql(sql, *flags):
        done = subprocess.run(["psql", url, "-X", "-q", "-v", "ON_ERROR_STOP=1", *flags, "-c", sql],
                              capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"psql failed: {done.stderr.strip()}\n{sql[:2000]}")
        return done.stdout

    def columns(table):
        return psql("SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
                    f"AND table_name = '{table}' ORDER BY ordinal_position", "-At").split()

    templates = psql("SELECT client_id || ' ' || encode(secret_hash, 'hex') FROM clients", "-At").split("\n")
    templates = [t for t in templates if t]
    if len(templates) != 1:
        sys.exit(f"expected exactly one template client, found {len(templates)}")
    template_id, template_hash = templates[0].split(" ")
    if bytes.fromhex(template_hash) != hashlib.sha256(template_secret.encode()).digest():
        sys.exit("secret_hash is not SHA-256 of the secret: the seeder is out of date with the schema")

    id_salt, known_salt, unknown_salt = (secrets.token_hex(16) for _ in range(3))
    stride = max(1, count // sample)
    client_id = f"md5('{id_salt}' || s.i)"
    known_secret = f"md5('{known_salt}a' || s.i) || md5('{known_salt}b' || s.i)"
    replaced = {
        "client_id": client_id,
        "name": "'bench client ' || s.i",
        "secret_hash": (f"CASE WHEN s.i % {stride} = 0 THEN sha256(convert_to({known_secret}, 'UTF8')) "
                        f"ELSE sha256(convert_to(md5('{unknown_salt}' || s.i), 'UTF8')) END"),
    }
    client_columns = columns("clients")
    scope_columns = columns("client_scopes")
    client_select = ", ".join(replaced.get(c, f"t.{c}") for c in client_columns)
    scope_select = ", ".join(client_id if c == "client_id" else f"t.{c}" for c in scope_columns)
    started = time.monotonic()
    step = 100_000
    for first in range(0, count, step):
        last = min(first + step, count) - 1
        series = f"generate_series({first}, {last}) AS s(i)"
        # The rows refer to the template's scopes and to each other by
        # construction: the foreign-key triggers are skipped while loading.
        psql("SET synchronous_commit = off; SET session_replication_role = replica; "
             f"INSERT INTO clients ({', '.join(client_columns)}) SELECT {client_select} "
             f"FROM clients t, {series} WHERE t.client_id = '{template_id}'; "
             f"INSERT INTO client_scopes ({', '.join(scope_columns)}) SELECT {scope_select} "
             f"FROM client_scopes t, {series} WHERE t.client_id = '{template_id}'", "-1")
        progress(last + 1, count, started)
    sys.stderr.write("\n")
    psql("VACUUM (ANALYZE) clients")
    psql("VACUUM (ANALYZE) client_scopes")

    md5 = lambda text: hashlib.md5(text.encode()).hexdigest()
    headers = []
    for i in range(0, count, stride)[:sample]:
        secret = md5(f"{known_salt}a{i}") + md5(f"{known_salt}b{i}")
        headers.append(base64.b64encode(f"{md5(id_salt + str(i))}:{secret}".encode()).decode())
    random.shuffle(headers)
    with open(headers_file, "w", encoding="ascii") as f:
        f.write("\n".join(headers) + "\n")
    print(f"seeded {count} clients in {time.monotonic() - started:.1f}s", file=sys.stderr)


if __name__ == "__main__":
    main()
