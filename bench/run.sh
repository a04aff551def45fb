#!/usr/bin/env bash
# Tessera's benchmark, side by side with a real peer (node-oidc-provider), on
# this machine, in one run. See "## Benchmarks" in README.md.
#
#   bash bench/run.sh
#
# It builds Tessera in release mode, installs the peer and wrk if missing,
# starts Tessera (SQLite; PostgreSQL when one answers on 127.0.0.1:5432;
# the scale stores: SQLite, and PostgreSQL if it answers, with a million
# clients and ten million refresh tokens bulk-inserted) and the peer on
# loopback with fresh state, drives each scenario (client_credentials ES256
# and RS256, the refresh grant, the code flow, introspection, JWKS,
# discovery) with wrk for a bounded time, A/B interleaved (before the
# servers start, the guard's token validation, with its criterion bench), then
# stops everything it started (by PID) and writes bench/results/YYYY-MM-DD-<commit>.md
# and bench/results/latest.md. PostgreSQL databases it creates are dropped.
# A full run takes about 25 minutes, 7 of them seeding the scale stores
# (BENCH_SCALE_REFRESH_TOKENS=0 BENCH_SCALE_CLIENTS=0 skips them: 15 minutes).
#
# Settings (environment): BENCH_DURATION (10s per run), BENCH_ROUNDS (3),
# BENCH_WARMUP (2s), BENCH_CONNECTIONS (32), BENCH_THREADS (1),
# BENCH_TARGET_DIR ($HOME/.cache/tessera/bench-target), PEER_WORKERS (nproc),
# BENCH_SCALE_CLIENTS (1000000; 0 skips), BENCH_SCALE_SAMPLE (10000),
# BENCH_SCALE_REFRESH_TOKENS (10000000 refresh tokens in the scale stores; 0
# skips), BENCH_SCALE_POSTGRES (1: also a PostgreSQL scale store; 0 skips),
# BENCH_REFRESH_POOL (live refresh tokens per refresh run, got by code flows;
# default 4 x BENCH_CONNECTIONS),
# BENCH_SCENARIOS (a comma-separated subset of client_credentials,
# client_credentials_many, client_credentials_rs256, refresh, introspection,
# code_flow, code_flow_1conn, jwks, discovery, guard; default: all), BENCH_SOURCE: "worktree" (default) builds the files as they are; "head"
# builds a copy of the last commit (git archive), for figures that match the
# commit named in the results while someone edits the work tree.
# BENCH_KEEP_WORK=1 keeps the scratch directory (logs, wrk output) on exit.
# Exit status: 0, or 1 when a run had errors (the results are still written).

set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$BENCH_DIR")
DURATION=${BENCH_DURATION:-10s}
ROUNDS=${BENCH_ROUNDS:-3}
WARMUP=${BENCH_WARMUP:-2s}
CONNECTIONS=${BENCH_CONNECTIONS:-32}
THREADS=${BENCH_THREADS:-1}
# A target dir of its own, so the bench never waits on (or invalidates) the
# developer's ./target builds.
TARGET_DIR=${BENCH_TARGET_DIR:-$HOME/.cache/tessera/bench-target}
PEER_WORKERS=${PEER_WORKERS:-$(nproc)}
# The scale scenario: this many registered clients (0 skips it), of which
# wrk uses SCALE_SAMPLE in turn.
SCALE_CLIENTS=${BENCH_SCALE_CLIENTS:-1000000}
SCALE_SAMPLE=${BENCH_SCALE_SAMPLE:-10000}
# ...and this many refresh tokens (0: none), in SQLite and, unless
# BENCH_SCALE_POSTGRES=0, in PostgreSQL.
SCALE_REFRESH=${BENCH_SCALE_REFRESH_TOKENS:-10000000}
SCALE_POSTGRES=${BENCH_SCALE_POSTGRES:-1}
# Live refresh tokens each refresh run starts with: more than the connections,
# so no connection waits for a successor to come back.
REFRESH_POOL=${BENCH_REFRESH_POOL:-$((4 * CONNECTIONS))}
((REFRESH_POOL > CONNECTIONS)) || { echo "BENCH_REFRESH_POOL must exceed the connections" >&2; exit 2; }
# The RS256 comparison: a resource Tessera signs for with RS256 (its
# [resources] configuration) and the peer too (bench/peer/server.mjs).
RS256_RESOURCE=https://api-rs256.bench.test
RS256_RESOURCE_ENCODED=https%3A%2F%2Fapi-rs256.bench.test
PG_HOST=127.0.0.1
PG_PORT=5432
# The code flow's redirect URI: only read from the Location header, never
# visited (nothing listens on the discard port).
REDIRECT_URI=http://127.0.0.1:9/callback
REDIRECT_URI_ENCODED=http%3A%2F%2F127.0.0.1%3A9%2Fcallback
# PKCE: one verifier for every flow (the server checks it, the bench needs
# no fresh one per flow), and its S256 challenge.
CODE_VERIFIER=bench-pkce-verifier-0123456789abcdefghijklmnopqrstuvwxyz
CODE_CHALLENGE=$(printf '%s' "$CODE_VERIFIER" | python3 -c 'import base64,hashlib,sys; print(base64.urlsafe_b64encode(hashlib.sha256(sys.stdin.buffer.read()).digest()).rstrip(b"=").decode())')

