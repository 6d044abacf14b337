#!/usr/bin/env bash
# The project's test command: installs what the tests need (install/test-deps.sh),
# checks formatting and lints, installs the release build with install/install.sh
# into a temporary prefix and runs it, prints the benchmark table once (quick mode;
# it reports, it does not fail on timings), then runs every test — unit tests, the
# integration tests against moto, the end-to-end docker push.
set -euo pipefail
cd "$(dirname "$0")/.."

install/test-deps.sh
cargo fmt --check
cargo clippy --locked --all-targets -- -D warnings

prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
install/install.sh --prefix "$prefix"
"$prefix/docker-credential-ecr-role" version

install/bench.sh --quick

cargo test --locked
