#!/usr/bin/env bash
# Builds the release archive for one target:
#   install/release.sh [--target TRIPLE] [--out DIR]
# → DIR/docker-credential-ecr-role-VERSION-TARGET.tar.gz (bin/, share/man/man1/,
#   bash, zsh and fish completions, LICENSE, README.md, SECURITY.md) and a .sha256
#   file beside it. Default target: this machine's; default DIR: dist/.
# The release workflow (.github/workflows/release.yml) runs it for every platform;
# CI runs it for the host so the archive layout cannot rot.
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

name=docker-credential-ecr-role
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$repo/Cargo.toml" | head -1)
target_dir=$(cd "$repo" && cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
# The host build (shared with install.sh's target/release) also writes the man page
# and completions, which are the same for every target.
cargo build --release --locked --quiet --manifest-path "$repo/Cargo.toml"
generator="$target_dir/release/$name"
binary=$generator
if [ "$target" != "$host" ]; then
  cargo build --release --locked --quiet --manifest-path "$repo/Cargo.toml" --target "$target"
  binary="$target_dir/$target/release/$name"
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

mkdir -p "$out"
archive="$out/$name-$version-$target.tar.gz"
tar -czf "$archive" -C "$stage" "$(basename "$root")"
( cd "$out" && { sha256sum "$(basename "$archive")" 2>/dev/null || shasum -a 256 "$(basename "$archive")"; } >"$(basename "$archive").sha256" )
echo "release.sh: $archive"
