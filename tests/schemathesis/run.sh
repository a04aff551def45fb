#!/usr/bin/env bash
# Fuzzes the admin API (/admin/api) against its own OpenAPI document with
# schemathesis: no request may cause a server error, and every response must
# have a documented status code, content type, headers and body schema.
#
# Usage:
#   TESSERA_BIN=$CARGO_TARGET_DIR/debug/tessera [VENV=~/.cache/tessera/venv] tests/schemathesis/run.sh
#
# It starts `tessera serve` on a fresh SQLite database in a temporary
# directory, lets the server create the first administrator from
# TESSERA_ADMIN_USERNAME / TESSERA_ADMIN_PASSWORD, makes an admin API token
# with `tessera admin token create`, and always stops the server on exit.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
: "${TESSERA_BIN:?set TESSERA_BIN to the tessera binary, e.g. \$CARGO_TARGET_DIR/debug/tessera}"
tessera_bin="$(cd "$(dirname "$TESSERA_BIN")" && pwd)/$(basename "$TESSERA_BIN")"
# Not a setting: tessera would warn about an unknown TESSERA_* variable.
unset TESSERA_BIN
venv="${VENV:-$HOME/.cache/tessera/venv}"
# Examples per operation and phase: enough to find what the schema misstates,
# small enough that the run stays well under two minutes on two cores.
max_examples="${SCHEMATHESIS_MAX_EXAMPLES:-30}"

[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"

work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# A free loopback port, chosen by the kernel.
port="$("$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"
admin="schemathesis-admin"

# The same settings for the server and the CLI, so both open the same database.
export TESSERA_DATA_DIR="$work"
export TESSERA_DATABASE_URL="sqlite://$work/tessera.db"
export TESSERA_LISTEN="127.0.0.1:$port"

TESSERA_ADMIN_USERNAME="$admin" \
  TESSERA_ADMIN_PASSWORD="$("$venv/bin/python" -c 'import secrets; print(secrets.token_urlsafe(24))')" \
  "$tessera_bin" serve >"$work/server.log" 2>&1 &
server_pid=$!

ready=""
for _ in $(seq 1 100); do
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "tessera serve exited early:" >&2
    cat "$work/server.log" >&2
    exit 1
  fi
  if curl -fsS -o /dev/null "$base/readyz" 2>/dev/null; then
    ready=yes
    break
  fi
  sleep 0.2
done
if [ -z "$ready" ]; then
  echo "tessera serve did not become ready at $base:" >&2
  cat "$work/server.log" >&2
  exit 1
fi

token="$("$tessera_bin" admin token create --user "$admin" --name schemathesis)"

# Checks: all of them, except
# - positive_data_acceptance: it expects every request that matches the schema
#   to succeed, but much of what the API refuses with 400 cannot be said in a
#   schema: a scope must be in the registry, a redirect URI must be https or
#   loopback, a username must be free, an application must be one the caller
#   may see. Those refusals are documented 400/404/409 responses, and the
#   status_code_conformance and response_schema_conformance checks still hold
#   them to the document.
status=0
(
  cd "$work"
  "$venv/bin/schemathesis" run "$base/admin/api/openapi.json" \
    --header "Authorization: Bearer $token" \
    --checks all \
    --exclude-checks positive_data_acceptance \
    --max-examples "$max_examples" \
    --generation-database none \
    --request-timeout 10 \
    --no-color
) || status=$?

if [ "$status" -ne 0 ]; then
  echo "schemathesis found problems (exit $status); the server's log:" >&2
  tail -n 50 "$work/server.log" >&2
fi
exit "$status"
