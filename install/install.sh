#!/usr/bin/env bash
# Installs docker-credential-ecr-role, on Linux or macOS, from source, from a release
# archive, or from the unpacked archive this script came in:
#   install.sh [--prefix DIR] [--archive FILE] [--setup SETUP-ARGS...]
# The binary goes into DIR/bin, the man page into DIR/share/man/man1 and the bash,
# zsh and fish completions under DIR/share (default DIR: ~/.local).
# - In a checkout (install/install.sh): builds the release binary with cargo (needs
#   a Rust toolchain, see README).
# - In an unpacked release archive (./install.sh next to bin/): installs that binary.
# - With --archive FILE: checks FILE against FILE.sha256 first (a mismatch or a
#   missing checksum is refused and nothing is installed), then installs from it.
# With --setup it runs `docker-credential-ecr-role setup SETUP-ARGS...` afterwards, e.g.
#   install.sh --setup --registry 123456789012.dkr.ecr.ap-northeast-1.amazonaws.com --profile ECRLoginAndPushRoleProfile
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
name=docker-credential-ecr-role
prefix="$HOME/.local"
archive=""
setup_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix=${2:?--prefix needs a directory}; shift 2 ;;
    --archive) archive=${2:?--archive needs a release archive}; shift 2 ;;
    --setup) shift; setup_args=("$@"); [ ${#setup_args[@]} -gt 0 ] || setup_args=(--help); break ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

sha256_of() { if command -v sha256sum >/dev/null; then sha256sum "$1"; else shasum -a 256 "$1"; fi | cut -d' ' -f1; }

# Where the files come from: an unpacked archive (`root`), or a build from source.
root=""
if [ -n "$archive" ]; then
  [ -f "$archive" ] || { echo "install.sh: no such archive: $archive" >&2; exit 1; }
  [ -f "$archive.sha256" ] || {
    echo "install.sh: refusing $archive: its checksum file $archive.sha256 is missing (download it from the same release)" >&2
    exit 1
  }
  expected=$(cut -d' ' -f1 <"$archive.sha256")
  actual=$(sha256_of "$archive")
  [ "$expected" = "$actual" ] || {
    echo "install.sh: refusing $archive: its SHA-256 is $actual, but $archive.sha256 says $expected (a damaged or altered download); nothing was installed" >&2
    exit 1
  }
  unpacked=$(mktemp -d)
  trap 'rm -rf "$unpacked"' EXIT
  tar -xzf "$archive" -C "$unpacked"
  root=$(find "$unpacked" -mindepth 1 -maxdepth 1 -type d | head -1)
elif [ -x "$here/bin/$name" ]; then
  root=$here
fi

mkdir -p "$prefix"
prefix=$(cd "$prefix" && pwd)
bin="$prefix/bin"
share="$prefix/share"
mkdir -p "$bin"
if [ -n "$root" ]; then
  [ -x "$root/bin/$name" ] || { echo "install.sh: ${archive:-$root} holds no bin/$name" >&2; exit 1; }
  install -m 0755 "$root/bin/$name" "$bin/$name"
  # The archive's own man page and completions (made by the release build).
  mkdir -p "$share"
  cp -R "$root/share/." "$share/"
else
  repo=$(cd "$here/.." && pwd)
  [ -f "$repo/Cargo.toml" ] || { echo "install.sh: run it from a checkout (install/install.sh), an unpacked release archive, or with --archive FILE" >&2; exit 1; }
  command -v cargo >/dev/null || {
    echo "install.sh: cargo is not installed: get Rust from https://rustup.rs (or your package manager), then run this again" >&2
    exit 1
  }
  echo "install.sh: building (cargo build --release --locked)"
  cargo build --release --locked --quiet --manifest-path "$repo/Cargo.toml"
  target_dir=$(cd "$repo" && cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
  install -m 0755 "$target_dir/release/$name" "$bin/$name"
  # The man page and completions, from the installed binary itself.
  mkdir -p "$share/man/man1" "$share/bash-completion/completions" "$share/zsh/site-functions" \
    "$share/fish/vendor_completions.d"
  "$bin/$name" man >"$share/man/man1/$name.1"
  "$bin/$name" completions bash >"$share/bash-completion/completions/$name"
  "$bin/$name" completions zsh >"$share/zsh/site-functions/_$name"
  "$bin/$name" completions fish >"$share/fish/vendor_completions.d/$name.fish"
fi

helper="$bin/$name"
echo "install.sh: installed $helper ($("$helper" version)), its man page and completions under $share"

case ":$PATH:" in
  *":$bin:"*) ;;
  *) echo "install.sh: note: $bin is not on PATH; docker finds credential helpers on PATH: add it, e.g. export PATH=\"$bin:\$PATH\"" ;;
esac
# zsh reads completions only from the directories on its fpath; bash and fish find
# theirs under ~/.local/share and /usr/local/share on their own.
case "$share/zsh/site-functions" in
  /usr/share/zsh/site-functions | /usr/local/share/zsh/site-functions | /opt/homebrew/share/zsh/site-functions) ;;
  *) echo "install.sh: note: for zsh completion, add to ~/.zshrc before compinit: fpath=($share/zsh/site-functions \$fpath)" ;;
esac

if [ ${#setup_args[@]} -gt 0 ]; then
  "$helper" setup "${setup_args[@]}"
fi
