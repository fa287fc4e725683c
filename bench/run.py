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
Roster is. `--events` then runs the events scenarios (`events.py`: the request path with
and without webhooks and NATS, delivery throughput, commit-to-receipt latency) with the
same binary; with `--smoke`, their smoke variant (20-30 s per engine, so CI's plain
`--smoke` leaves them out).
"""

import argparse
import base64
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import events
from harness import (LUA_POST_JSON, LUA_REFRESH, LUA_REGISTER, MIB_IN_MB, PASSWORD, RESULTS, ROOT, Database, Roster,
                     cpu_model, ensure_wrk, log, login, register, run_wrk, sample_peak_rss)


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
    parser.add_argument("--events", action="store_true",
                        help="then the events scenarios (bench/events.py) with the same binary and engines")
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
    events_failed = False
    if args.events:
        options = ["--binary", str(binary), "--engines", args.engines] + (["--smoke"] if args.smoke else [])
        events_failed = events.run(events.parse(options)) != 0
    if failed or events_failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
