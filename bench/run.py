#!/usr/bin/env python3
"""Roster's benchmark harness.

One command (`python3 bench/run.py`) builds the release binary, starts Roster on a fresh
SQLite file and then on a fresh PostgreSQL database, seeds users, drives load from a
separate process with wrk (installed from Debian's packages when missing), and prints one
table, also written as JSON to bench/results/latest.json.

Measured per engine, in one run so that machine noise affects every figure alike:
  - authenticated GET /api/v1/auth/me and static GET / : req/s, p50, p99 at concurrency 32
  - logins/s at concurrency 8, next to the hashing limit (cores / one Argon2id hash,
    timed by `roster passwords benchmark` with the same parameters just before and just
    after the login run), peak RSS meanwhile
  - refresh-token rotations/s, registrations/s
  - idle RSS, and the time from process start to the first 200 from /health
  - one default-cost Argon2id hash in Roster (`roster passwords benchmark`, the hashing
    threads' path) against the C reference implementation (libargon2, through argon2-cffi
    installed into target/bench-venv), alternating five times
  - GET me, login and search p99 with 1,000 and with 1,000,000 users (seeded through SQL)

`--smoke` runs every scenario for a second against the debug binary that `cargo test`
builds, with 1,000 users only: it proves the harness works (CI runs it), not how fast
Roster is.
"""

import argparse
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PASSWORD = "Bench-Password-2026"
MIB_IN_MB = 1.048576
# PostgreSQL runs on the same host, so Roster reaches it as a co-located deployment would:
# over its Unix socket when there is one. Over TCP, sqlx negotiates TLS even on loopback,
# and encrypting every statement cost a sixth of the logins/s on 2 cores.
PG_SOCKET_DIR = "/run/postgresql"
PG_ADMIN = os.environ.get("ROSTER_BENCH_POSTGRES_URL") or (
    f"postgres:///postgres?host={PG_SOCKET_DIR}&user=postgres"
    if os.path.exists(f"{PG_SOCKET_DIR}/.s.PGSQL.5432") else "postgres://postgres@127.0.0.1:5432/postgres")

LUA_DONE = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRKJSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
    '"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), e.connect, e.read, e.write, e.status, e.timeout))
end
"""

LUA_POST_JSON = r"""
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = os.getenv("BENCH_BODY")
"""

# Each thread starts with its own refresh tokens (one per connection, plus a spare: wrk
# calls request() once on thread 0 to check the script before the run, which takes a
# token that is never sent); every response hands back the successor, which the next
# request on that thread presents.
LUA_REFRESH = r"""
local counter = 0
setup = function(thread)
  thread:set("id", counter)
  counter = counter + 1
end
init = function(args)
  tokens = {}
  local per_thread = tonumber(os.getenv("BENCH_PER_THREAD"))
  local index = 0
  for line in io.lines(os.getenv("BENCH_TOKENS")) do
    if math.floor(index / per_thread) == id then table.insert(tokens, line) end
    index = index + 1
  end
end
request = function()
  local token = table.remove(tokens, 1)
  if token == nil then token = "exhausted" end
  return wrk.format("POST", "/api/v1/auth/refresh", {["Content-Type"] = "application/json"},
    '{"refresh_token":"' .. token .. '"}')
end
response = function(status, headers, body)
  local token = body:match('"refresh_token":"([^"]+)"')
  if token then table.insert(tokens, token) end
end
"""

LUA_REGISTER = r"""
local counter = 0
setup = function(thread)
  thread:set("id", counter)
  counter = counter + 1
end
local n = 0
request = function()
  n = n + 1
  local name = string.format("reg%s_%d_%d", os.getenv("BENCH_RUN"), id, n)
  return wrk.format("POST", "/api/v1/auth/register", {["Content-Type"] = "application/json"},
    '{"username":"' .. name .. '","email":"' .. name .. '@bench.example","password":"' .. os.getenv("BENCH_PASSWORD") .. '"}')
