#!/usr/bin/env bash
# The project's test command: installs what the tests need (install/test-deps.sh),
# then checks formatting and lints and runs every test — unit tests, the
# integration tests against moto, and the end-to-end docker push.
set -euo pipefail
cd "$(dirname "$0")/.."

install/test-deps.sh
cargo fmt --check
cargo clippy --locked --all-targets -- -D warnings
cargo test --locked