log() { printf '[bench] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/tessera-bench.XXXXXX")
# Everything this script starts is listed here and stopped by PID on exit.
STARTED_PIDS=()
# The PostgreSQL databases this script created, dropped on exit.
PG_DBS=()

cleanup() {
  local status=$?
  local pid
  for pid in "${STARTED_PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  # Give them a moment to exit cleanly, then insist.
  for _ in $(seq 50); do
    local alive=0
    for pid in "${STARTED_PIDS[@]}"; do
      if kill -0 "$pid" 2>/dev/null; then alive=1; fi
    done
    [[ $alive == 0 ]] && break
    sleep 0.1
  done
  for pid in "${STARTED_PIDS[@]}"; do
    kill -KILL "$pid" 2>/dev/null || true
  done
  local db
  for db in "${PG_DBS[@]}"; do
    dropdb -h "$PG_HOST" -p "$PG_PORT" -U postgres --if-exists --force "$db" || log "could not drop database $db"
  done
  if [[ ${BENCH_KEEP_WORK:-0} == 1 ]]; then
    log "kept the servers' logs and wrk's output in $WORK"
  else
    rm -rf "$WORK"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- tools

for tool in cargo node npm python3 curl; do
  command -v "$tool" >/dev/null || die "$tool is required"
done
if ! command -v wrk >/dev/null; then
  log "installing wrk (Debian package)"
  apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi

# ---------------------------------------------------------------- build

SOURCE=$REPO
# The commit measured, taken now: HEAD may move while the bench runs.
COMMIT=$(git -C "$REPO" rev-parse --short HEAD)
DIRTY=no
case ${BENCH_SOURCE:-worktree} in
  worktree)
    if [[ -n $(git -C "$REPO" status --porcelain -- crates Cargo.toml Cargo.lock) ]]; then
      DIRTY=yes
    fi
    ;;
  head)
    # A fixed place, so cargo reuses the dependencies it already built there.
    SOURCE="$HOME/.cache/tessera/bench-src"
    rm -rf "$SOURCE" && mkdir -p "$SOURCE"
    # -m: the files get the time of extraction, not the commit's. Cargo judges
    # freshness by modification time, and the work tree builds into the same
    # target dir: with the commit's older times it could reuse a work-tree build.
    git -C "$REPO" archive "$COMMIT" | tar -x -m -C "$SOURCE"
    ;;
  *) die "BENCH_SOURCE must be worktree or head" ;;
esac
log "building Tessera from ${BENCH_SOURCE:-worktree} (release, target dir $TARGET_DIR)"
(cd "$SOURCE" && CARGO_TARGET_DIR="$TARGET_DIR" cargo build --release --locked -q -p tessera) \
  || die "the build failed (work tree mid-edit? BENCH_SOURCE=head builds the last commit)"
TESSERA="$TARGET_DIR/release/tessera"

