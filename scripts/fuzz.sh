#!/usr/bin/env bash
# Bounded API fuzzing: serves Roster (the debug binary `cargo test` built) on a fresh
# database, registers and logs in a user, and runs schemathesis against the served
# /openapi.json with that user's bearer token. It fuzzes every operation the document
# lists, so endpoints added later are covered without changing this script.
#
#   scripts/fuzz.sh [sqlite|postgres]...      (default: both)
#
# Fails on any 5xx answer and on any answer that does not match the document (status
# code, content type, headers, body schema). Bounds: FUZZ_MAX_TIME seconds per engine
# (default 240), FUZZ_MAX_EXAMPLES cases per operation (default 40).
set -euo pipefail
cd "$(dirname "$0")/.."

engines=("$@")
[ ${#engines[@]} -gt 0 ] || engines=(sqlite postgres)
bin=${ROSTER_BIN:-$PWD/target/debug/roster}
venv=${FUZZ_VENV:-$PWD/target/fuzz-venv}
max_time=${FUZZ_MAX_TIME:-240}
max_examples=${FUZZ_MAX_EXAMPLES:-40}
postgres_admin=${ROSTER_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
schemathesis_version=4.32.5

[ -x "$bin" ] || cargo build --locked --bin roster
if [ ! -x "$venv/bin/schemathesis" ] || ! "$venv/bin/schemathesis" --version | grep -q "$schemathesis_version"; then
    echo "fuzz: installing schemathesis $schemathesis_version into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$schemathesis_version"
fi

work=$(mktemp -d)
server=
database=
cleanup() {
    if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
    if [ -n "$database" ]; then psql "$postgres_admin" -qc "DROP DATABASE IF EXISTS \"$database\" WITH (FORCE)" >/dev/null 2>&1 || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

# Operations that end the fuzzing user's session or account run last, on their own, so
# that they do not turn every later authenticated case into a 401.
session_enders='/(logout|logout-all|change-password|password-reset-confirm|revoke-sessions)$|/sessions/\{|^/api/v1/users/(me|\{user_id\})$'

fuzz_engine() {
    local engine=$1 url log base token status=0
    case "$engine" in
        sqlite) url="sqlite://$work/$engine.db" ;;
        postgres)
            database="roster_fuzz_$(date +%s)_$$"
            psql "$postgres_admin" -qc "CREATE DATABASE \"$database\"" >/dev/null
            url="${postgres_admin%/*}/$database" ;;
        *) echo "fuzz: unknown engine $engine" >&2; return 2 ;;
    esac
    log="$work/$engine.log"
    env -i PATH="$PATH" HOME="$work" DATABASE_URL="$url" HOST=127.0.0.1 PORT=0 \
        LOG_FORMAT=json RUST_LOG=warn,roster=info \
        ENCRYPTION_KEY="$(head -c 32 /dev/urandom | base64)" \
        RATE_LIMIT_AUTH_PER_MINUTE=1000000 ARGON2_MEMORY_KIB=1024 ARGON2_ITERATIONS=1 \
        "$bin" serve 2>"$log" &
    server=$!
    base=
    for _ in $(seq 1 150); do
        base=$(python3 - "$log" <<'PY'
import json, sys
for line in open(sys.argv[1], errors="replace"):
    try:
        event = json.loads(line)
    except ValueError:
        continue
    if "address" in event:
        print("http://" + event["address"])
        break
PY
)
        [ -n "$base" ] && break
        kill -0 "$server" 2>/dev/null || { cat "$log" >&2; return 1; }
        sleep 0.2
    done
    [ -n "$base" ] || { echo "fuzz: roster did not start" >&2; cat "$log" >&2; return 1; }

    token=$(python3 - "$base" <<'PY'
import json, sys, urllib.request
base = sys.argv[1]
def post(path, body):
    request = urllib.request.Request(base + path, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        return json.load(response)
password = "Fuzz-Correct-Horse-9"
post("/api/v1/auth/register", {"username": "fuzzer", "email": "fuzzer@example.com", "password": password})
print(post("/api/v1/auth/login", {"login": "fuzzer", "password": password})["access_token"])
PY
)
    echo "fuzz: $engine: fuzzing $base/openapi.json for at most $max_time s"
    local common=(
        "$base/openapi.json" -H "Authorization: Bearer $token"
        --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance
        --max-examples "$max_examples" --seed 20261122 --request-timeout 15
        --suppress-health-check all --no-color --warnings off
    )
    # Run from the scratch directory: schemathesis keeps a cache in the working directory.
    (cd "$work" && "$venv/bin/schemathesis" run "${common[@]}" --max-time "$max_time" \
        --exclude-path-regex "$session_enders") || status=1
    (cd "$work" && "$venv/bin/schemathesis" run "${common[@]}" --max-time 60 \
        --include-path-regex "$session_enders") || status=1
    if grep -q '"level":"ERROR"' "$log"; then
        echo "fuzz: $engine: roster logged errors:" >&2
        grep '"level":"ERROR"' "$log" | head -20 >&2
        status=1
    fi
    kill "$server" && wait "$server" || true
    server=
    return $status
}

failed=0
for engine in "${engines[@]}"; do
    fuzz_engine "$engine" || failed=1
done
if [ $failed -ne 0 ]; then
    echo "fuzz: FAILED" >&2
    exit 1
fi
echo "fuzz: no 5xx answers and no answers outside the document"
