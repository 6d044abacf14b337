#!/usr/bin/env bash
# The whole mission in one command, without an AWS account: a local AWS emulator
# (moto) with the user story's least-privilege IAM setup and enforcement on, a
# local registry that accepts the emulator's ECR password, a private Docker
# engine, and then a plain `docker push` to test-repos with no `docker login`.
#
# Everything runs in a temporary directory, on free ports, on a private socket;
# the machine's own ~/.docker, ~/.aws and /etc/hosts are not touched, and
# everything started is stopped on exit. Run as root on Debian (dockerd needs it).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
venv=${ECR_ROLE_TEST_VENV:-$repo/.venv}
host=123456789012.dkr.ecr.ap-northeast-1.amazonaws.com
password=123456789012-auth-token

step() { printf '\n\033[1m==> [%3ds] %s\033[0m\n' "$SECONDS" "$*"; }

# What the demo cannot install itself: a Rust toolchain recent enough for the crate.
need=$(sed -n 's/^rust-version = "\(.*\)"/\1/p' "$repo/Cargo.toml")
have=$({ cargo --version 2>/dev/null || true; } | sed -n 's/^cargo \([0-9.]*\).*/\1/p')
if [ -z "$have" ] || [ "$(printf '%s\n%s\n' "$need" "$have" | sort -V | head -1)" != "$need" ]; then
  echo "demo: needs Rust $need or newer (found: ${have:-none}); install it with rustup (https://rustup.rs): Debian's cargo is too old" >&2
  exit 1
fi

# The demo's own environment: nothing of the caller's AWS, docker or helper settings
# leaks in (they would send it to the caller's files, or down another path).
unset ECR_ROLE_CONFIG ECR_ROLE_CACHE_DIR ECR_ROLE_DISABLE_CACHE AWS_ECR_DISABLE_CACHE ECR_ROLE_PROFILE \
  ECR_ROLE_LOG AWS_PROFILE AWS_DEFAULT_PROFILE AWS_CONFIG_FILE AWS_SHARED_CREDENTIALS_FILE AWS_ACCESS_KEY_ID \
  AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_REGION AWS_DEFAULT_REGION XDG_CONFIG_HOME XDG_CACHE_HOME \
  DOCKER_HOST DOCKER_CONFIG DOCKER_CONTEXT

step "Installing what the demo needs (install/test-deps.sh: Debian packages, the Python venv with moto)"
"$repo/install/test-deps.sh"

step "Building the helper and the test proxy (cargo build --release; a first build takes minutes)"
# (Its stderr is silenced: bash reports a sleep it kills as "Terminated".)
( while sleep 60; do echo "    … still building (${SECONDS}s)"; done ) 2>/dev/null &
ticker=$!
trap 'pkill -P "$ticker" 2>/dev/null; kill "$ticker" 2>/dev/null' EXIT
cargo build --release --quiet --manifest-path "$repo/Cargo.toml" --bin docker-credential-ecr-role --example aws_proxy
pkill -P "$ticker" 2>/dev/null || true
kill "$ticker" 2>/dev/null || true
wait "$ticker" 2>/dev/null || true
trap - EXIT
helper="$repo/target/release/docker-credential-ecr-role"

# What lies outside the demo's directory, before: it must be the same after.
real_home=$HOME
# (Only what the demo's programs could create: the rest of /run and /opt belongs to the
# machine and changes on its own.)
outside() {
  { find /run/docker /run/containerd /opt/containerd /var/lib/docker /var/lib/containerd 2>/dev/null || true; } | sort
  sha256sum /etc/hosts
  { find "$real_home/.docker" "$real_home/.aws" -printf '%p %s %T@\n' 2>/dev/null || true; } | sort
}
before_demo=$(outside)
# dockerd and its containerd create these on their own; the demo removes the ones it made.
engine_dirs=(/run/docker/plugins /run/docker /opt/containerd/bin /opt/containerd/lib /opt/containerd)
made_by_engine=()
for d in "${engine_dirs[@]}"; do [ -e "$d" ] || made_by_engine+=("$d"); done