end
"""


def log(message):
    print(message, file=sys.stderr, flush=True)


def ensure_wrk():
    if shutil.which("wrk"):
        return
    log("installing wrk from Debian's packages")
    prefix = [] if os.geteuid() == 0 else ["sudo"]
    subprocess.run(prefix + ["apt-get", "install", "-y", "wrk"], check=True, stdout=subprocess.DEVNULL)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(base, method, path, body=None, token=None):
    """A small HTTP/1.1 client over a raw socket (no proxies, no keep-alive)."""
    host, port = base.replace("http://", "").split(":")
    payload = json.dumps(body).encode() if body is not None else b""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: close", f"Content-Length: {len(payload)}"]
    if body is not None:
        lines.append("Content-Type: application/json")
    if token:
        lines.append(f"Authorization: Bearer {token}")
    with socket.create_connection((host, int(port)), timeout=30) as s:
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + payload)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, content = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1])
    if b"transfer-encoding: chunked" in head.lower():
        decoded, rest = b"", content
        while rest:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line, 16)
            if size == 0:
                break
            decoded, rest = decoded + rest[:size], rest[size + 2:]
        content = decoded
    try:
        return status, json.loads(content) if content else None
    except ValueError:
        return status, content.decode(errors="replace")


def rss_kib(pid, field="VmRSS"):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


class Roster:
    """One Roster process on a database; started, measured, stopped."""

    def __init__(self, binary, env, logfile):
        self.binary, self.env, self.logfile = binary, env, logfile
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = None

    def start(self):
        env = dict(self.env, PORT=str(self.port))
        started = time.perf_counter()
        self.process = subprocess.Popen([str(self.binary), "serve"], env=env, stdout=subprocess.DEVNULL, stderr=self.logfile)
        while True:
            if self.process.poll() is not None:
                raise SystemExit(f"roster exited early with {self.process.returncode}; see {self.logfile.name}")
            try:
                if http(self.base, "GET", "/health")[0] == 200:
                    return (time.perf_counter() - started) * 1000.0
            except OSError:
                pass
            time.sleep(0.001)

    def rss_mib(self):
        return rss_kib(self.process.pid) / 1024.0

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


def run_wrk(base, path, seconds, connections, threads, script, env=None, headers=()):
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script + LUA_DONE)
        lua = f.name
    args = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", lua]
    for header in headers:
        args += ["-H", header]
    output = subprocess.run(args + [base + path], env=dict(os.environ, **(env or {})), capture_output=True, text=True, check=True).stdout
    os.unlink(lua)
    line = next(l for l in output.splitlines() if l.startswith("WRKJSON "))
    raw = json.loads(line[len("WRKJSON "):])
    failures = raw["connect"] + raw["read"] + raw["write"] + raw["status"] + raw["timeout"]
    return {
        "rps": raw["requests"] / (raw["duration_us"] / 1e6),
        "p50_ms": raw["p50_us"] / 1000.0,
        "p90_ms": raw["p90_us"] / 1000.0,
        "p99_ms": raw["p99_us"] / 1000.0,
        "requests": raw["requests"],
        "failures": failures,
    }


def sample_peak_rss(server, stop):
    peak = [0.0]

    def sampler():
        while not stop.is_set():
            peak[0] = max(peak[0], server.rss_mib())
            time.sleep(0.02)

    thread = threading.Thread(target=sampler, daemon=True)
    thread.start()
    return peak, thread


def login(base, name):
    status, pair = http(base, "POST", "/api/v1/auth/login", {"login": name, "password": PASSWORD})
    assert status == 200, (status, pair)
    return pair


def register(base, name):
    status, body = http(base, "POST", "/api/v1/auth/register", {"username": name, "email": f"{name}@bench.example", "password": PASSWORD})
    assert status == 201, (status, body)
    return body


def database_url(url, name):
    """`url` with its database name replaced by `name` (its query string kept)."""
    base, query = (url.split("?", 1) + [""])[:2]
    return base.rsplit("/", 1)[0] + "/" + name + ("?" + query if query else "")


class Database:
    """A fresh database for one engine; `seed` bulk-inserts accounts through SQL."""

    def __init__(self, engine, workdir):
        self.engine = engine
        if engine == "sqlite":
            self.path = workdir / "bench.db"
            self.url = f"sqlite://{self.path}"
        else:
            self.name = f"roster_bench_{uuid.uuid4().hex[:12]}"
            self.psql(PG_ADMIN, f'CREATE DATABASE "{self.name}"')
            self.url = database_url(PG_ADMIN, self.name)

    @staticmethod
    def psql(url, sql):
        subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-qAtc", sql], check=True, stdout=subprocess.DEVNULL)

    def seed(self, seeder, count, prefix):
        """Adds `count` accounts named `<prefix>0000001`... through SQL (server stopped
        for SQLite); returns the seconds it took."""
        output = subprocess.run([str(seeder), self.url, str(count), prefix], capture_output=True, text=True, check=True).stdout
        os.sync()  # the seeding's file writes reach the disk before the runs, not during them
        return json.loads(output)["seconds"]

    def drop(self):
        if self.engine == "postgres":
            self.psql(PG_ADMIN, f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def scenario_table(engine, binary, seeder, seconds, seed_sizes, workdir, run_id, keep_database=False):
    """Every measurement for one engine."""
    results = {"engine": engine}
    db = Database(engine, workdir)
    key = base64.b64encode(os.urandom(32)).decode()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "DATABASE_URL": db.url,
        "ENCRYPTION_KEY": key,
        "RUST_LOG": "warn",
        "RATE_LIMIT_AUTH_PER_MINUTE": "1000000",
        "LOGIN_MAX_FAILURES": "1000",
        # Four connections per core, no overflow: with 32 connections PostgreSQL stalled
        # 20-140 ms in 4 of 30 one-second windows of the search run on 2 cores (server
        # processes preempted mid-query), none with 8; refreshes lose about 5 %.
        "DB_POOL_SIZE": str(4 * (os.cpu_count() or 1)),
        "DB_MAX_OVERFLOW": "0",
    }
    logfile = open(workdir / f"roster-{engine}.log", "w")
    server = Roster(binary, env, logfile)
    try:
        results["start_to_healthy_ms"] = server.start()
        time.sleep(1.0)
        results["idle_rss_mib"] = server.rss_mib()
        base = server.base

        register(base, "bench_me")
        me_token = login(base, "bench_me")["access_token"]
        results["static"] = run_wrk(base, "/", seconds, 32, 2, "")
        results["me"] = run_wrk(base, "/api/v1/auth/me", seconds, 32, 2, "", headers=[f"Authorization: Bearer {me_token}"])

        # The hashing limit is timed just before and just after the login run and
        # averaged: on a shared host one hash moves by a third within minutes, so a
        # limit timed at another moment says little about the load run's.
        before = hash_timing(binary, env)
        stop = threading.Event()
        peak, sampler = sample_peak_rss(server, stop)
        body = json.dumps({"login": "bench_me", "password": PASSWORD})
        results["login"] = run_wrk(base, "/api/v1/auth/login", seconds, 8, 2, LUA_POST_JSON, env={"BENCH_BODY": body})
        stop.set()
        sampler.join()
        results["login_peak_rss_mib"] = peak[0]
        results["hashing"] = averaged_timing(before, hash_timing(binary, env))

        connections, threads = 32, 2
        per_thread = connections // threads + 1
        tokens = [login(base, "bench_me")["refresh_token"] for _ in range(per_thread * threads)]
        token_file = workdir / f"tokens-{engine}.txt"
        token_file.write_text("\n".join(tokens) + "\n")
        results["refresh"] = run_wrk(base, "/api/v1/auth/refresh", seconds, connections, threads, LUA_REFRESH,
                                     env={"BENCH_TOKENS": str(token_file), "BENCH_PER_THREAD": str(per_thread)})
        results["scale"] = {}
        seeded = 0
        for size in seed_sizes:
            server.stop()
            # bench_me counts towards the total.
            existing = 1 + seeded
            count = max(0, size - existing)
            results.setdefault("seed_seconds", {})[str(size)] = db.seed(seeder, count, f"seed{size}")
            results.setdefault("scale_users", {})[str(size)] = existing + count
            seeded += count
            server.start()
            base = server.base
            admin = subprocess.run([str(binary), "create-admin", "--username", "bench_me", "--email", "bench_me@bench.example"],
                                   env=env, capture_output=True, text=True)
            assert admin.returncode == 0, admin.stderr
            token = login(base, "bench_me")["access_token"]
            short = max(1, seconds // 2)
            results["scale"][str(size)] = {
                "me": run_wrk(base, "/api/v1/auth/me", short, 8, 2, "", headers=[f"Authorization: Bearer {token}"]),
                "login": run_wrk(base, "/api/v1/auth/login", short, 4, 2, LUA_POST_JSON, env={"BENCH_BODY": body}),
                "search": run_wrk(base, "/api/v1/users/search?q=brooklyn&limit=20", short, 8, 2, "",
                                  headers=[f"Authorization: Bearer {token}"]),
            }
        # Last, so that the scale rows hold only seeded accounts (registered ones have no
        # profile, and would dilute the 1,000-account search): on the largest database.
        results["register"] = run_wrk(base, "/api/v1/auth/register", seconds, 8, 2, LUA_REGISTER,
                                      env={"BENCH_RUN": run_id, "BENCH_PASSWORD": PASSWORD})
    finally:
        server.stop()
        logfile.close()
        if keep_database and engine == "postgres":
            log(f"kept the PostgreSQL database {db.name}")
        else:
            db.drop()
    return results


LIBARGON2_TIMER = r"""
import json, statistics, sys, time
import argon2.low_level as low
m, t, p, samples = (int(a) for a in sys.argv[1:5])
times = []
for i in range(samples + 1):
    started = time.perf_counter()
    low.hash_secret_raw(b"Calibration-Password-1", b"0123456789abcdef", t, m, p, 32, low.Type.ID)
    if i:
        times.append(time.perf_counter() - started)
