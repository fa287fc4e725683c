#!/usr/bin/env bash
# Installs the real OpenID provider the federation tests sign in with
# (tests/api/federation): PyPI's oidc-provider-mock, into a venv under target/.
set -euo pipefail
cd "$(dirname "$0")/.."

version=0.3.4
venv=${OIDC_PROVIDER_MOCK_VENV:-$PWD/target/oidc-provider-mock-venv}
if [ -x "$venv/bin/oidc-provider-mock" ] && "$venv/bin/pip" show oidc-provider-mock 2>/dev/null | grep -q "^Version: $version$"; then
    exit 0
fi
echo "installing oidc-provider-mock $version into $venv"
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check "oidc-provider-mock==$version"
"$venv/bin/oidc-provider-mock" --help >/dev/null
