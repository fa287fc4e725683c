#!/usr/bin/env bash
# Installs the JWT libraries other services verify Roster's access tokens with, for the
# tests that run examples/verify-token against a served Roster (tests/api/auth/jwt_clients.rs):
# PyPI's PyJWT (with its `crypto` extra) and python-jose into a venv, and npm's
# jsonwebtoken, jwks-rsa and jose into a folder, both under target/.
set -euo pipefail
cd "$(dirname "$0")/.."

pyjwt=2.15.1
python_jose=3.5.0
jsonwebtoken=9.0.3
jwks_rsa=4.1.0
jose=6.2.19
venv=${JWT_CLIENTS_VENV:-$PWD/target/jwt-clients-venv}
node_dir=${JWT_CLIENTS_NODE:-$PWD/target/jwt-clients-node}

installed() { # package, version
    "$venv/bin/pip" show "$1" 2>/dev/null | grep -q "^Version: $2$"
}
if ! installed PyJWT "$pyjwt" || ! installed python-jose "$python_jose"; then
    echo "installing PyJWT[crypto] $pyjwt and python-jose $python_jose into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check \
        "PyJWT[crypto]==$pyjwt" "python-jose[cryptography]==$python_jose"
fi
"$venv/bin/python" -c 'import jwt, jose, cryptography'

wanted="jsonwebtoken@$jsonwebtoken jwks-rsa@$jwks_rsa jose@$jose"
if [ "$(cat "$node_dir/.installed" 2>/dev/null)" != "$wanted" ]; then
    echo "installing $wanted into $node_dir"
    mkdir -p "$node_dir"
    [ -f "$node_dir/package.json" ] || echo '{"private": true}' >"$node_dir/package.json"
    npm install --prefix "$node_dir" --no-audit --no-fund --loglevel=error $wanted
    echo "$wanted" >"$node_dir/.installed"
fi
NODE_PATH="$node_dir/node_modules" node -e 'require("jsonwebtoken"); require("jwks-rsa")'
(cd "$node_dir" && node --input-type=module -e 'await import("jose")')