# The signing ceiling is measured with the very aws-lc-rs release Tessera is
# locked to, read from the workspace's Cargo.lock (read only).
AWS_LC_RS_VERSION=$(awk '/^name = "aws-lc-rs"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$REPO/Cargo.lock")
[[ -n $AWS_LC_RS_VERSION ]] || die "aws-lc-rs not found in Cargo.lock"
CEILING_MANIFEST="$BENCH_DIR/signing-ceiling/Cargo.toml"
log "building the signing ceiling (aws-lc-rs $AWS_LC_RS_VERSION)"
CEILING_LOCK="$BENCH_DIR/signing-ceiling/Cargo.lock"
if [[ ! -f $CEILING_LOCK ]]; then
  cargo generate-lockfile -q --manifest-path "$CEILING_MANIFEST"
fi
if ! grep -A1 '^name = "aws-lc-rs"$' "$CEILING_LOCK" | grep -qx "version = \"$AWS_LC_RS_VERSION\""; then
  cargo update -q --manifest-path "$CEILING_MANIFEST" -p aws-lc-rs --precise "$AWS_LC_RS_VERSION"
fi
CARGO_TARGET_DIR="$TARGET_DIR" cargo build --release -q --manifest-path "$CEILING_MANIFEST"

# ---------------------------------------------------------------- peer

PEER_DIR="$BENCH_DIR/peer"
PEER_PINNED=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["dependencies"]["oidc-provider"])' "$PEER_DIR/package.json")
PEER_INSTALLED=$(python3 -c 'import json,sys
try: print(json.load(open(sys.argv[1]))["version"])
except OSError: print("")' "$PEER_DIR/node_modules/oidc-provider/package.json")
if [[ $PEER_INSTALLED != "$PEER_PINNED" ]]; then
  log "installing oidc-provider $PEER_PINNED into bench/peer/node_modules"
  (cd "$PEER_DIR" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi

# ---------------------------------------------------------------- helpers

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_for_line FILE PATTERN PID: until FILE has a line matching PATTERN, for
# at most 60 s, failing early if PID dies.
wait_for_line() {
  local file=$1 pattern=$2 pid=$3
  for _ in $(seq 600); do
    if grep -q -- "$pattern" "$file" 2>/dev/null; then return 0; fi
    kill -0 "$pid" 2>/dev/null || { cat "$file" >&2; die "process $pid exited before it was ready"; }
    sleep 0.1
  done
  cat "$file" >&2
  die "timed out waiting for '$pattern' in $file"
}

json_field() {
  python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}

status_kb() { # status_kb FIELD PID...: the sum of a /proc/PID/status field in kB
  local field=$1 total=0 pid value
  shift
  for pid in "$@"; do
    value=$(awk -v f="$field:" '$1 == f { print $2 }' "/proc/$pid/status")
    total=$((total + value))
  done
  echo "$total"
}

reset_peak() { # so that VmHWM afterwards is the peak of the next run only
  local pid
  for pid in "$@"; do echo 5 >"/proc/$pid/clear_refs" 2>/dev/null || true; done
}

# seed_tessera NAME ARGS...: adds the scope and one client through the CLI
# (ARGS pick the database), and sets TESSERA_SECRET_<NAME> and
# TESSERA_BASIC_<NAME> (the client's Basic credentials).
seed_tessera() {
  local name=$1
  shift
  "$TESSERA" "$@" scope add contact.read --description "Read contacts" >/dev/null
  local created id secret
  created=$("$TESSERA" "$@" client create --name bench --scope contact.read --output json)
  id=$(json_field client_id <<<"$created")
  secret=$(json_field client_secret <<<"$created")
  printf -v "TESSERA_SECRET_$name" '%s' "$secret"
  # RFC 6749 2.3.1 form-encodes id and secret first; both are URL-safe already.
  printf -v "TESSERA_BASIC_$name" '%s' "$(printf '%s:%s' "$id" "$secret" | base64 -w0)"
}

# serve_tessera NAME ARGS...: starts `tessera serve` on a free loopback port,
# waits until it is ready, and sets TESSERA_URL_<NAME> and TESSERA_PID_<NAME>.
serve_tessera() {
  local name=$1
  shift
  local port pid
  port=$(free_port)
  # One address and one client send everything here: the rate limits stay on
  # (their cost is part of each request) but are set far above what wrk sends.
  TESSERA_LIMITS__PER_IP=100000000/s TESSERA_LIMITS__TOKEN_PER_CLIENT=100000000/s \
    TESSERA_LIMITS__INTROSPECT_PER_CLIENT=100000000/s \
    "$TESSERA" "$@" serve --listen "127.0.0.1:$port" >"$WORK/tessera-$name.log" 2>&1 &
  pid=$!
  STARTED_PIDS+=("$pid")
  wait_for_line "$WORK/tessera-$name.log" "issuer:    http://127.0.0.1:$port" "$pid"
  printf -v "TESSERA_URL_$name" '%s' "http://127.0.0.1:$port"
  printf -v "TESSERA_PID_$name" '%s' "$pid"
}

# create_pg_db NAME: a fresh PostgreSQL database, dropped on exit, with
# $WORK/NAME.toml pointing Tessera at it and PG_URL_<NAME> its URL.
create_pg_db() {
  local name=$1
  local db="tessera_bench_$$_${RANDOM}_$name"
  createdb -h "$PG_HOST" -p "$PG_PORT" -U postgres "$db"
  PG_DBS+=("$db")
  printf -v "PG_URL_$name" '%s' "postgres://postgres@$PG_HOST:$PG_PORT/$db"
  printf 'database_url = "postgres://postgres@%s:%s/%s"\n' "$PG_HOST" "$PG_PORT" "$db" >"$WORK/$name.toml"
}

# The code flow's and the refresh scenario's user, in each database (ARGS).
BENCH_USER_PASSWORD=$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')
seed_user() {
  printf '%s\n' "$BENCH_USER_PASSWORD" | "$TESSERA" "$@" user add benchuser --password-stdin >/dev/null
}

# The refresh scenario's client on each server, by NAME (Tessera's databases
# and "peer"): its Basic credentials, its authorization URL, the token URL and
# the signed-in session's cookie (set by refresh_session).
declare -A REFRESH_BASIC REFRESH_AUTHORIZE REFRESH_TOKEN_URL REFRESH_COOKIE

# seed_refresh_client NAME ARGS...: a web application allowed the code flow and
# refresh tokens, in the database ARGS pick.
seed_refresh_client() {
  local name=$1 created
  shift
  created=$("$TESSERA" "$@" client create --name bench-refresh --redirect-uri "$REDIRECT_URI" --scope contact.read \
    --grant-type authorization_code --grant-type refresh_token --output json)
  REFRESH_BASIC[$name]=$(printf '%s:%s' "$(json_field client_id <<<"$created")" \
    "$(json_field client_secret <<<"$created")" | base64 -w0)
  REFRESH_CLIENT_ID[$name]=$(json_field client_id <<<"$created")
}
declare -A REFRESH_CLIENT_ID

# refresh_session NAME KIND BASE_URL AUTHORIZE_PATH [USERNAME PASSWORD]: signs
# in and consents once (bench/codeflow_setup.py), so that each run's pool of
# refresh tokens comes from code flows answered at once.
refresh_session() {
  local name=$1 kind=$2 base=$3 path=$4
  shift 4
  REFRESH_AUTHORIZE[$name]="$base$path"
  REFRESH_TOKEN_URL[$name]="$base/token"
  REFRESH_COOKIE[$name]=$(python3 "$BENCH_DIR/codeflow_setup.py" "$kind" "$base$path" "$base/token" \
    "$REDIRECT_URI" "${REFRESH_BASIC[$name]}" "$CODE_VERIFIER" "$@")
}

tessera_refresh_path() { # the authorization request of Tessera's refresh client NAME
  echo "/authorize?response_type=code&client_id=${REFRESH_CLIENT_ID[$1]}&redirect_uri=$REDIRECT_URI_ENCODED&scope=contact.read&code_challenge=$CODE_CHALLENGE&code_challenge_method=S256"
}

# fill_refresh_pool NAME FILE: REFRESH_POOL fresh refresh tokens from NAME,
# by real code flows, for one wrk run (the last run's tokens are spent).
fill_refresh_pool() {
  python3 "$BENCH_DIR/refresh_pool.py" "${REFRESH_AUTHORIZE[$1]}" "${REFRESH_TOKEN_URL[$1]}" "$REDIRECT_URI" \
    "${REFRESH_BASIC[$1]}" "$CODE_VERIFIER" "${REFRESH_COOKIE[$1]}" "$REFRESH_POOL" "$2"
}

thousands() { printf '%s' "$1" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta'; }

# ---------------------------------------------------------------- signing ceiling

# Before any server starts, so the ceiling is measured on an otherwise idle
# (by this script) machine.
log "measuring the ES256 signing ceiling (one thread)"
"$TARGET_DIR/release/signing-ceiling" 2 5 >"$WORK/ceiling.txt"
SIGNING_CEILING=$(sed -n 's/^signs_per_second=//p' "$WORK/ceiling.txt")
SIGNING_ROUNDS=$(grep '^round' "$WORK/ceiling.txt" | sed 's/^round [0-9]*: //' | paste -sd ';' | sed 's/;/; /g')
log "signing ceiling: $SIGNING_CEILING signs/s"

# ---------------------------------------------------------------- guard

# The guard's token validation: its criterion micro-benchmark
# (crates/tessera-guard/benches/validate.rs), one thread in process, no HTTP.
# Measured before any server starts too. A failed bench is reported as such, without
# figures, rather than stopping the run.
HAS_GUARD=no
[[ -d $SOURCE/crates/tessera-guard ]] && HAS_GUARD=yes
GUARD_FIRST_NS="" GUARD_REPEAT_NS="" GUARD_VERIFY_FLOOR_NS="" GUARD_NOTE=""
GUARD_SETTINGS="warm-up 1 s, measurement 3 s"
CRITERION_VERSION=$(awk '/^name = "criterion"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$SOURCE/Cargo.lock")
if [[ $HAS_GUARD != yes ]]; then
  GUARD_NOTE="there is no tessera-guard crate at this commit"
elif [[ -n ${BENCH_SCENARIOS:-} && ,$BENCH_SCENARIOS, != *,guard,* ]]; then
  GUARD_NOTE="guard is not among BENCH_SCENARIOS"
else
  log "measuring the guard's token validation (criterion $CRITERION_VERSION, one thread)"
  # Criterion keeps each function's figures under criterion/<its id>; the
  # ids below are the bench's, and are used as they are for directory names
  # (criterion only replaces characters such as / and :). The old figures go
  # first, and only files written after the marker are read, so a number
  # from an earlier run is never reported as this one's.
  GUARD_IDS=("validate ES256, cached key, signature checked" "validate ES256, cached key, token seen before"
    "aws-lc-rs ES256 verify alone")
  for id in "${GUARD_IDS[@]}"; do rm -rf "${TARGET_DIR:?}/criterion/$id"; done
  touch "$WORK/guard.start"
  if (cd "$SOURCE" && CARGO_TARGET_DIR="$TARGET_DIR" cargo bench --locked -q -p tessera-guard --bench validate \
    -- --warm-up-time 1 --measurement-time 3 --noplot) >"$WORK/guard.txt" 2>&1; then
    # One line per id: its median in ns, or "missing".
    mapfile -t GUARD_MEDIANS < <(python3 - "$TARGET_DIR/criterion" "$WORK/guard.start" "${GUARD_IDS[@]}" <<'PY'
import glob, json, os, sys
root, marker, ids = sys.argv[1], os.path.getmtime(sys.argv[2]), sys.argv[3:]
found = {}
for bench in glob.glob(os.path.join(root, "*", "new", "benchmark.json")):
    estimates = os.path.join(os.path.dirname(bench), "estimates.json")
    if not os.path.exists(estimates) or os.path.getmtime(estimates) < marker:
        continue
    with open(bench, encoding="utf-8") as f:
        full_id = json.load(f).get("full_id")
    with open(estimates, encoding="utf-8") as f:
        found[full_id] = json.load(f)["median"]["point_estimate"]
for i in ids:
    print(f"{found[i]:.1f}" if i in found else "missing")
PY
    )
    if [[ ${#GUARD_MEDIANS[@]} == 3 && " ${GUARD_MEDIANS[*]} " != *" missing "* ]]; then
      GUARD_FIRST_NS=${GUARD_MEDIANS[0]} GUARD_REPEAT_NS=${GUARD_MEDIANS[1]} GUARD_VERIFY_FLOOR_NS=${GUARD_MEDIANS[2]}
      log "guard: first sight $GUARD_FIRST_NS ns, seen before $GUARD_REPEAT_NS ns, verify alone $GUARD_VERIFY_FLOOR_NS ns"
    else
      GUARD_NOTE="the criterion bench ran but left no fresh estimates for every function (renamed?)"
    fi
  else
    GUARD_NOTE="the criterion bench failed: $(grep -m1 -E '^(error|thread .* panicked)' "$WORK/guard.txt" || tail -n1 "$WORK/guard.txt")"
  fi
  [[ -z $GUARD_NOTE ]] || { log "guard not measured: $GUARD_NOTE"; tail -n 20 "$WORK/guard.txt" >&2; }
fi

LOADAVG_START=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- servers

log "starting Tessera on SQLite"
mkdir -p "$WORK/sqlite"
# Access tokens for the RS256 resource are signed with RS256 (per-resource
# settings are read from the configuration file only).
printf '[resources."%s"]\nsigning_alg = "RS256"\n' "$RS256_RESOURCE" >"$WORK/sqlite.toml"
SQLITE_ARGS=(--config "$WORK/sqlite.toml" --data-dir "$WORK/sqlite")
seed_tessera sqlite "${SQLITE_ARGS[@]}"
# The RS256 scenario's client, registered for that resource only.
RS256_CLIENT=$("$TESSERA" "${SQLITE_ARGS[@]}" client create --name bench-rs256 --scope contact.read \
  --resource "$RS256_RESOURCE" --output json)
TESSERA_RS256_BASIC=$(printf '%s:%s' "$(json_field client_id <<<"$RS256_CLIENT")" \
  "$(json_field client_secret <<<"$RS256_CLIENT")" | base64 -w0)
# The code flow's user and web application, in the same database.
seed_user "${SQLITE_ARGS[@]}"
WEB_CLIENT=$("$TESSERA" "${SQLITE_ARGS[@]}" client create --name bench-web --redirect-uri "$REDIRECT_URI" \
  --scope contact.read --grant-type authorization_code --output json)
WEB_CLIENT_ID=$(json_field client_id <<<"$WEB_CLIENT")
TESSERA_WEB_BASIC=$(printf '%s:%s' "$WEB_CLIENT_ID" "$(json_field client_secret <<<"$WEB_CLIENT")" | base64 -w0)
seed_refresh_client sqlite "${SQLITE_ARGS[@]}"
serve_tessera sqlite "${SQLITE_ARGS[@]}"
# Idle memory: after start and seeding, before any request.
sleep 2
IDLE_RSS_TESSERA=$(status_kb VmRSS "$TESSERA_PID_sqlite")

POSTGRES_NOTE=""
IDLE_RSS_TESSERA_PG=""
HAVE_PG=no
if pg_isready -q -h "$PG_HOST" -p "$PG_PORT" 2>/dev/null; then
  log "starting Tessera on PostgreSQL"
  HAVE_PG=yes
  create_pg_db pg
  mkdir -p "$WORK/pg"
  PG_ARGS=(--config "$WORK/pg.toml" --data-dir "$WORK/pg")
  seed_tessera pg "${PG_ARGS[@]}"
  seed_user "${PG_ARGS[@]}"
  seed_refresh_client pg "${PG_ARGS[@]}"
  serve_tessera pg "${PG_ARGS[@]}"
  sleep 2
  IDLE_RSS_TESSERA_PG=$(status_kb VmRSS "$TESSERA_PID_pg")
else
  POSTGRES_NOTE="no PostgreSQL answered on $PG_HOST:$PG_PORT"
  log "$POSTGRES_NOTE: skipping the PostgreSQL scenarios"
fi

# The scale stores: SCALE_CLIENTS clients and SCALE_REFRESH refresh tokens,
# bulk-inserted after the CLI made the first client (and so ran the
# migrations): the client seeder copies that client's row (see
# seed_clients.py), then the refresh scenario's user and client are added
# through the CLI, then the refresh tokens (seed_refresh_tokens.py).
SCALE_STORES=()
SCALE_PARTS=()
((SCALE_CLIENTS > 0)) && SCALE_PARTS+=("$(thousands "$SCALE_CLIENTS") clients")
((SCALE_REFRESH > 0)) && SCALE_PARTS+=("$(thousands "$SCALE_REFRESH") refresh tokens")
SCALE_LABEL=$(printf '%s\n' "${SCALE_PARTS[@]}" | paste -sd ';' | sed 's/;/, /g')
# seed_scale NAME DATABASE ARGS...: seeds the scale store NAME (DATABASE: the
# SQLite file or the PostgreSQL URL) and starts Tessera on it.
seed_scale() {
  local name=$1 database=$2 started=$SECONDS
  shift 2
  seed_tessera "$name" "$@"
  if ((SCALE_CLIENTS > 0)); then
    local secret_var="TESSERA_SECRET_$name"
    python3 "$BENCH_DIR/seed_clients.py" "$database" "$SCALE_CLIENTS" "$SCALE_SAMPLE" \
      "$WORK/$name-clients.txt" "${!secret_var}"
  fi
  seed_user "$@"
  seed_refresh_client "$name" "$@"
  if ((SCALE_REFRESH > 0)); then
    local kind=sqlite
    [[ $database == postgres://* ]] && kind=postgres
    python3 "$BENCH_DIR/seed_refresh_tokens.py" "$kind" "$database" "$SCALE_REFRESH"
  fi
  printf -v "SEED_SECONDS_$name" '%s' "$((SECONDS - started))"
  log "seeded $name in $((SECONDS - started)) s"
  serve_tessera "$name" "$@"
  SCALE_STORES+=("$name")
}
if ((SCALE_CLIENTS > 0 || SCALE_REFRESH > 0)); then
  log "seeding Tessera on SQLite with $SCALE_LABEL"
  mkdir -p "$WORK/scale"
  seed_scale scale "$WORK/scale/tessera.db" --data-dir "$WORK/scale"
  if [[ $HAVE_PG == yes && $SCALE_POSTGRES == 1 ]]; then
    log "seeding Tessera on PostgreSQL with $SCALE_LABEL"
    create_pg_db scalepg
    mkdir -p "$WORK/scalepg"
    seed_scale scalepg "$PG_URL_scalepg" --config "$WORK/scalepg.toml" --data-dir "$WORK/scalepg"
  fi
fi

log "starting oidc-provider ($PEER_WORKERS workers)"
PEER_PORT=$(free_port)
PEER_CLIENT_ID=bench
PEER_CLIENT_SECRET=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
(cd "$PEER_DIR" && NODE_ENV=production PEER_PORT="$PEER_PORT" PEER_WORKERS="$PEER_WORKERS" \
  PEER_CLIENT_ID="$PEER_CLIENT_ID" PEER_CLIENT_SECRET="$PEER_CLIENT_SECRET" PEER_REDIRECT_URI="$REDIRECT_URI" \
  exec node server.mjs) >"$WORK/peer.log" 2>&1 &
PEER_PRIMARY=$!
STARTED_PIDS+=("$PEER_PRIMARY")
wait_for_line "$WORK/peer.log" "peer ready" "$PEER_PRIMARY"
IFS=, read -r -a PEER_PIDS <<<"$(sed -n 's/^peer ready pids=\([0-9,]*\).*/\1/p' "$WORK/peer.log")"
# The workers are ours too: stop them by PID even if the primary cannot.
STARTED_PIDS+=("${PEER_PIDS[@]:1}")
PEER_URL="http://127.0.0.1:$PEER_PORT"
PEER_BASIC=$(printf '%s:%s' "$PEER_CLIENT_ID" "$PEER_CLIENT_SECRET" | base64 -w0)
sleep 2
IDLE_RSS_PEER=$(status_kb VmRSS "${PEER_PIDS[@]}")
PEER_RUNTIME_WARNING=$(grep -m1 -o 'Unsupported runtime[^"]*' "$WORK/peer.log" || true)

# Tokens to introspect: Tessera's own ES256 JWT; the peer's opaque token (it
# refuses to introspect JWTs, see bench/peer/server.mjs).
get_token() { # get_token URL BASIC [EXTRA_FORM]
  curl -sf -H "Authorization: Basic $2" -d "grant_type=client_credentials&scope=contact.read${3:-}" "$1/token" \
    | json_field access_token
}
TESSERA_TOKEN=$(get_token "$TESSERA_URL_sqlite" "$TESSERA_BASIC_sqlite")
PEER_OPAQUE_TOKEN=$(get_token "$PEER_URL" "$PEER_BASIC" "&resource=urn:bench:opaque")
[[ $PEER_OPAQUE_TOKEN != *.* ]] || die "the peer's introspection token should be opaque"

# The code flow: sign in and consent once on each server (password hashing
# stays out of the loop), keeping the session cookie for wrk.
TESSERA_AUTHORIZE_PATH="/authorize?response_type=code&client_id=$WEB_CLIENT_ID&redirect_uri=$REDIRECT_URI_ENCODED&scope=contact.read&code_challenge=$CODE_CHALLENGE&code_challenge_method=S256"
TESSERA_COOKIE=$(python3 "$BENCH_DIR/codeflow_setup.py" tessera "$TESSERA_URL_sqlite$TESSERA_AUTHORIZE_PATH" \
  "$TESSERA_URL_sqlite/token" "$REDIRECT_URI" "$TESSERA_WEB_BASIC" "$CODE_VERIFIER" benchuser "$BENCH_USER_PASSWORD")
PEER_WEB_BASIC=$(printf '%s:%s' bench-web "$PEER_CLIENT_SECRET" | base64 -w0)
PEER_AUTHORIZE_PATH="/auth?response_type=code&client_id=bench-web&redirect_uri=$REDIRECT_URI_ENCODED&scope=contact.read&code_challenge=$CODE_CHALLENGE&code_challenge_method=S256"
PEER_COOKIE=$(python3 "$BENCH_DIR/codeflow_setup.py" peer "$PEER_URL$PEER_AUTHORIZE_PATH" \
  "$PEER_URL/token" "$REDIRECT_URI" "$PEER_WEB_BASIC" "$CODE_VERIFIER")

# The refresh scenario: the same once-only sign-in and consent for each
# server's refresh client; each run then gets its tokens by code flows.
REFRESH_SERVERS=(sqlite)
[[ $HAVE_PG == yes ]] && REFRESH_SERVERS+=(pg)
REFRESH_SERVERS+=("${SCALE_STORES[@]}")
for name in "${REFRESH_SERVERS[@]}"; do
  url_var="TESSERA_URL_$name"
  refresh_session "$name" tessera "${!url_var}" "$(tessera_refresh_path "$name")" benchuser "$BENCH_USER_PASSWORD"
done
REFRESH_BASIC[peer]=$(printf '%s:%s' bench-refresh "$PEER_CLIENT_SECRET" | base64 -w0)
refresh_session peer peer "$PEER_URL" \
  "/auth?response_type=code&client_id=bench-refresh&redirect_uri=$REDIRECT_URI_ENCODED&scope=contact.read&code_challenge=$CODE_CHALLENGE&code_challenge_method=S256"

# What Tessera offers at this commit, for the rows that cannot be measured.
TESSERA_GRANT_TYPES=$(curl -sf "$TESSERA_URL_sqlite/.well-known/openid-configuration" \
  | python3 -c 'import json,sys; print(",".join(json.load(sys.stdin).get("grant_types_supported", [])))')

# ---------------------------------------------------------------- load

RUNS_TSV="$WORK/runs.tsv"
: >"$RUNS_TSV"

# run_wrk SCENARIO SERVER ROUND URL SCRIPT PIDS ENV...: one wrk run; ROUND 0
# is the warm-up and is not recorded. PIDS is a comma-separated list.
run_wrk() {
  local scenario=$1 server=$2 round=$3 url=$4 script=$5 pids=$6
  shift 6
  local duration=$DURATION connections=${SCENARIO_CONNECTIONS:-$CONNECTIONS}
  [[ $round == 0 ]] && duration=$WARMUP
  local -a pid_list
  IFS=, read -r -a pid_list <<<"$pids"
  local out="$WORK/wrk-$scenario-${server//[^A-Za-z]/}-$round.txt"
  # A refresh target names the server its tokens come from: a fresh pool for
  # every run, got before the peak is reset.
  # A server that cannot issue them fails the run (recorded as an error, so
  # the report marks it invalid) rather than the whole bench.
  local arg
  for arg in "$@"; do
    if [[ $arg == BENCH_REFRESH_SOURCE=* ]]; then
      if ! fill_refresh_pool "${arg#*=}" "$WORK/pool.txt" 2>"$WORK/pool.err"; then
        log "$scenario on $server, round $round: no refresh tokens: $(tail -c 300 "$WORK/pool.err")"
        [[ $round == 0 ]] && return 0
        printf '%s\t%s\t%s\t0\t0\t0\t1\t0\t\t\n' "$scenario" "$server" "$round" >>"$RUNS_TSV"
        return 0
      fi
      set -- "$@" BENCH_REFRESH_FILE="$WORK/pool.txt"
    fi
  done
  reset_peak "${pid_list[@]}"
  env BENCH_WRK_DIR="$BENCH_DIR/wrk" BENCH_WRK_THREADS="$THREADS" BENCH_WRK_CONNECTIONS="$connections" "$@" \
    wrk -t"$THREADS" -c"$connections" -d"$duration" --latency -s "$BENCH_DIR/wrk/$script" "$url" </dev/null >"$out" 2>&1 \
    || { cat "$out" >&2; die "wrk failed for $scenario on $server"; }
  [[ $round == 0 ]] && return 0
  local peak line
  peak=$(status_kb VmHWM "${pid_list[@]}")
  line=$(grep '^BENCH ' "$out") || { cat "$out" >&2; die "no BENCH line from wrk"; }
  # Pull key=value pairs out of the BENCH line.
  local -A v
  local pair
  for pair in ${line#BENCH }; do v[${pair%%=*}]=${pair#*=}; done
  # Whole-flow times, where the script timed flows (codeflow.lua, one
  # connection per thread): two more columns, empty otherwise.
  line=$(grep '^BENCH_FLOWS ' "$out" || true)
  for pair in ${line#BENCH_FLOWS }; do v[${pair%%=*}]=${pair#*=}; done
  local errors=$((v[non200] + v[badbody] + v[connect] + v[read] + v[write] + v[timeout]))
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$scenario" "$server" "$round" "${v[rps]}" \
    "${v[p50_us]}" "${v[p99_us]}" "$errors" "$peak" "${v[flow_p50_us]:-}" "${v[flow_p99_us]:-}" >>"$RUNS_TSV"
  log "$(printf '%-26s %-22s round %s: %9.0f req/s  p50 %6s us  p99 %6s us  errors %s  peak %s kB' \
    "$scenario" "$server" "$round" "${v[rps]}" "${v[p50_us]}" "${v[p99_us]}" "$errors" "$peak")"
}

# Each scenario is a list of targets, one per line:
#   SERVER|URL|SCRIPT|PIDS|ENV...
# Every target gets a warm-up, then the rounds go target after target
# (A, B, A, B...), so slow drifts of the machine hit every server alike.
run_scenario() {
  local scenario=$1 targets=$2 round server url script pids envs
  local -a env_args
  if [[ -n ${BENCH_SCENARIOS:-} && ,$BENCH_SCENARIOS, != *,$scenario,* ]]; then
    return
  fi
  log "scenario $scenario"
  for round in $(seq 0 "$ROUNDS"); do
    while IFS='|' read -r server url script pids envs; do
      [[ -z $server ]] && continue
      read -r -a env_args <<<"$envs"
      run_wrk "$scenario" "$server" "$round" "$url" "$script" "$pids" "${env_args[@]}"
    done <<<"$targets"
  done
}

T="Tessera (SQLite)"
TP="Tessera (PostgreSQL)"
P="oidc-provider"
# The scale stores' rows, e.g. "Tessera (SQLite, 1,000,000 clients, 10,000,000 refresh tokens)".
TS="Tessera (SQLite, $SCALE_LABEL)"
TSP="Tessera (PostgreSQL, $SCALE_LABEL)"
declare -A SCALE_SERVER=([scale]="$TS" [scalepg]="$TSP")
declare -A EMPTY_NAME=([scale]=sqlite [scalepg]=pg)
declare -A EMPTY_SERVER=([scale]="$T" [scalepg]="$TP")
PEER_PIDS_CSV=$(IFS=,; echo "${PEER_PIDS[*]}")

CC_TARGETS="$T|$TESSERA_URL_sqlite/token|token.lua|$TESSERA_PID_sqlite|BENCH_BASIC=$TESSERA_BASIC_sqlite"
if [[ $HAVE_PG == yes ]]; then
  CC_TARGETS+=$'\n'"$TP|$TESSERA_URL_pg/token|token.lua|$TESSERA_PID_pg|BENCH_BASIC=$TESSERA_BASIC_pg"
fi
CC_TARGETS+=$'\n'"$P|$PEER_URL/token|token.lua|$PEER_PIDS_CSV|BENCH_BASIC=$PEER_BASIC"
run_scenario client_credentials "$CC_TARGETS"

if ((${#SCALE_STORES[@]} > 0)); then
  # The same rotating script on both sides of each pair: the one client of
  # the ordinary store against SCALE_SAMPLE clients picked across the scale
  # store's SCALE_CLIENTS (its one CLI-made client if none were seeded).
  MANY_TARGETS=""
  for name in "${SCALE_STORES[@]}"; do
    empty=${EMPTY_NAME[$name]}
    empty_basic="TESSERA_BASIC_$empty" empty_url="TESSERA_URL_$empty" empty_pid="TESSERA_PID_$empty"
    scale_basic="TESSERA_BASIC_$name" scale_url="TESSERA_URL_$name" scale_pid="TESSERA_PID_$name"
    echo "${!empty_basic}" >"$WORK/$empty-one-client.txt"
    ((SCALE_CLIENTS > 0)) || echo "${!scale_basic}" >"$WORK/$name-clients.txt"
    MANY_TARGETS+="${EMPTY_SERVER[$name]}|${!empty_url}/token|token_many.lua|${!empty_pid}|BENCH_CLIENTS_FILE=$WORK/$empty-one-client.txt"$'\n'
    MANY_TARGETS+="${SCALE_SERVER[$name]}|${!scale_url}/token|token_many.lua|${!scale_pid}|BENCH_CLIENTS_FILE=$WORK/$name-clients.txt"$'\n'
  done
  run_scenario client_credentials_many "$MANY_TARGETS"
fi

# Both sign the tokens of the same resource indicator with RS256.
run_scenario client_credentials_rs256 \
  "$T|$TESSERA_URL_sqlite/token|token.lua|$TESSERA_PID_sqlite|BENCH_BASIC=$TESSERA_RS256_BASIC BENCH_TOKEN_EXTRA=&resource=$RS256_RESOURCE_ENCODED
$P|$PEER_URL/token|token.lua|$PEER_PIDS_CSV|BENCH_BASIC=$PEER_BASIC BENCH_TOKEN_EXTRA=&resource=$RS256_RESOURCE_ENCODED"

# The refresh grant, rotating: every server in one interleaved scenario, the
# scale stores' rows read against their backend's ordinary store.
REFRESH_TARGETS="$T|$TESSERA_URL_sqlite/token|refresh.lua|$TESSERA_PID_sqlite|BENCH_BASIC=${REFRESH_BASIC[sqlite]} BENCH_REFRESH_SOURCE=sqlite"
if [[ $HAVE_PG == yes ]]; then
  REFRESH_TARGETS+=$'\n'"$TP|$TESSERA_URL_pg/token|refresh.lua|$TESSERA_PID_pg|BENCH_BASIC=${REFRESH_BASIC[pg]} BENCH_REFRESH_SOURCE=pg"
fi
REFRESH_TARGETS+=$'\n'"$P|$PEER_URL/token|refresh.lua|$PEER_PIDS_CSV|BENCH_BASIC=${REFRESH_BASIC[peer]} BENCH_REFRESH_SOURCE=peer"
for name in "${SCALE_STORES[@]}"; do
  scale_url="TESSERA_URL_$name" scale_pid="TESSERA_PID_$name"
  REFRESH_TARGETS+=$'\n'"${SCALE_SERVER[$name]}|${!scale_url}/token|refresh.lua|${!scale_pid}|BENCH_BASIC=${REFRESH_BASIC[$name]} BENCH_REFRESH_SOURCE=$name"
done
run_scenario refresh "$REFRESH_TARGETS"

run_scenario introspection \
  "$T|$TESSERA_URL_sqlite/introspect|introspect.lua|$TESSERA_PID_sqlite|BENCH_BASIC=$TESSERA_BASIC_sqlite BENCH_TOKEN=$TESSERA_TOKEN
$P|$PEER_URL/introspect|introspect.lua|$PEER_PIDS_CSV|BENCH_BASIC=$PEER_BASIC BENCH_TOKEN=$PEER_OPAQUE_TOKEN"

# Tokens through the code flow (flows/s), loaded, then one connection at a
# time for the latency of a lone flow.
CODE_FLOW_TARGETS="$T|$TESSERA_URL_sqlite|codeflow.lua|$TESSERA_PID_sqlite|BENCH_AUTHORIZE_PATH=$TESSERA_AUTHORIZE_PATH BENCH_COOKIE=$TESSERA_COOKIE BENCH_BASIC=$TESSERA_WEB_BASIC BENCH_REDIRECT_URI=$REDIRECT_URI_ENCODED BENCH_CODE_VERIFIER=$CODE_VERIFIER
$P|$PEER_URL|codeflow.lua|$PEER_PIDS_CSV|BENCH_AUTHORIZE_PATH=$PEER_AUTHORIZE_PATH BENCH_COOKIE=$PEER_COOKIE BENCH_BASIC=$PEER_WEB_BASIC BENCH_REDIRECT_URI=$REDIRECT_URI_ENCODED BENCH_CODE_VERIFIER=$CODE_VERIFIER"
run_scenario code_flow "$CODE_FLOW_TARGETS"
SCENARIO_CONNECTIONS=1 run_scenario code_flow_1conn "$CODE_FLOW_TARGETS"

run_scenario jwks \
  "$T|$TESSERA_URL_sqlite/jwks.json|jwks.lua|$TESSERA_PID_sqlite|
$P|$PEER_URL/jwks.json|jwks.lua|$PEER_PIDS_CSV|"

run_scenario discovery \
  "$T|$TESSERA_URL_sqlite/.well-known/openid-configuration|discovery.lua|$TESSERA_PID_sqlite|
$P|$PEER_URL/.well-known/openid-configuration|discovery.lua|$PEER_PIDS_CSV|"

LOADAVG_END=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- report

DATE=$(date +%F)
META="$WORK/meta.txt"
{
  echo "date=$DATE"
  echo "commit=$COMMIT"
  echo "dirty=$DIRTY"
  echo "nproc=$(nproc)"
  echo "cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
  echo "memory=$(awk '/^MemTotal:/ { printf "%.0f GiB RAM", $2 / 1048576 }' /proc/meminfo)"
  echo "peer_version=$PEER_PINNED"
  echo "node_version=$(node --version)"
  echo "peer_workers=$PEER_WORKERS"
  echo "peer_runtime_warning=$PEER_RUNTIME_WARNING"
  echo "wrk_version=$(wrk --version 2>&1 | head -1 | awk '{ print $2 }')"
  echo "wrk_threads=$THREADS"
  echo "wrk_connections=$CONNECTIONS"
  echo "duration=$DURATION"
  echo "warmup=$WARMUP"
  echo "rounds=$ROUNDS"
  echo "loadavg_start=$LOADAVG_START"
  echo "loadavg_end=$LOADAVG_END"
  echo "signing_ceiling=$SIGNING_CEILING"
  echo "signing_rounds=$SIGNING_ROUNDS"
  echo "aws_lc_rs_version=$AWS_LC_RS_VERSION"
  echo "idle_rss_tessera_kb=$IDLE_RSS_TESSERA"
  echo "idle_rss_tessera_pg_kb=$IDLE_RSS_TESSERA_PG"
  echo "idle_rss_peer_kb=$IDLE_RSS_PEER"
  echo "postgres_note=$POSTGRES_NOTE"
  echo "tessera_grant_types=$TESSERA_GRANT_TYPES"
  echo "has_guard=$HAS_GUARD"
  echo "guard_first_ns=$GUARD_FIRST_NS"
  echo "guard_repeat_ns=$GUARD_REPEAT_NS"
  echo "guard_verify_floor_ns=$GUARD_VERIFY_FLOOR_NS"
  echo "guard_note=$GUARD_NOTE"
  echo "guard_settings=$GUARD_SETTINGS"
  echo "criterion_version=$CRITERION_VERSION"
  echo "scale_clients=$SCALE_CLIENTS"
  echo "scale_sample=$SCALE_SAMPLE"
  echo "scale_refresh_tokens=$SCALE_REFRESH"
  echo "scale_server_sqlite=$([[ -n ${TESSERA_URL_scale:-} ]] && echo "$TS")"
  echo "scale_server_pg=$([[ -n ${TESSERA_URL_scalepg:-} ]] && echo "$TSP")"
  echo "seed_seconds_sqlite=${SEED_SECONDS_scale:-}"
  echo "seed_seconds_pg=${SEED_SECONDS_scalepg:-}"
  echo "scale_postgres=$SCALE_POSTGRES"
  echo "refresh_pool=$REFRESH_POOL"
  echo "rs256_resource=$RS256_RESOURCE"
} >"$META"

mkdir -p "$BENCH_DIR/results"
RESULT="$BENCH_DIR/results/$DATE-$COMMIT.md"
report_status=0
python3 "$BENCH_DIR/report.py" "$RUNS_TSV" "$META" >"$WORK/report.md" || report_status=$?
[[ $report_status -le 1 ]] || die "report.py failed"
cp "$WORK/report.md" "$RESULT"
cp "$WORK/report.md" "$BENCH_DIR/results/latest.md"
cat "$WORK/report.md"
log "results written to ${RESULT#"$REPO"/} and bench/results/latest.md"
exit "$report_status"
