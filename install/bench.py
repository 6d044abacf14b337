"""Benchmarks docker-credential-ecr-role against its peers in one run, and prints a table.

Run through install/bench.sh (it installs the peers and builds the release binary).
Peers: the Go helper docker-credential-ecr-login (Debian's amazon-ecr-credential-helper)
on its own best case (cache primed, static keys, no network), and the users' manual
flow `aws ecr get-login-password --profile ...` (AWS CLI from PyPI), both against the
same local moto server with the user story's IAM setup and enforcement on.

Each command is started with posix_spawn and reaped with wait4, so the wall time
includes the process start-up a docker command pays, and wait4's rusage gives the
peak memory. Medians are reported. This prints numbers; it asserts nothing.
"""
import argparse
import base64
import datetime
import hashlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# The binary under test: ECR_ROLE_BENCH_HELPER (install/test.sh passes the release
# archive's static binary), else the release build of the checkout. With
# ECR_ROLE_BENCH_BASELINE (another build, e.g. the dynamic target/release one) a row
# compares the two cache hits.
HELPER = Path(os.environ.get("ECR_ROLE_BENCH_HELPER") or REPO / "target" / "release" / "docker-credential-ecr-role")
BASELINE = os.environ.get("ECR_ROLE_BENCH_BASELINE")
PROXY = REPO / "target" / "release" / "examples" / "aws_proxy"
VENV_BIN = Path(sys.executable).parent
HOST = "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com"
ROLE_PROFILE = "ECRLoginAndPushRoleProfile"
# The user story's ~/.aws/config: the fixture the tests and the demo use too.
AWS_CONFIG = (REPO / "tests" / "fixtures" / "aws-config").read_text()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, what):
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"bench: {what} did not start")


def spawn(argv, env, stdin_path):
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, stdin_path, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0),
        (os.POSIX_SPAWN_OPEN, 2, "/dev/null", os.O_WRONLY, 0),
    ]
    return os.posix_spawn(argv[0], argv, env, file_actions=actions)


def run_once(argv, env, stdin_path):
    """(seconds, exit status) of one run."""
    start = time.perf_counter()
    pid = spawn(argv, env, stdin_path)
    _, status = os.waitpid(pid, 0)
    return time.perf_counter() - start, os.waitstatus_to_exitcode(status)


