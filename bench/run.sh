#!/usr/bin/env bash
# Tessera's benchmark, side by side with a real peer (node-oidc-provider), on
# this machine, in one run. See "## Benchmarks" in README.md.
#
#   bash bench/run.sh
#
# It builds Tessera in release mode, installs the peer and wrk if missing,
# starts Tessera (SQLite; PostgreSQL when one answers on 127.0.0.1:5432;
# SQLite with a million clients bulk-inserted) and the peer on loopback with
# fresh state, drives each scenario (client_credentials, the code flow,
# introspection, JWKS, discovery) with wrk for a bounded time, A/B
# interleaved, then stops everything it started (by PID) and writes
# bench/results/YYYY-MM-DD-<commit>.md and bench/results/latest.md.
# A full run takes about 10 minutes.
#
# Settings (environment): BENCH_DURATION (10s per run), BENCH_ROUNDS (3),
# BENCH_WARMUP (2s), BENCH_CONNECTIONS (32), BENCH_THREADS (1),
# BENCH_TARGET_DIR ($HOME/.cache/tessera/bench-target), PEER_WORKERS (nproc),
# BENCH_SCALE_CLIENTS (1000000; 0 skips), BENCH_SCALE_SAMPLE (10000),
# BENCH_SCENARIOS (a comma-separated subset, e.g. client_credentials,introspection;
# default: all), BENCH_SOURCE: "worktree" (default) builds the files as they are; "head"
# builds a copy of the last commit (git archive), for figures that match the
# commit named in the results while someone edits the work tree.
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
PG_DB=""

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
  if [[ -n $PG_DB ]]; then
    dropdb -h "$PG_HOST" -p "$PG_PORT" -U postgres --if-exists --force "$PG_DB" || log "could not drop database $PG_DB"
  fi
  rm -rf "$WORK"
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
    git -C "$REPO" archive "$COMMIT" | tar -x -C "$SOURCE"
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

# ---------------------------------------------------------------- signing ceiling

# Before any server starts, so the ceiling is measured on an otherwise idle
# (by this script) machine.
log "measuring the ES256 signing ceiling (one thread)"
"$TARGET_DIR/release/signing-ceiling" 2 5 >"$WORK/ceiling.txt"
SIGNING_CEILING=$(sed -n 's/^signs_per_second=//p' "$WORK/ceiling.txt")
SIGNING_ROUNDS=$(grep '^round' "$WORK/ceiling.txt" | sed 's/^round [0-9]*: //' | paste -sd ';' | sed 's/;/; /g')
log "signing ceiling: $SIGNING_CEILING signs/s"

LOADAVG_START=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- servers

log "starting Tessera on SQLite"
mkdir -p "$WORK/sqlite"
seed_tessera sqlite --data-dir "$WORK/sqlite"
# The code flow's user and web application, in the same database.
BENCH_USER_PASSWORD=$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')
printf '%s\n' "$BENCH_USER_PASSWORD" | "$TESSERA" --data-dir "$WORK/sqlite" user add benchuser --password-stdin >/dev/null
WEB_CLIENT=$("$TESSERA" --data-dir "$WORK/sqlite" client create --name bench-web --redirect-uri "$REDIRECT_URI" \
  --scope contact.read --grant-type authorization_code --output json)
WEB_CLIENT_ID=$(json_field client_id <<<"$WEB_CLIENT")
TESSERA_WEB_BASIC=$(printf '%s:%s' "$WEB_CLIENT_ID" "$(json_field client_secret <<<"$WEB_CLIENT")" | base64 -w0)
serve_tessera sqlite --data-dir "$WORK/sqlite"
# Idle memory: after start and seeding, before any request.
sleep 2
IDLE_RSS_TESSERA=$(status_kb VmRSS "$TESSERA_PID_sqlite")

POSTGRES_NOTE=""
IDLE_RSS_TESSERA_PG=""
if pg_isready -q -h "$PG_HOST" -p "$PG_PORT" 2>/dev/null; then
  log "starting Tessera on PostgreSQL"
  PG_DB="tessera_bench_$$_$RANDOM"
  createdb -h "$PG_HOST" -p "$PG_PORT" -U postgres "$PG_DB"
  printf 'database_url = "postgres://postgres@%s:%s/%s"\n' "$PG_HOST" "$PG_PORT" "$PG_DB" >"$WORK/postgres.toml"
  mkdir -p "$WORK/pg"
  seed_tessera pg --config "$WORK/postgres.toml" --data-dir "$WORK/pg"
  serve_tessera pg --config "$WORK/postgres.toml" --data-dir "$WORK/pg"
  sleep 2
  IDLE_RSS_TESSERA_PG=$(status_kb VmRSS "$TESSERA_PID_pg")