print(json.dumps({"median_ms": statistics.median(times) * 1000}))
"""
ARGON2_CFFI = "argon2-cffi==25.1.0"


def bench_venv():
    """A virtual environment under target/ with argon2-cffi (libargon2) in it."""
    venv = ROOT / "target" / "bench-venv"
    python = venv / "bin" / "python"
    probe = [str(python), "-c", "import argon2, importlib.metadata as m; assert m.version('argon2-cffi') == '25.1.0'"]
    if not python.exists() or subprocess.run(probe, capture_output=True).returncode != 0:
        log(f"installing {ARGON2_CFFI} into {venv}")
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", ARGON2_CFFI], check=True)
    return python


def hash_comparison(binary, rounds, samples):
    """Roster's hash and libargon2's with the same default cost, alternating `rounds`
    times in this run (so machine noise falls on both alike)."""
    python = bench_venv()
    env = {"PATH": os.environ.get("PATH", ""), "RUST_LOG": "warn"}
    roster, reference, cost = [], [], None
    for _ in range(rounds):
        out = subprocess.run([str(binary), "passwords", "benchmark", "--samples", str(samples), "--json"],
                             env=env, capture_output=True, text=True, check=True)
        timing = json.loads(out.stdout)
        cost = (timing["memory_kib"], timing["iterations"], timing["parallelism"])
        roster.append(timing["median_ms"])
        out = subprocess.run([str(python), "-c", LIBARGON2_TIMER, *map(str, cost), str(samples)],
                             capture_output=True, text=True, check=True)
        reference.append(json.loads(out.stdout)["median_ms"])
    median = lambda xs: sorted(xs)[len(xs) // 2]
    return {"memory_kib": cost[0], "iterations": cost[1], "parallelism": cost[2],
            "roster_ms": roster, "libargon2_ms": reference,
            "roster_median_ms": median(roster), "libargon2_median_ms": median(reference)}


def hash_timing(binary, env):
    """`roster passwords benchmark --json`: one hash alone, and every thread hashing."""
    timing = subprocess.run([str(binary), "passwords", "benchmark", "--samples", "9", "--json"], env=env,
                            capture_output=True, text=True, check=True)
    return json.loads(timing.stdout)


def averaged_timing(before, after):
    """The two timings around a load run, averaged, with both kept."""
    averaged = dict(before)
    for key in ("median_ms", "limit_per_second", "sustained_per_second"):
        averaged[key] = (before[key] + after[key]) / 2
    averaged["before"], averaged["after"] = before, after
    return averaged


def targets(engine_results):
    """The issue's targets, as (name, value, goal, met)."""
    r = engine_results
    checks = []
    ratio = r["me"]["rps"] / r["static"]["rps"]
    checks.append(("GET me req/s / static req/s", ratio, ">= 0.5", ratio >= 0.5))
    limit = r["hashing"]["limit_per_second"]
    ratio = r["login"]["rps"] / limit
    checks.append(("logins/s / hashing limit", ratio, ">= 0.9", ratio >= 0.9))
    # The targets are in MB (10^6 bytes); RSS is read in KiB.
    peak_mb = r["login_peak_rss_mib"] * MIB_IN_MB
    checks.append(("peak RSS during logins (MB)", peak_mb, "<= 80", peak_mb <= 80))
    per_core = r["refresh"]["rps"] / r["hashing"]["cores"]
    checks.append(("refresh rotations/s per core", per_core, ">= 3000", per_core >= 3000))
    idle_mb = r["idle_rss_mib"] * MIB_IN_MB
    checks.append(("idle RSS (MB)", idle_mb, "<= 20", idle_mb <= 20))
    if r["engine"] == "sqlite":
        checks.append(("start to healthy (ms)", r["start_to_healthy_ms"], "<= 100", r["start_to_healthy_ms"] <= 100))
    sizes = sorted(r["scale"], key=int)
    if len(sizes) >= 2:
        small, large = r["scale"][sizes[0]], r["scale"][sizes[-1]]
        for name in ("me", "login", "search"):
            if name in small and name in large:
                ratio = large[name]["p99_ms"] / small[name]["p99_ms"]
                checks.append((f"{name} p99 at {sizes[-1]} / at {sizes[0]} users", ratio, "<= 1.3", ratio <= 1.3))
    return checks


