#!/bin/sh
# Regenerates the expected `env get ORG/ENV` reports (CASE.expected) from ESC v0.25.0's own code:
# the esc-render oracle (../shared/tools/esc-render, README there: build with Go 1.19) renders
# env_get.go's report (env-get.tmpl, yaml.v3 re-encoding of the definition) for the value that
# credproc evaluates (its `--value detailed --show-secrets` tree as ESC wire JSON, the oracle
# redacting secrets as ESC does). Run from the repository root: sh tests/env/get_golden/generate.sh
set -eu
here=tests/env/get_golden
oracle="${ESC_RENDER:-$HOME/.cache/esc-render}"
store=$(mktemp -d)
trap 'rm -rf "$store"' EXIT
for def in "$here"/*.yaml; do
    case_name=$(basename "$def" .yaml)
    mkdir -p "$store/acme"
    cp "$def" "$store/acme/$case_name.yaml"
    CREDPROC_ENV_DIR="$store" .venv/bin/credproc env get "acme/$case_name" --value detailed --show-secrets \
        | .venv/bin/python -c 'import json,sys; print(json.dumps({"properties": json.load(sys.stdin).get("value", {})}))' \
        > "$store/wire.json"
    "$oracle" -in "$store/wire.json" -get-template-def "$def" -show-secrets=false > "$here/$case_name.expected"
done
