#!/usr/bin/env python3
"""Bulk-register clients in a Tessera SQLite database, for the scale scenario.

Usage: seed_clients.py DB_PATH COUNT SAMPLE HEADERS_FILE TEMPLATE_SECRET

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
"""

import base64
import hashlib
import os
import random
import secrets
import sqlite3
import sys
import time


def main():
    db_path, count, sample, headers_file, template_secret = sys.argv[1:6]
    count, sample = int(count), int(sample)
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
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()

    random.shuffle(headers)
    with open(headers_file, "w", encoding="ascii") as f:
        f.write("\n".join(headers) + "\n")
    print(f"seeded {count} clients in {time.monotonic() - started:.1f}s", file=sys.stderr)


if __name__ == "__main__":
    main()
