#!/usr/bin/env bash
# The project's test command (CI runs exactly this: .ci/run). In order:
#  1. installs what the tests need (install/test-deps.sh: Debian packages, the Python
#     venv with moto and actionlint, the cargo tools for the release build);
#  2. checks formatting, lints, the dependency policy (cargo deny) and the workflows
#     (actionlint);
#  3. installs from source (install/install.sh) and runs the Homebrew formula's
#     install and test blocks, on one shared release build;
#  4. builds the release archive (install/release.sh: static, auditable, notices,
#     SBOM), installs it with the README's commands, refuses a tampered one, and lints
#     the man page;
#  5. prints the benchmark table once (quick mode; it reports, it does not fail);
#  6. runs every test: unit tests, moto with IAM enforcement, hostile neighbours,
#     the release binary in a Debian 11 root and an empty root, docker end to end.
# The Debian 11 root is made once (debootstrap) and kept in target/roots.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

prefix=$(mktemp -d)
ticker=""
debootstrap_pid=""
# On any exit: stop the ticker and a debootstrap still running (each in a process
# group of its own), and remove the temporary directory.
cleanup() {
  for pid in $ticker $debootstrap_pid; do kill -- "-$pid" 2>/dev/null || true; done
  rm -rf "$prefix"
}
trap cleanup EXIT
phase() { printf '\n==> [%4ds] %s\n' "$SECONDS" "$*"; printf '%s' "$*" >"$prefix/phase"; }
# A line every 30 s, so a quiet compile is never mistaken for a hang.
setsid bash -c '
  while sleep 30; do
    printf "    ... [%4ds] still at: %s\n" "$(( $(date +%s) - $1 ))" "$(cut -c1-60 "$2/phase" 2>/dev/null)"
  done' ticker "$(( $(date +%s) - SECONDS ))" "$prefix" &
ticker=$!
# Compiler output only when something fails (cargo prints errors whatever this says).
export CARGO_TERM_QUIET=true

phase "dependencies (install/test-deps.sh: Debian packages, the Python venv, cargo tools)"
install/test-deps.sh
export PATH="$repo/.venv/bin:$HOME/.cargo/bin:$PATH"
# What is in the system temp directory and the real home now: after the checks and
# tests nothing may be new there (all they write goes to temporary directories they
# remove, and to target/).
tmp_root=${TMPDIR:-/tmp}
snapshot_outside() {
  {
    find "$tmp_root" -mindepth 1 -maxdepth 1 ! -path "$prefix" ! -name 'rustc*' ! -name 'cargo-install*'
    find "$HOME" -mindepth 1 -maxdepth 3 ! -path "$HOME/.cargo*" ! -path "$HOME/.rustup*" ! -path "$repo*"
  } 2>/dev/null | sort
}
snapshot_outside >"$prefix/outside.before"

# The Debian 11 root, made in the background while the compiler works (kept between runs).
roots="$repo/target/roots"
mkdir -p "$roots"
if [ ! -f "$roots/bullseye/etc/debian_version" ]; then
  rm -rf "$roots/bullseye.partial"
  setsid bash -c 'debootstrap --variant=minbase bullseye "$1.partial" >"$1.log" 2>&1 && mv "$1.partial" "$1"' \
    debootstrap "$roots/bullseye" &
  debootstrap_pid=$!
fi

