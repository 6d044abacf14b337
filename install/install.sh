#!/usr/bin/env bash
# Installs docker-credential-ecr-role from source, on Linux or macOS:
#   install/install.sh [--prefix DIR] [--setup SETUP-ARGS...]
# builds the release binary with cargo, installs it into DIR (default ~/.local/bin),
# and with --setup runs `docker-credential-ecr-role setup SETUP-ARGS...` afterwards, e.g.
#   install/install.sh --setup --registry 123456789012.dkr.ecr.ap-northeast-1.amazonaws.com --profile ECRLoginAndPushRoleProfile
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
prefix="$HOME/.local/bin"
setup_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix=${2:?--prefix needs a directory}; shift 2 ;;
    --setup) shift; setup_args=("$@"); [ ${#setup_args[@]} -gt 0 ] || setup_args=(--help); break ;;
    -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

command -v cargo >/dev/null || {
  echo "install.sh: cargo is not installed: get Rust from https://rustup.rs (or your package manager), then run this again" >&2
  exit 1
}

echo "install.sh: building (cargo build --release --locked)"
cargo build --release --locked --quiet --manifest-path "$repo/Cargo.toml"
target_dir=$(cd "$repo" && cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
mkdir -p "$prefix"
install -m 0755 "$target_dir/release/docker-credential-ecr-role" "$prefix/docker-credential-ecr-role"
echo "install.sh: installed $prefix/docker-credential-ecr-role ($("$prefix/docker-credential-ecr-role" version))"

case ":$PATH:" in
  *":$prefix:"*) ;;
  *) echo "install.sh: warning: $prefix is not on PATH; docker finds credential helpers on PATH: add it, e.g. export PATH=\"$prefix:\$PATH\"" >&2 ;;
esac

if [ ${#setup_args[@]} -gt 0 ]; then
  "$prefix/docker-credential-ecr-role" setup "${setup_args[@]}"
fi
