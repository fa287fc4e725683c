#!/usr/bin/env bash
# Installs what the example webhook receivers (examples/receivers/, shown in the README's
# "Reacting to account changes") run on, for the test that sends them Roster's events
# (tests/api/webhooks/receivers.rs): PyPI's FastAPI, uvicorn and standardwebhooks into a
# venv, and npm's standardwebhooks into a folder, both under target/.
set -euo pipefail
cd "$(dirname "$0")/.."

fastapi=0.165.0
uvicorn=0.55.0
standardwebhooks_py=1.3.0
standardwebhooks_js=1.3.0
venv=${WEBHOOK_RECEIVERS_VENV:-$PWD/target/webhook-receivers-venv}
node_dir=${WEBHOOK_RECEIVERS_NODE:-$PWD/target/webhook-receivers-node}

wanted_py="fastapi==$fastapi uvicorn==$uvicorn standardwebhooks==$standardwebhooks_py"
if [ "$(cat "$venv/.installed" 2>/dev/null)" != "$wanted_py" ]; then
    echo "installing $wanted_py into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check $wanted_py
    echo "$wanted_py" >"$venv/.installed"
fi
"$venv/bin/python" -c 'import fastapi, uvicorn, standardwebhooks'

wanted_js="standardwebhooks@$standardwebhooks_js"
if [ "$(cat "$node_dir/.installed" 2>/dev/null)" != "$wanted_js" ]; then
    echo "installing $wanted_js into $node_dir"
    mkdir -p "$node_dir"
    [ -f "$node_dir/package.json" ] || echo '{"private": true, "type": "module"}' >"$node_dir/package.json"
    npm install --prefix "$node_dir" --no-audit --no-fund --loglevel=error "$wanted_js"
    echo "$wanted_js" >"$node_dir/.installed"
fi
(cd "$node_dir" && node --input-type=module -e 'await import("standardwebhooks")')
