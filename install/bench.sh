#!/usr/bin/env bash
# Benchmarks the helper against its peers in one run and prints a table:
#   install/bench.sh [--quick]
# Installs the peers (install/test-deps.sh: Debian's docker-credential-ecr-login, the
# AWS CLI and moto in the venv) and builds the release binary first. It reports; it
# does not fail on a missed target (timings are not tests).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
venv=${ECR_ROLE_TEST_VENV:-$repo/.venv}
"$repo/install/test-deps.sh" >/dev/null
cargo build --release --locked --quiet --manifest-path "$repo/Cargo.toml" --bin docker-credential-ecr-role --example aws_proxy
exec "$venv/bin/python" "$repo/install/bench.py" "$@"