def peak_rss_kb(argv, env, stdin_path, runs=5):
    """The largest peak RSS (KiB) over a few runs, from GNU time: wait4's own figure would
    include the memory of the Python process that spawned the command."""
    gnu_time = shutil.which("time") or "/usr/bin/time"
    peaks = []
    with tempfile.NamedTemporaryFile() as out:
        for _ in range(runs):
            with open(stdin_path) as stdin:
                subprocess.run([gnu_time, "-f", "%M", "-o", out.name] + argv, env=env, stdin=stdin,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            peaks.append(int(Path(out.name).read_text().split()[-1]))
    return max(peaks)


def check_runs(name, argv, env, stdin_text):
    out = subprocess.run(argv, env=env, input=stdin_text.encode(), capture_output=True)
    if out.returncode != 0:
        sys.exit(f"bench: {name} failed: {out.stdout.decode()} {out.stderr.decode()}")


def measure(name, argv, env, stdin_path, runs, warmup, prepare=None):
    """Median wall time (ms) over `runs`, after `warmup` runs."""
    times = []
    for i in range(warmup + runs):
        if prepare:
            prepare()
        seconds, code = run_once(argv, env, stdin_path)
        if code != 0:
            sys.exit(f"bench: {name} exited {code}")
        if i >= warmup:
            times.append(seconds * 1000)
    return statistics.median(times)


def burst(argv, env, stdin_path, n, prepare):
    """Wall time (ms) for n concurrent runs, after `prepare`."""
    prepare()
    start = time.perf_counter()
    pids = [spawn(argv, env, stdin_path) for _ in range(n)]
    for pid in pids:
        _, status, _ = os.wait4(pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit("bench: a burst get failed")
    return (time.perf_counter() - start) * 1000


def emulator_time(endpoint, keys, runs):
    """Median ms of AssumeRole + GetAuthorizationToken from a warm in-process boto3 client:
    the emulator's own time for the two requests (plus botocore's, so an upper bound)."""
    import boto3

    user = dict(aws_access_key_id=keys["access_key_id"], aws_secret_access_key=keys["secret_access_key"])
    sts = boto3.client("sts", endpoint_url=endpoint, region_name="ap-northeast-1", **user)
    samples = []
    for i in range(runs + 3):
        start = time.perf_counter()
        creds = sts.assume_role(RoleArn="arn:aws:iam::123456789012:role/ECRLoginAndPushRole",
                                RoleSessionName="bench")["Credentials"]
        assumed = time.perf_counter()
        # Building the ECR client is botocore's cost, not the emulator's: not timed.
        ecr = boto3.client("ecr", endpoint_url=endpoint, region_name="ap-northeast-1",
                           aws_access_key_id=creds["AccessKeyId"],
                           aws_secret_access_key=creds["SecretAccessKey"],
                           aws_session_token=creds["SessionToken"])
        ecr.get_authorization_token()  # warms the new client's connection
        token_start = time.perf_counter()
        ecr.get_authorization_token()
        end = time.perf_counter()
        if i >= 3:
            samples.append(((assumed - start) + (end - token_start)) * 1000)
    return statistics.median(samples)


def prime_ecr_login_cache(home, access_key_id):
    """Writes docker-credential-ecr-login's cache (0.6.x format) with a valid token."""
    md5_empty = hashlib.md5(b"").digest()
    prefix = "ap-northeast-1-" + base64.b64encode(access_key_id.encode() + md5_empty).decode() + "-"
    now = datetime.datetime.now(datetime.timezone.utc)
    fmt = lambda t: t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    entry = {
        "AuthorizationToken": base64.b64encode(b"AWS:123456789012-auth-token").decode(),
        "RequestedAt": fmt(now),
        "ExpiresAt": fmt(now + datetime.timedelta(hours=12)),
        "ProxyEndpoint": f"https://{HOST}",
        "Service": "ecr",
    }
    (home / ".ecr").mkdir(parents=True, exist_ok=True)
    (home / ".ecr" / "cache.json").write_text(
        json.dumps({"Registries": {prefix + "123456789012": entry}, "Version": "1.0"}))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer runs (CI)")
    args = ap.parse_args()
    runs, warmup, slow_runs = (15, 3, 3) if args.quick else (100, 10, 10)
    peer = shutil.which("docker-credential-ecr-login")
    if not HELPER.exists() or not PROXY.exists() or not peer:
        sys.exit("bench: run it through install/bench.sh (it builds the helper and installs the peers)")

    work = Path(tempfile.mkdtemp(prefix="ecr-role-bench."))
    moto = proxy = None
    try:
        moto_port = free_port()
        moto = subprocess.Popen([str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(moto_port)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(moto_port, "moto server")
        endpoint = f"http://127.0.0.1:{moto_port}"
        keys = json.loads(subprocess.run([sys.executable, str(REPO / "tests/support/seed.py"), endpoint],
                                         check=True, capture_output=True).stdout)
        # The test suite's own proxy (examples/aws_proxy.rs): a real 12-hour expiry for
        # moto's tokens, as in the tests and the demo.
        proxy = subprocess.Popen([str(PROXY), endpoint], stdout=subprocess.PIPE, text=True)
        proxy_endpoint = proxy.stdout.readline().strip()

        home = work / "home"
        (home / ".aws").mkdir(parents=True)
        (home / ".aws" / "credentials").write_text(
            f"[default]\naws_access_key_id = {keys['access_key_id']}\n"
            f"aws_secret_access_key = {keys['secret_access_key']}\n")
        (home / ".aws" / "config").write_text(AWS_CONFIG)
        settings = home / ".config" / "docker-credential-ecr-role" / "config.json"
        settings.parent.mkdir(parents=True)
        settings.write_text(json.dumps({"registries": {HOST: {"profile": ROLE_PROFILE}}}))
        cache_dir = home / ".cache" / "docker-credential-ecr-role"
        stdin = work / "stdin"
        stdin.write_text(HOST + "\n")

        base = {"HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        ours_proxy_env = dict(base, AWS_ENDPOINT_URL=proxy_endpoint)
        # A token belongs to the endpoint it came from (it is part of the cache key), so the
        # hit runs with the priming endpoint; tests/get.rs shows under strace that a hit
        # opens no connection.
        ours_hit_env = ours_proxy_env
        ours_cold_env = dict(base, AWS_ENDPOINT_URL=endpoint, ECR_ROLE_DISABLE_CACHE="1")
        get = [str(HELPER), "get"]

        # Prime our cache through the proxy (a real 12-hour expiry).
        check_runs("priming get", get, ours_proxy_env, HOST)
        check_runs("cache-hit get", get, ours_hit_env, HOST)
        peer_home = work / "peer-home"
        prime_ecr_login_cache(peer_home, "AKIAEXAMPLEBENCH0001")
        peer_env = {"HOME": str(peer_home), "PATH": base["PATH"], "AWS_ACCESS_KEY_ID": "AKIAEXAMPLEBENCH0001",
                    "AWS_SECRET_ACCESS_KEY": "unused", "AWS_EC2_METADATA_DISABLED": "true"}
        check_runs("docker-credential-ecr-login get", [peer, "get"], peer_env, HOST)
        aws_cli = [str(VENV_BIN / "aws"), "ecr", "get-login-password", "--profile", ROLE_PROFILE,
                   "--region", "ap-northeast-1"]
        aws_env = dict(base, AWS_ENDPOINT_URL=endpoint)
        check_runs("aws ecr get-login-password", aws_cli, aws_env, "")
        check_runs("cold get", get, ours_cold_env, HOST)

        hit = measure("cache-hit get", get, ours_hit_env, str(stdin), runs, warmup)
        baseline_hit = None
        if BASELINE:
            check_runs("baseline cache-hit get", [BASELINE, "get"], ours_hit_env, HOST)
            baseline_hit = measure("baseline cache-hit get", [BASELINE, "get"], ours_hit_env, str(stdin), runs, warmup)
        # The same hit with a ~/.aws/config at the helper's 4 MiB read cap (~40,000 profiles).
        big_home = work / "big-home"
        shutil.copytree(home, big_home)
        (big_home / ".aws" / "config").write_text(config_at_read_cap())
        big_env = dict(ours_hit_env, HOME=str(big_home))
        check_runs("cache-hit get, config at the read cap", get, big_env, HOST)
        big_hit = measure("cache-hit get, config at the read cap", get, big_env, str(stdin), max(5, runs // 10), 1)
        version = measure("--version", [str(HELPER), "--version"], base, str(stdin), runs, warmup)
        peer_hit = measure("ecr-login get", [peer, "get"], peer_env, str(stdin), runs, warmup)
        cold = measure("cold get", get, ours_cold_env, str(stdin), runs, warmup)
        aws = measure("aws ecr get-login-password", aws_cli, aws_env, "/dev/null", slow_runs, 1)
        emu = emulator_time(endpoint, keys, runs)
        clear = lambda: shutil.rmtree(cache_dir, ignore_errors=True)
        one = statistics.median(
            [measure("one cold get", get, ours_proxy_env, str(stdin), 1, 0, clear) for _ in range(5)])
        burst32 = statistics.median([burst(get, ours_proxy_env, str(stdin), 32, clear) for _ in range(5)])
        check_runs("priming get", get, ours_proxy_env, HOST)
        hits32 = statistics.median([burst(get, ours_hit_env, str(stdin), 32, lambda: None) for _ in range(5)])
        size_mb = HELPER.stat().st_size / 1e6
        check_runs("priming get", get, ours_proxy_env, HOST)
        hit_rss = peak_rss_kb(get, ours_hit_env, str(stdin))
        peer_rss = peak_rss_kb([peer, "get"], peer_env, str(stdin))

        rows = [
            ("cache-hit get (ms)", hit, None, None, "<= 2 ms", hit <= 2),
            ("cache hit vs docker-credential-ecr-login hit", hit, peer_hit, peer_hit / hit,
             ">= 4x faster", peer_hit / hit >= 4),
            ("cache hit vs our own --version", hit, version, hit / version,
             "<= 1.5x", hit / version <= 1.5),
            ("cache hit, ~/.aws/config at the 4 MiB cap (ms)", big_hit, None, None, "< 100 ms", big_hit < 100),
        ]
        if baseline_hit:
            rows.append(("cache hit vs the baseline build's hit", hit, baseline_hit, hit / baseline_hit,
                         "<= 1.1x", hit / baseline_hit <= 1.1))
        rows += [
            ("cold get vs aws ecr get-login-password", cold, aws, aws / cold,
             ">= 10x faster", aws / cold >= 10),
            ("cold get above the emulator's 2 requests (ms)", cold - emu, emu, None,
             "<= 15 ms", cold - emu <= 15),
            ("32 concurrent cold gets vs one (ms)", burst32, one, burst32 / one, "<= 2x", burst32 / one <= 2),
            ("  for scale: 32 concurrent cache hits (ms)", hits32, one, hits32 / one, "info", None),
            ("cache-hit peak memory (MB)", hit_rss / 1024, peer_rss / 1024, None, "< 10 MB",
             hit_rss < 10 * 1024),
            ("release binary size (MB)", size_mb, None, None, "< 10 MB", size_mb < 10),
        ]
        fmt = lambda v, suffix="": "-" if v is None else f"{v:.2f}{suffix}"
        print(f"\nbenchmark ({'quick' if args.quick else 'full'}: {runs} runs per scenario, medians) "
              f"on {os.cpu_count()} cores")
        print(f"{'scenario':48} {'ours':>9} {'peer':>9} {'ratio':>8}  {'target':14} result")
        for name, ours, peer_v, ratio, target, ok in rows:
            verdict = "-" if ok is None else ("pass" if ok else "MISS")
            print(f"{name:48} {fmt(ours):>9} {fmt(peer_v):>9} {fmt(ratio, 'x'):>8}  {target:14} {verdict}")
        print(f"(peer for the cache hit: docker-credential-ecr-login {version_of(peer)}; for the cold get: "
              f"aws ecr get-login-password; the emulator's time is a warm in-process boto3 client's)")
        targets = [r[-1] for r in rows if r[-1] is not None]
        print(f"targets met: {sum(targets)} of {len(targets)}")
    finally:
        for process in (proxy, moto):
            if process:
                process.kill()
                process.wait()
        shutil.rmtree(work, ignore_errors=True)


def config_at_read_cap():
    """The user story's config padded with role profiles to just under 4 MiB."""
    parts, size, n = [AWS_CONFIG], len(AWS_CONFIG), 0
    while size < 4 * 1024 * 1024 - 200:
        part = (f"\n[profile filler-{n:06}]\nrole_arn = arn:aws:iam::123456789012:role/Filler{n}\n"
                "source_profile = default\n")
        parts.append(part)
        size += len(part)
        n += 1
    return "".join(parts)


def version_of(program):
    # In an empty HOME: the Go helper writes a log under ~/.ecr even for `version`.
    with tempfile.TemporaryDirectory() as home:
        out = subprocess.run([program, "version"], capture_output=True, text=True,
                             env={"HOME": home, "PATH": os.environ.get("PATH", "/usr/bin:/bin")})
    return out.stdout.strip()


if __name__ == "__main__":
    main()
