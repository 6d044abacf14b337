#!/usr/bin/env bash
# Builds the release archive for one target:
#   install/release.sh [--target TRIPLE] [--out DIR]
# → DIR/docker-credential-ecr-role-VERSION-TARGET.tar.gz and a .sha256 file beside it.
# The archive holds bin/ (the binary), share/ (the man page; bash, zsh and fish
# completions), install.sh (which installs it: see the README), LICENSE, README.md,
# SECURITY.md, THIRD-PARTY-LICENSES.txt (every dependency's licence texts) and
# sbom.cdx.json (a CycloneDX SBOM of what is linked in), both by install/notices.py.
# Default target: this machine's; default DIR: dist/.
#
# How the binary is built:
# - `cargo auditable build`: the dependency list is embedded in the binary
#   (`rust-audit-info BINARY`, or `cargo audit bin`, reads it back);
# - builder paths remapped: no home, checkout or ~/.cargo path is left in the binary;
# - on Linux, statically linked (`-C target-feature=+crt-static`): one binary for every
#   Linux with a 3.2+ kernel, glibc of any version or none (Alpine). It asks no NSS
#   module for anything (see src/platform.rs and src/aws/http.rs), so static glibc's
#   one hazard never arises.
# The release workflow (.github/workflows/release.yml) runs it for every platform;
# CI (install/test.sh) runs it for the host and tests the archive.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
host=$(rustc -vV | sed -n 's/^host: //p')
target=$host
out="$repo/dist"
while [ $# -gt 0 ]; do
  case "$1" in
    --target) target=${2:?--target needs a triple}; shift 2 ;;
    --out) out=${2:?--out needs a directory}; shift 2 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "release.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
command -v cargo-auditable >/dev/null || {
  echo "release.sh: cargo-auditable is missing: cargo install --locked cargo-auditable (install/test-deps.sh does)" >&2
  exit 1
}

name=docker-credential-ecr-role
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$repo/Cargo.toml" | head -1)
target_dir=$(cd "$repo" && cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
cargo_home=${CARGO_HOME:-$HOME/.cargo}
# The most specific prefix last: rustc applies the last remapping that matches.
flags="--remap-path-prefix=$HOME=/home --remap-path-prefix=${RUSTUP_HOME:-$HOME/.rustup}=/rustup"
flags="$flags --remap-path-prefix=$cargo_home=/cargo --remap-path-prefix=$repo=/build"
case "$target" in
  # getrandom's default looks up glibc's getrandom() with dlsym, which a static binary
  # cannot do; it would fall back to /dev/urandom (absent in an empty root): link the
  # function itself (glibc 2.25+, kernel 3.17+).
  *-linux-gnu) flags="$flags -C target-feature=+crt-static --cfg getrandom_backend=\"linux_getrandom\"" ;;
esac
# --target always, so these flags never reach build scripts and proc macros. Exported:
# the notices and the SBOM below see the same target features (crt-static's resolver).
export RUSTFLAGS="$flags"
cargo auditable build --release --locked --quiet \
  --manifest-path "$repo/Cargo.toml" --target "$target"
binary="$target_dir/$target/release/$name"
generator=$binary
if [ "$target" != "$host" ]; then
  # A binary for another machine cannot write the man page and completions here.
  RUSTFLAGS="" cargo build --release --locked --quiet --manifest-path "$repo/Cargo.toml"
  generator="$target_dir/release/$name"
fi

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root="$stage/$name-$version-$target"
mkdir -p "$root/bin" "$root/share/man/man1" "$root/share/bash-completion/completions" \
  "$root/share/zsh/site-functions" "$root/share/fish/vendor_completions.d"
install -m 0755 "$binary" "$root/bin/$name"
"$generator" man >"$root/share/man/man1/$name.1"
"$generator" completions bash >"$root/share/bash-completion/completions/$name"
"$generator" completions zsh >"$root/share/zsh/site-functions/_$name"
"$generator" completions fish >"$root/share/fish/vendor_completions.d/$name.fish"
cp "$repo/LICENSE" "$repo/README.md" "$repo/SECURITY.md" "$root/"
install -m 0755 "$repo/install/install.sh" "$root/install.sh"
# The notices and the SBOM of the shipped binary: its target's dependencies, no dev-dependencies.
python3 "$repo/install/notices.py" --manifest-path "$repo/Cargo.toml" --target "$target" \
  --sbom "$root/sbom.cdx.json" >"$root/THIRD-PARTY-LICENSES.txt"

mkdir -p "$out"
archive="$out/$name-$version-$target.tar.gz"
tar -czf "$archive" -C "$stage" "$(basename "$root")"
( cd "$out" && { sha256sum "$(basename "$archive")" 2>/dev/null || shasum -a 256 "$(basename "$archive")"; } >"$(basename "$archive").sha256" )
echo "release.sh: $archive"