def print_table(report):
    lines = []
    c = report.get("argon2")
    if c:
        ratio = c["roster_median_ms"] / c["libargon2_median_ms"]
        lines.append(f"\n== one Argon2id hash, m={c['memory_kib']} t={c['iterations']} p={c['parallelism']}, alternating {len(c['roster_ms'])} times ==")
        lines.append(f"Roster {c['roster_median_ms']:.1f} ms (" + ", ".join(f"{x:.1f}" for x in c["roster_ms"]) + ")")
        lines.append(f"libargon2 {c['libargon2_median_ms']:.1f} ms (" + ", ".join(f"{x:.1f}" for x in c["libargon2_ms"]) + ")")
        lines.append(f"{'Roster / libargon2':<44}{ratio:>10.2f}  {'<= 1.0':<8}{'met' if ratio <= 1.0 else 'MISSED'}")
    for r in report["engines"]:
        e = r["engine"]
        lines.append(f"\n== {e} ==")
        lines.append(f"{'scenario':<34}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'failed':>8}")
        for name, label in [("static", "GET / (static), c=32"), ("me", "GET /auth/me, c=32"), ("login", "POST /auth/login, c=8"),
                            ("refresh", "POST /auth/refresh (rotation), c=32"), ("register", "POST /auth/register, c=8")]:
            m = r[name]
            lines.append(f"{label:<34}{m['rps']:>10.0f}{m['p50_ms']:>10.2f}{m['p99_ms']:>10.2f}{m['failures']:>8}")
        for size, scale in sorted(r["scale"].items(), key=lambda kv: int(kv[0])):
            for name, m in scale.items():
                lines.append(f"{name + ' with ' + size + ' users':<34}{m['rps']:>10.0f}{m['p50_ms']:>10.2f}{m['p99_ms']:>10.2f}{m['failures']:>8}")
        if "scale_users" in r:
            lines.append("accounts in the scale rows: " + ", ".join(f"{n:,}" for _, n in sorted(r["scale_users"].items(), key=lambda kv: int(kv[0]))))
        h = r["hashing"]
        lines.append(f"hashing limit: {h['limit_per_second']:.1f}/s, {h.get('sustained_per_second', 0):.1f}/s measured with every thread busy ({h['cores']} threads, {h['median_ms']:.1f} ms per Argon2id "
                     f"m={h['memory_kib']} t={h['iterations']} p={h['parallelism']}; "
                     f"{h['before']['median_ms']:.1f} ms before the login run, {h['after']['median_ms']:.1f} ms after)")
        lines.append(f"idle RSS {r['idle_rss_mib']:.1f} MiB, peak RSS during logins {r['login_peak_rss_mib']:.1f} MiB, "
                     f"start to healthy {r['start_to_healthy_ms']:.1f} ms")
        lines.append(f"{'target':<44}{'value':>10}  {'goal':<8}")
        for name, value, goal, met in targets(r):
            lines.append(f"{name:<44}{value:>10.2f}  {goal:<8}{'met' if met else 'MISSED'}")
    print("\n".join(lines))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="a few seconds per engine against the debug binary (CI)")
    parser.add_argument("--seconds", type=int, default=10, help="duration of each load run")
    parser.add_argument("--engines", default="sqlite,postgres")
    parser.add_argument("--large", type=int, default=1_000_000, help="users for the large-scale run")
    parser.add_argument("--keep-database", action="store_true", help="leave the PostgreSQL database for inspection (its name is printed)")
    args = parser.parse_args()

    ensure_wrk()
    started = time.perf_counter()
    if args.smoke:
        # What `cargo test` builds (both binaries, with the test build's dependency
        # features), so that CI's smoke run after the tests compiles nothing again.
        subprocess.run(["cargo", "test", "--locked", "--no-run"], cwd=ROOT, check=True)
        binary, seconds, sizes = ROOT / "target" / "debug" / "roster", 1, [1_000]
        seeder = ROOT / "target" / "debug" / "roster-bench-seed"
    else:
        subprocess.run(["cargo", "build", "--release", "--locked", "--bins"], cwd=ROOT, check=True)
        binary, seconds, sizes = ROOT / "target" / "release" / "roster", args.seconds, [1_000, args.large]
        seeder = ROOT / "target" / "release" / "roster-bench-seed"

    run_id = uuid.uuid4().hex[:6]
    report = {
        "machine": {"cores": os.cpu_count(), "kernel": os.uname().release, "cpu": cpu_model()},
        "smoke": args.smoke,
        "engines": [],
    }
    log("timing one Argon2id hash in Roster and in libargon2")
    report["argon2"] = hash_comparison(binary, 1 if args.smoke else 5, 3 if args.smoke else 9)
    with tempfile.TemporaryDirectory(prefix="roster-bench-") as tmp:
        for engine in args.engines.split(","):
            log(f"benchmarking on {engine}")
            report["engines"].append(scenario_table(engine, binary, seeder, seconds, sizes, Path(tmp), run_id,
                                                     args.keep_database))
    report["elapsed_seconds"] = time.perf_counter() - started
    for r in report["engines"]:
        r["targets"] = [{"name": n, "value": v, "goal": g, "met": m} for n, v, g, m in targets(r)]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / ("smoke.json" if args.smoke else "latest.json")).write_text(json.dumps(report, indent=2) + "\n")
    print_table(report)
    failed = [r for r in report["engines"] for s in ("static", "me", "login", "refresh", "register") if r[s]["failures"]]
    if failed:
        log("some requests failed during the load runs; see the table")
        sys.exit(1)


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


if __name__ == "__main__":
    main()
