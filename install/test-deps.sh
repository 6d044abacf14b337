#!/usr/bin/env bash
# Installs everything the test suite, the demo and the benchmark need on a
# Debian machine of this project's kind: Debian packages (a Docker engine, a
# registry, htpasswd, ...) and a Python venv with moto server, boto3 and the
# AWS CLI v1 (the users' manual flow, used as a peer in the benchmark).
#
# Idempotent: a second run only checks. Run as root (or with sudo available).
# The venv lives in .venv at the repository root unless ECR_ROLE_TEST_VENV says otherwise.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
venv=${ECR_ROLE_TEST_VENV:-$repo/.venv}

apt_packages=(docker.io docker-registry apache2-utils python3-venv ruby amazon-ecr-credential-helper util-linux strace time skopeo)

sudo_if_needed() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
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

command -v cargo >/dev/null || { echo "test-deps: cargo is missing: install a Rust toolchain (rustup)" >&2; exit 1; }
echo "test-deps: ready (venv $venv)"
