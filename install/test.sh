#!/usr/bin/env bash
# The project's test command: installs what the tests need (install/test-deps.sh),
# checks formatting and lints, installs the release build with install/install.sh
# into a temporary prefix and runs it, runs the Homebrew formula's install and test
# blocks, builds and installs a release archive, packages the crate, prints the
# benchmark table once (quick mode; it reports, it does not fail on timings), then
# runs every test — unit tests, the integration tests against moto, the end-to-end
# docker push.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
phase() { printf '\n==> [%4ds] %s\n' "$SECONDS" "$*"; }
# Compiler output only when something fails (cargo prints errors whatever this says).
export CARGO_TERM_QUIET=true

phase "dependencies (install/test-deps.sh: Debian packages, the Python venv with moto)"
install/test-deps.sh
phase "formatting and lints (cargo fmt --check, cargo clippy -D warnings)"
cargo fmt --check
cargo clippy --locked --all-targets -- -D warnings

phase "install from source (install/install.sh)"
PATH="$prefix/src/bin:$PATH" install/install.sh --prefix "$prefix/src/bin"
"$prefix/src/bin/docker-credential-ecr-role" version
for f in share/man/man1/docker-credential-ecr-role.1 share/bash-completion/completions/docker-credential-ecr-role \
  share/zsh/site-functions/_docker-credential-ecr-role share/fish/vendor_completions.d/docker-credential-ecr-role.fish; do
  [ -s "$prefix/src/$f" ] || { echo "test.sh: install.sh did not install $f" >&2; exit 1; }
done

phase "the Homebrew formula's install and test do blocks (install/homebrew/run-formula.rb)"
source_dir="$prefix/source"
mkdir -p "$source_dir"
# The source archive a release's url serves: the checkout's tracked files (with any
# uncommitted change to them, so a local run tests what is there).
snapshot=$(git stash create 2>/dev/null || true)
git archive --format=tar "${snapshot:-HEAD}" | tar -x -C "$source_dir"
# A target directory of its own: the archive is another package path, and sharing
# target/release would leave its binary where install.sh and the benchmark look.
CARGO_TARGET_DIR="$repo/target/homebrew" ruby install/homebrew/run-formula.rb \
  install/homebrew/Formula/docker-credential-ecr-role.rb "$source_dir" "$prefix/keg"
for f in bin/docker-credential-ecr-role share/man/man1/docker-credential-ecr-role.1 \
  etc/bash_completion.d/docker-credential-ecr-role share/zsh/site-functions/_docker-credential-ecr-role \
  share/fish/vendor_completions.d/docker-credential-ecr-role.fish; do
  [ -s "$prefix/keg/$f" ] || { echo "test.sh: the formula did not install $f" >&2; exit 1; }
done

phase "a release archive for this machine, installed from the archive"
install/release.sh --out "$prefix/dist"
(cd "$prefix/dist" && sha256sum -c ./*.sha256)
PATH="$prefix/archive/bin:$PATH" install/install.sh --archive "$prefix"/dist/*.tar.gz --prefix "$prefix/archive/bin"
"$prefix/archive/bin/docker-credential-ecr-role" version
[ -s "$prefix/archive/share/man/man1/docker-credential-ecr-role.1" ]
tar -tzf "$prefix"/dist/*.tar.gz | grep -q '/LICENSE$'

phase "cargo package (no manifest warnings)"
# Its own target directory: cargo keys build outputs by package name, not path, so a
# verify build in target/ would stand in for the checkout's own build afterwards.
# Not quiet: a quiet cargo drops its warnings, and they are what this looks for.
CARGO_TERM_QUIET=false CARGO_TARGET_DIR="$repo/target/package-verify" cargo package --locked --allow-dirty \
  2>"$prefix/package.log" || { cat "$prefix/package.log" >&2; exit 1; }
if grep -i 'warning' "$prefix/package.log"; then
  echo "test.sh: cargo package warned (above)" >&2
  exit 1
fi

phase "benchmark against the peers (a report: timings are not tests, a MISS does not fail)"
install/bench.sh --quick

phase "tests (unit, SDK conformance, moto with IAM enforcement, hostile neighbours, docker end to end)"
# Built quietly first; then run with the test harness's usual output (a name and a
# result per test, and each binary's `test result:` line).
cargo test --locked --no-run
CARGO_TERM_QUIET=false cargo test --locked
phase "all checks passed"
