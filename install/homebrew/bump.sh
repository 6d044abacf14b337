#!/usr/bin/env bash
# Points the Homebrew formula at a release: bump.sh VERSION TARBALL
# (TARBALL is the release's source archive, as downloaded from the url the formula
# names). The formula's url, homepage and head come from Cargo.toml's `repository`,
# the one setting that names the repository (the release workflow downloads TARBALL
# from the same). Refuses a VERSION that differs from Cargo.toml's. Works on macOS and Linux.
set -euo pipefail
version=${1:?usage: bump.sh VERSION TARBALL}
tarball=${2:?usage: bump.sh VERSION TARBALL}
here=$(cd "$(dirname "$0")" && pwd)
formula="$here/Formula/docker-credential-ecr-role.rb"
cargo_version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$here/../../Cargo.toml" | head -1)
repository=$(sed -n 's/^repository = "\(.*\)"/\1/p' "$here/../../Cargo.toml" | head -1)
case "$repository" in https://github.com/*/*) ;; *) echo "bump.sh: Cargo.toml's repository ($repository) is not a GitHub repository URL" >&2; exit 1 ;; esac
[ "$version" = "$cargo_version" ] || { echo "bump.sh: Cargo.toml says $cargo_version, not $version" >&2; exit 1; }
if command -v sha256sum >/dev/null; then
  sha=$(sha256sum "$tarball" | cut -d' ' -f1)
else
  sha=$(shasum -a 256 "$tarball" | cut -d' ' -f1)
fi
# `sed -i.bak` means the same to BSD (macOS) and GNU sed.
sed -i.bak -e "s|^  url \".*\"|  url \"$repository/archive/refs/tags/v$version.tar.gz\"|" \
  -e "s|^  homepage \".*\"|  homepage \"$repository\"|" \
  -e "s|^  head \"[^\"]*\"|  head \"$repository.git\"|" \
  -e "s|^  sha256 \".*\"|  sha256 \"$sha\"|" "$formula"
rm -f "$formula.bak"
ruby -c "$formula" >/dev/null
echo "formula now at $version ($sha)"
