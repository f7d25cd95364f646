#!/usr/bin/env bash
# Create .venv and install credproc with its test and demo extras. Safe to run twice.
# Quiet: a clean run prints one line ("dev-setup: ready ..."); warnings and errors go to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
# -qq: errors only (pip's and the build backend's notices are not for this script's user).
.venv/bin/python -m pip install -qq --upgrade pip
.venv/bin/python -m pip install -qq -e '.[test,demo]'
# The login tests' OpenID Connect server (npm oidc-provider, pinned by package-lock.json); without
# npm (or when the install fails) those tests skip with a reason. `npm ci` replaces node_modules,
# so a second run is the same.
if command -v npm >/dev/null 2>&1; then
    # stdout (the "added N packages" summary) discarded; npm's errors still reach stderr.
    (cd tests/login/oidc_server && npm ci --no-audit --no-fund --no-update-notifier --loglevel=error >/dev/null) \
        || echo "dev-setup: warning: npm ci failed in tests/login/oidc_server; the login tests will skip" >&2
    # The AWS SDK for JavaScript v3, a real client of the credentials endpoint (tests/endpoint).
    (cd tests/endpoint/js_client && npm ci --no-audit --no-fund --no-update-notifier --loglevel=error >/dev/null) \
        || echo "dev-setup: warning: npm ci failed in tests/endpoint/js_client; its JavaScript SDK tests will skip" >&2
fi
# zsh and fish: the shell-quoting tests eval credproc's output in them (they skip a shell that is
# missing, saying so). CI runs this script as root on a fresh Debian machine, where apt-get can add
# them; anywhere else (not root, no apt-get, offline) this only warns.
missing_shells=""
for shell in zsh fish; do
    command -v "$shell" >/dev/null 2>&1 || missing_shells="$missing_shells $shell"
done
if [ -n "$missing_shells" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        # shellcheck disable=SC2086  # one word per shell
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing_shells >/dev/null; } \
            || echo "dev-setup: warning: could not install$missing_shells; the shell-quoting tests will skip them" >&2
    else
        echo "dev-setup: warning:$missing_shells not installed (needs root and apt-get); the shell-quoting tests will skip them" >&2
    fi
fi
echo "dev-setup: ready (.venv); run the tests with .venv/bin/python -m pytest -q"