phase "formatting, lints, dependency policy, workflows (cargo fmt, clippy, cargo deny, actionlint)"
cargo fmt --check
cargo clippy --locked --all-targets -- -D warnings
cargo deny --log-level error check licenses bans sources
actionlint .github/workflows/*.yml

phase "install from source (install/install.sh --prefix)"
PATH="$prefix/src/bin:$PATH" install/install.sh --prefix "$prefix/src" >"$prefix/install.log"
cat "$prefix/install.log"
"$prefix/src/bin/docker-credential-ecr-role" version
for f in share/man/man1/docker-credential-ecr-role.1 share/bash-completion/completions/docker-credential-ecr-role \
  share/zsh/site-functions/_docker-credential-ecr-role share/fish/vendor_completions.d/docker-credential-ecr-role.fish; do
  [ -s "$prefix/src/$f" ] || { echo "test.sh: install.sh did not install $f" >&2; exit 1; }
done
grep -q 'fpath=' "$prefix/install.log" || { echo "test.sh: install.sh gave no zsh fpath hint" >&2; exit 1; }

phase "the Homebrew formula's install and test do blocks (install/homebrew/run-formula.rb)"
source_dir="$prefix/source"
mkdir -p "$source_dir"
# The source archive a release's url serves: the checkout's tracked files (with any
# uncommitted change to them, so a local run tests what is there).
snapshot=$(git stash create 2>/dev/null || true)
git archive --format=tar "${snapshot:-HEAD}" | tar -x -C "$source_dir"
# The same target directory as the build above: the dependencies are built once. The
# formula's build of the same sources then stands in target/release, which is fine.
CARGO_TARGET_DIR="$repo/target" ruby install/homebrew/run-formula.rb \
  install/homebrew/Formula/docker-credential-ecr-role.rb "$source_dir" "$prefix/keg"
for f in bin/docker-credential-ecr-role share/man/man1/docker-credential-ecr-role.1 \
  etc/bash_completion.d/docker-credential-ecr-role share/zsh/site-functions/_docker-credential-ecr-role \
  share/fish/vendor_completions.d/docker-credential-ecr-role.fish; do
  [ -s "$prefix/keg/$f" ] || { echo "test.sh: the formula did not install $f" >&2; exit 1; }
done

phase "the release archive (install/release.sh: static, cargo auditable, notices, SBOM), installed as the README says"
install/release.sh --out "$prefix/dist"
archive=$(cd "$prefix/dist" && ls docker-credential-ecr-role-*.tar.gz)
base=${archive%.tar.gz}
tar -tzf "$prefix/dist/$archive" >"$prefix/archive.list"
for f in bin/docker-credential-ecr-role install.sh LICENSE THIRD-PARTY-LICENSES.txt sbom.cdx.json \
  share/man/man1/docker-credential-ecr-role.1 share/zsh/site-functions/_docker-credential-ecr-role; do
  grep -qx "$base/$f" "$prefix/archive.list" || { echo "test.sh: the archive holds no $f" >&2; exit 1; }
done
# The README's archive commands, verbatim (the block between its archive-route markers).
sed -n '/<!-- archive-route -->/,/<!-- \/archive-route -->/p' README.md | sed -n '/^```sh$/,/^```$/p' | sed '1d;$d' \
  | grep -v '^curl ' | sed "s|\$VERSION-\$TARGET|${base#docker-credential-ecr-role-}|g; s|~/.local|$prefix/archive|g" >"$prefix/route.sh"
[ -s "$prefix/route.sh" ] || { echo "test.sh: README.md has no archive route block" >&2; exit 1; }
(cd "$prefix/dist" && bash -euo pipefail "$prefix/route.sh")
release_bin="$prefix/archive/bin/docker-credential-ecr-role"
"$release_bin" version
[ -s "$prefix/archive/share/man/man1/docker-credential-ecr-role.1" ]
# A tampered archive is refused, and nothing is installed.
mkdir -p "$prefix/tampered"
cp "$prefix/dist/$archive" "$prefix/dist/$archive.sha256" "$prefix/tampered/"
printf 'x' >>"$prefix/tampered/$archive"
if "$prefix/dist/$base/install.sh" --archive "$prefix/tampered/$archive" --prefix "$prefix/tampered/p" 2>"$prefix/tampered.err"; then
  echo "test.sh: a tampered archive was installed" >&2; exit 1
fi
[ "$(wc -l <"$prefix/tampered.err")" -eq 1 ] && grep -q 'refusing' "$prefix/tampered.err" \
  || { echo "test.sh: the refusal is not one line:" >&2; cat "$prefix/tampered.err" >&2; exit 1; }
[ ! -e "$prefix/tampered/p/bin" ] || { echo "test.sh: a tampered archive left files behind" >&2; exit 1; }
# What the binary carries: cargo auditable's dependency list, no builder path.
objcopy --dump-section .dep-v0="$prefix/audit.z" "$release_bin" "$prefix/objcopy.out"
python3 -c 'import json,sys,zlib; d=json.loads(zlib.decompress(open(sys.argv[1],"rb").read())); n=[p["name"] for p in d["packages"]]; assert "aws-sdk-ecr" in n, n; print("cargo auditable: %d packages embedded" % len(n))' "$prefix/audit.z"
grep -c '"purl"' "$prefix/dist/$base/sbom.cdx.json" >/dev/null || { echo "test.sh: the SBOM lists no component" >&2; exit 1; }
! grep -q -a -e '/\.cargo/registry/' -e "$repo" "$release_bin" || { echo "test.sh: the release binary carries builder paths" >&2; exit 1; }
# The man page: lint-clean, and every page it names is installed.
man_dir="$prefix/archive/share/man"
lint=$(mandoc -T lint -W warning "$man_dir"/man1/*.1 2>&1 || true)
[ -z "$lint" ] || { echo "test.sh: mandoc -T lint:" >&2; echo "$lint" >&2; exit 1; }
groff_out=$(groff -ww -z -man "$man_dir"/man1/*.1 2>&1)
[ -z "$groff_out" ] || { echo "test.sh: groff -ww:" >&2; echo "$groff_out" >&2; exit 1; }
for ref in $(sed 's/\\f[BIR]//g; s/\\-/-/g' "$man_dir"/man1/*.1 | grep -o 'docker-credential-ecr-role[a-z-]*([0-9])' | sort -u); do
  page=${ref%(*}; section=${ref#*(}; section=${section%)}
  [ -f "$man_dir/man$section/$page.$section" ] || { echo "test.sh: the man page names $ref, which is not installed" >&2; exit 1; }
done

phase "benchmark against the peers (a report: timings are not tests, a MISS does not fail)"
# The static release binary, with the dynamic build of the same sources as the baseline.
ECR_ROLE_BENCH_HELPER="$release_bin" ECR_ROLE_BENCH_BASELINE="$repo/target/release/docker-credential-ecr-role" \
  install/bench.sh --quick

if [ -n "${debootstrap_pid:-}" ]; then
  phase "waiting for the Debian 11 root (debootstrap)"
  wait "$debootstrap_pid" || { echo "test.sh: debootstrap failed:" >&2; tail -20 "$roots/bullseye.log" >&2; exit 1; }
  debootstrap_pid=""
fi

phase "tests (unit, SDK conformance, moto with IAM enforcement, hostile neighbours, Debian 11 and empty roots, docker end to end)"
# The package check first, in the shared target directory (dependencies built once);
# cargo test then rebuilds the checkout's own crate. Not quiet: a quiet cargo drops
# its warnings, and they are what this looks for.
CARGO_TERM_QUIET=false cargo package --locked --allow-dirty 2>"$prefix/package.log" \
  || { cat "$prefix/package.log" >&2; exit 1; }
if grep -i 'warning' "$prefix/package.log"; then
  echo "test.sh: cargo package warned (above)" >&2
  exit 1
fi
export ECR_ROLE_RELEASE_BIN="$release_bin" ECR_ROLE_DEBIAN11_ROOT="$roots/bullseye"
# Built quietly first; then run with the test harness's usual output (a name and a
# result per test, and each binary's `test result:` line). On Linux nothing may be
# skipped: an ignored test fails the run.
cargo test --locked --no-run
CARGO_TERM_QUIET=false cargo test --locked 2>&1 | tee "$prefix/test.log"
if grep -E '^test result: .* [1-9][0-9]* ignored' "$prefix/test.log"; then
  echo "test.sh: tests were skipped on Linux (above); every test must run here" >&2
  exit 1
fi
phase "nothing left outside target/ and the temporary directories"
snapshot_outside >"$prefix/outside.after"
if comm -13 "$prefix/outside.before" "$prefix/outside.after" | grep .; then
  echo "test.sh: the run left the files above in $tmp_root or $HOME" >&2
  exit 1
fi
phase "all checks passed"
