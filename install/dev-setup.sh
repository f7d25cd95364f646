#!/usr/bin/env bash
# Create .venv and install credproc with its test and demo extras. Safe to run twice.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test,demo]'
# The login tests' OpenID Connect server (npm oidc-provider, pinned by package-lock.json); without
# npm (or when the install fails) those tests skip with a reason. `npm ci` replaces node_modules,
# so a second run is the same.
if command -v npm >/dev/null 2>&1; then
    (cd tests/login/oidc_server && npm ci --no-audit --no-fund --loglevel=error) \
        || echo "dev-setup: warning: npm ci failed in tests/login/oidc_server; the login tests will skip" >&2
fi