else
  POSTGRES_NOTE="no PostgreSQL answered on $PG_HOST:$PG_PORT"
  log "$POSTGRES_NOTE: skipping the PostgreSQL scenario"
fi

if ((SCALE_CLIENTS > 0)); then
  # Bulk insert after the CLI made the first client (and so ran the
  # migrations): the seeder copies that client's row, see seed_clients.py.
  log "seeding Tessera on SQLite with $SCALE_CLIENTS clients"
  mkdir -p "$WORK/scale"
  seed_tessera scale --data-dir "$WORK/scale"
  python3 "$BENCH_DIR/seed_clients.py" "$WORK/scale/tessera.db" "$SCALE_CLIENTS" "$SCALE_SAMPLE" \
    "$WORK/scale-clients.txt" "$TESSERA_SECRET_scale"
  serve_tessera scale --data-dir "$WORK/scale"
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

# What Tessera offers at this commit, for the rows that cannot be measured.
TESSERA_GRANT_TYPES=$(curl -sf "$TESSERA_URL_sqlite/.well-known/openid-configuration" \
  | python3 -c 'import json,sys; print(",".join(json.load(sys.stdin).get("grant_types_supported", [])))')
HAS_GUARD=no
[[ -d $SOURCE/crates/tessera-guard ]] && HAS_GUARD=yes

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
  reset_peak "${pid_list[@]}"
  local out="$WORK/wrk-$scenario-${server//[^A-Za-z]/}-$round.txt"
  env BENCH_WRK_DIR="$BENCH_DIR/wrk" "$@" \
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
  local errors=$((v[non200] + v[badbody] + v[connect] + v[read] + v[write] + v[timeout]))
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$scenario" "$server" "$round" "${v[rps]}" \
    "${v[p50_us]}" "${v[p99_us]}" "$errors" "$peak" >>"$RUNS_TSV"
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
TS="Tessera (SQLite, $(printf '%s' "$SCALE_CLIENTS" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta') clients)"
PEER_PIDS_CSV=$(IFS=,; echo "${PEER_PIDS[*]}")

CC_TARGETS="$T|$TESSERA_URL_sqlite/token|token.lua|$TESSERA_PID_sqlite|BENCH_BASIC=$TESSERA_BASIC_sqlite"
if [[ -n $PG_DB ]]; then
  CC_TARGETS+=$'\n'"$TP|$TESSERA_URL_pg/token|token.lua|$TESSERA_PID_pg|BENCH_BASIC=$TESSERA_BASIC_pg"
fi
CC_TARGETS+=$'\n'"$P|$PEER_URL/token|token.lua|$PEER_PIDS_CSV|BENCH_BASIC=$PEER_BASIC"
run_scenario client_credentials "$CC_TARGETS"

if ((SCALE_CLIENTS > 0)); then
  # The same rotating script on both sides: one registered client against
  # SCALE_SAMPLE clients picked across SCALE_CLIENTS.
  echo "$TESSERA_BASIC_sqlite" >"$WORK/one-client.txt"
  run_scenario client_credentials_many \
    "$T|$TESSERA_URL_sqlite/token|token_many.lua|$TESSERA_PID_sqlite|BENCH_CLIENTS_FILE=$WORK/one-client.txt
$TS|$TESSERA_URL_scale/token|token_many.lua|$TESSERA_PID_scale|BENCH_CLIENTS_FILE=$WORK/scale-clients.txt"
fi

# Tessera has no RS256 access tokens yet: the peer alone, for the record.
run_scenario client_credentials_rs256 \
  "$P|$PEER_URL/token|token.lua|$PEER_PIDS_CSV|BENCH_BASIC=$PEER_BASIC BENCH_TOKEN_EXTRA=&resource=https%3A%2F%2Fapi-rs256.bench.test"

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
  echo "scale_clients=$SCALE_CLIENTS"
  echo "scale_sample=$SCALE_SAMPLE"
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