work=$(mktemp -d /tmp/ecr-role-demo.XXXXXX)
pids=()
dockerd_pid=
cleanup() {
  set +e
  if [ -n "$dockerd_pid" ]; then
    kill -TERM "$dockerd_pid" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$dockerd_pid" 2>/dev/null
    dockerd_pid=
  fi
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
  pids=()
  for d in "${made_by_engine[@]}"; do rmdir "$d" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { "$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 300); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "demo: $2 did not start" >&2; exit 1
}

step "Starting the AWS emulator (moto) with the user story's IAM setup, enforcement on"
moto_port=$(free_port)
"$venv/bin/moto_server" -H 127.0.0.1 -p "$moto_port" >"$work/moto.log" 2>&1 &
pids+=($!)
wait_port "$moto_port" "moto server"
endpoint="http://127.0.0.1:$moto_port"
keys=$("$venv/bin/python" "$repo/tests/support/seed.py" "$endpoint")
"$repo/target/release/examples/aws_proxy" "$endpoint" >"$work/proxy.endpoint" &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/proxy.endpoint" ] && break; sleep 0.1; done
# The helper talks to the emulator through the tests' proxy: it gives tokens ECR's
# real 12-hour expiry (moto's are already expired) and counts every AWS call.
proxy=$(head -1 "$work/proxy.endpoint")
# The calls a command made: `aws_calls` before it prints the counts so far (JSON), and
# `aws_calls "$before"` after it prints what was added since, or "none".
aws_calls() { "$venv/bin/python" -c 'import json,sys,urllib.request
c = json.load(urllib.request.urlopen(sys.argv[1] + "/proxy-api/counts"))
if len(sys.argv) < 3:
    print(json.dumps(c)); sys.exit()
b = json.loads(sys.argv[2])
d = {k: v - b.get(k, 0) for k, v in c.items() if v > b.get(k, 0) and not k.startswith("sts:GetCallerIdentity")}
print(", ".join(f"{k} x{v}" for k, v in sorted(d.items())) or "none")' "$proxy" "$@"; }
key_id=$("$venv/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["access_key_id"])' <<<"$keys")
secret=$("$venv/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["secret_access_key"])' <<<"$keys")
echo "IAM user user-for-switch (may only sts:AssumeRole into ECRLoginAndPushRole), role ECRLoginAndPushRole (may push to test-repos), repository test-repos"

step "The user's ~/.aws, as in the user story (\"~\" is the demo's temporary HOME, $work/home)"
export HOME="$work/home" AWS_ENDPOINT_URL="$proxy"
mkdir -p "$HOME/.aws"
printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' "$key_id" "$secret" >"$HOME/.aws/credentials"
chmod 600 "$HOME/.aws/credentials"
# The user story's profile (and one for a role the user may not assume): the fixture
# the tests and the benchmark use too.
cp "$repo/tests/fixtures/aws-config" "$HOME/.aws/config"
cat "$HOME/.aws/config"

step "Who am I? (aws sts get-caller-identity), before and after the switch"
"$venv/bin/aws" sts get-caller-identity --output json
"$venv/bin/aws" sts get-caller-identity --profile ECRLoginAndPushRoleProfile --region ap-northeast-1 --output json

step "Starting a registry that accepts AWS / the emulator's ECR password"
reg_port=$(free_port)
htpasswd -Bbn AWS "$password" >"$work/htpasswd"
cat >"$work/registry.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $work/registry
http:
  addr: 127.0.0.1:$reg_port
auth:
  htpasswd:
    realm: demo
    path: $work/htpasswd
EOF
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
pids+=($!)
wait_port "$reg_port" "docker-registry"
registry="$host:$reg_port"

step "Starting a private Docker engine that resolves $host to 127.0.0.1"
(cat /etc/hosts; echo "127.0.0.1 $host") >"$work/hosts"
unshare -m sh -c "mount --bind '$work/hosts' /etc/hosts && exec dockerd \
  --data-root '$work/docker-data' --exec-root '$work/docker-exec' --pidfile '$work/docker.pid' \
  --host 'unix://$work/docker.sock' --iptables=false --ip-masq=false --bridge=none \
  --insecure-registry '$registry'" >"$work/dockerd.log" 2>&1 &
dockerd_pid=$!
export DOCKER_HOST="unix://$work/docker.sock"
for _ in $(seq 300); do docker version >/dev/null 2>&1 && break; sleep 0.2; done
docker version --format 'engine {{.Server.Version}}, CLI {{.Client.Version}}'

step "Wiring docker to the helper: docker-credential-ecr-role setup (in a temporary DOCKER_CONFIG)"
export DOCKER_CONFIG="$work/docker-config" PATH="$(dirname "$helper"):$PATH"
docker-credential-ecr-role setup --registry "$registry" --profile ECRLoginAndPushRoleProfile
echo "$DOCKER_CONFIG/config.json:"; cat "$DOCKER_CONFIG/config.json"

step "Checking the whole chain: docker-credential-ecr-role doctor"
docker-credential-ecr-role doctor "$registry"

step "docker push $registry/test-repos:latest (no docker login)"
echo "hello from docker-credential-ecr-role" >"$work/hello.txt"
tar cf "$work/image.tar" -C "$work" hello.txt
docker import "$work/image.tar" "$registry/test-repos:latest" >/dev/null
before=$(aws_calls)
docker push "$registry/test-repos:latest"
echo "AWS calls this push made: $(aws_calls "$before")   (the role, then the token)"

step "Pushing again: the token comes from the cache, no AWS call"
before=$(aws_calls)
docker import "$work/image.tar" "$registry/test-repos:again" >/dev/null
docker push "$registry/test-repos:again"
made=$(aws_calls "$before")
echo "AWS calls this push made: $made"
[ "$made" = none ] || { echo "demo: the second push should have made no AWS call" >&2; exit 1; }
ls -l "$HOME/.cache/docker-credential-ecr-role" | sed 's/^/    /'

step "docker logout $registry forgets the token (the helper's erase)"
docker logout "$registry"
if ls "$HOME/.cache/docker-credential-ecr-role"/token-* >/dev/null 2>&1; then
  echo "demo: the token should be gone after docker logout" >&2; exit 1
fi
echo "no token left in ~/.cache/docker-credential-ecr-role"

step "The registry's tag list for test-repos"
"$venv/bin/python" - "$reg_port" "$password" <<'EOF'
import base64, sys, urllib.request
req = urllib.request.Request(f"http://127.0.0.1:{sys.argv[1]}/v2/test-repos/tags/list")
req.add_header("Authorization", "Basic " + base64.b64encode(f"AWS:{sys.argv[2]}".encode()).decode())
print(urllib.request.urlopen(req).read().decode())
EOF

step "And with the user's own profile (no role), the push is refused, with the reason"
docker import "$work/image.tar" "$registry/test-repos:denied" >/dev/null
if ECR_ROLE_PROFILE=default docker push "$registry/test-repos:denied"; then
  echo "demo: the push without the role should have failed" >&2; exit 1
fi

step "Cleaning up, and checking that nothing is left outside the demo's directory"
cleanup
trap - EXIT
if [ "$(outside)" != "$before_demo" ]; then
  echo "demo: left something behind:" >&2
  diff <(echo "$before_demo") <(outside) >&2
  exit 1
fi
echo "nothing left behind: /run/docker, /run/containerd, /opt/containerd, /var/lib/docker, /var/lib/containerd, /etc/hosts, $real_home/.docker and $real_home/.aws are as they were"

step "Done: the push went through the role with no docker login"
