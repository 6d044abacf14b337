#!/usr/bin/env bash
# Installs docker-credential-ecr-role, on Linux or macOS, from source or from a
# release archive:
#   install/install.sh [--prefix DIR] [--share DIR] [--archive FILE] [--setup SETUP-ARGS...]
# From source (needs a Rust toolchain, see README) it builds the release binary with
# cargo; with --archive it takes the binary from a downloaded release archive. The
# binary goes into DIR (default ~/.local/bin), the man page and the bash, zsh and fish
# completions under the share directory (default: DIR/../share). With --setup it runs
# `docker-credential-ecr-role setup SETUP-ARGS...` afterwards, e.g.
#   install/install.sh --setup --registry 123456789012.dkr.ecr.ap-northeast-1.amazonaws.com --profile ECRLoginAndPushRoleProfile
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
name=docker-credential-ecr-role
prefix="$HOME/.local/bin"
share=""
archive=""
setup_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix=${2:?--prefix needs a directory}; shift 2 ;;
    --share) share=${2:?--share needs a directory}; shift 2 ;;
    --archive) archive=${2:?--archive needs a release archive}; shift 2 ;;
    --setup) shift; setup_args=("$@"); [ ${#setup_args[@]} -gt 0 ] || setup_args=(--help); break ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
mkdir -p "$prefix"
prefix=$(cd "$prefix" && pwd)
share=${share:-$(dirname "$prefix")/share}

if [ -n "$archive" ]; then
  unpacked=$(mktemp -d)
  trap 'rm -rf "$unpacked"' EXIT
  tar -xzf "$archive" -C "$unpacked"
  root=$(find "$unpacked" -mindepth 1 -maxdepth 1 -type d | head -1)
  [ -x "$root/bin/$name" ] || { echo "install.sh: $archive holds no bin/$name" >&2; exit 1; }
  install -m 0755 "$root/bin/$name" "$prefix/$name"
  # The archive's own man page and completions (the binary may be for another machine).
  mkdir -p "$share"
  cp -R "$root/share/." "$share/"
else
  command -v cargo >/dev/null || {
    echo "install.sh: cargo is not installed: get Rust from https://rustup.rs (or your package manager), then run this again" >&2
    exit 1
  }
  echo "install.sh: building (cargo build --release --locked)"
  cargo build --release --locked --quiet --manifest-path "$repo/Cargo.toml"
  target_dir=$(cd "$repo" && cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
  install -m 0755 "$target_dir/release/$name" "$prefix/$name"
fi

helper="$prefix/$name"
if [ -z "$archive" ]; then
  # From source: the man page and completions, from the installed binary itself.
  mkdir -p "$share/man/man1" "$share/bash-completion/completions" "$share/zsh/site-functions" \
    "$share/fish/vendor_completions.d"
  "$helper" man >"$share/man/man1/$name.1"
  "$helper" completions bash >"$share/bash-completion/completions/$name"
  "$helper" completions zsh >"$share/zsh/site-functions/_$name"
  "$helper" completions fish >"$share/fish/vendor_completions.d/$name.fish"
fi
echo "install.sh: installed $helper ($("$helper" version)), its man page and completions under $share"

case ":$PATH:" in
  *":$prefix:"*) ;;
  *) echo "install.sh: note: $prefix is not on PATH; docker finds credential helpers on PATH: add it, e.g. export PATH=\"$prefix:\$PATH\"" ;;
esac

if [ ${#setup_args[@]} -gt 0 ]; then
  "$helper" setup "${setup_args[@]}"
fi
