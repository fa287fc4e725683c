#!/usr/bin/env python3
"""Roster's events benchmark: what events cost the request path, how fast webhooks go
out, and how long an event takes from its commit to a receiver.

    python3 bench/events.py            # release build, both engines (about 10 min of runs)
    python3 bench/events.py --smoke    # each part for about a second on the debug build (CI)
    python3 bench/events.py --binary target/debug/roster --engines sqlite

A fast local receiver (`receiver.py`, its ceiling measured with wrk in every run) takes
the webhook deliveries; NATS JetStream is the one at 127.0.0.1:4222, each Roster in a
stream and subject prefix of its own, deleted afterwards. Per engine:

1. Request path: register, login, refresh and profile-update (PATCH /users/me) req/s
   with wrk, without events leaving Roster and with one webhook endpoint and NATS
   configured; fresh database each run, the two alternating (A B A B ...), medians and
   the difference in %. Goal: within 5 %.
2. Delivery: N profile updates (one `user.updated` each) from a few users' tokens as fast
   as Roster takes them, then deliveries/s at the receiver from the first receipt to the
   last (goal: at least 2,000/s), and from the first request to the last receipt; then
   the same from a backlog (the endpoint disabled while the events are made, then
   enabled). Every delivery's Standard Webhooks signature is checked, and the NATS
   stream must hold every event of the log.
3. Latency: profile updates at a steady rate; for each, the time from its answer (the
   commit is before it) to the receipt of its event at the webhook and on NATS (matched
   per account by `subjectsequence`), p50/p90/p99.
4. The request path at a fixed rate (`events_paced.py`): each scenario at about a third
   of what the host answers, without and with a webhook and NATS, alternating; each
   request's time, p50/p90/p99 (goal: the median within 5 %).

Writes bench/results/events.json (events-smoke.json for --smoke) and prints a table;
exits 1 when a request failed, a delivery was missing or badly signed, or NATS lacks an
event (a goal missed is only reported).
"""

import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import load
from events_paced import RATES as PACED_RATES, paced_path
from events_check import cpu_seconds, deliveries, percentiles, receipt_latencies, wait_for
from events_report import goals, print_table
from harness import (LUA_POST_JSON, LUA_REFRESH, LUA_REGISTER, PASSWORD, RESULTS, ROOT, Database, Roster, cpu_model,
                     ensure_wrk, free_port, http, log, login, register, run_wrk)
from nats_probe import NATS_URL, Nats
from pinning import Pinned

# What a run "with" events leaving Roster configures (`--channels` picks some, in part 4).
CHANNELS = ("webhook", "nats")

ADMIN = "bench_admin"
SCENARIOS = ("register", "login", "refresh", "update")
WITHOUT, WITH = "without", "with"

# PATCH /users/me with a new full name each time (so each is a change, and one event),
# the users' access tokens in turn.
LUA_UPDATE = r"""
local counter = 0
setup = function(thread)
  thread:set("id", counter)
  counter = counter + 1
end
init = function(args)
  tokens = {}
  for line in io.lines(os.getenv("BENCH_TOKENS")) do table.insert(tokens, line) end
  n = 0
end
request = function()
  n = n + 1
  return wrk.format("PATCH", "/api/v1/users/me", {["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. tokens[(n + id) % #tokens + 1]}, '{"full_name":"Bench ' .. id .. ' ' .. n .. '"}')
end
"""

# A delivery as the receiver gets it, for measuring the receiver alone.
LUA_DELIVERY = r"""
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["webhook-id"] = "0193a5c2-5f4e-7d1a-9b8c-0123456789ab"
wrk.headers["webhook-timestamp"] = "1796000000"
wrk.headers["webhook-signature"] = "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4="
wrk.body = '{"specversion":"1.0","id":"0193a5c2-5f4e-7d1a-9b8c-0123456789ab","source":"http://127.0.0.1:8001",' ..
  '"type":"user.updated","subject":"0193a5c2-0000-7d1a-9b8c-0123456789ab","time":"2026-12-07T12:00:00.000000Z",' ..
  '"datacontenttype":"application/json","sequence":"12345","subjectsequence":17,"data":{"changed":["full_name"]}}'
"""


class Rig:
    """One Roster on a fresh database with an administrator; with `events`, also a
    webhook endpoint (to the receiver, for `types`) and NATS (its own stream)."""

    def __init__(self, engine, binary, workdir, events, receiver_port, types=("user.*", "session.*"),
                 channels=CHANNELS, cpus=None):
        workdir.mkdir(parents=True)
        channels = set(channels) if events else set()
        self.db = Database(engine, workdir)
        tag = uuid.uuid4().hex[:10]
        nats = "nats" in channels
        self.stream, self.prefix = (f"ROSTER_BENCH_{tag}", f"roster_bench_{tag}") if nats else (None, None)
        self.env = {
            "PATH": os.environ.get("PATH", ""),
            "DATABASE_URL": self.db.url,
            "ENCRYPTION_KEY": base64.b64encode(os.urandom(32)).decode(),
            "RUST_LOG": "warn",
            "RATE_LIMIT_AUTH_PER_MINUTE": "1000000",
            "LOGIN_MAX_FAILURES": "1000",
            "DB_POOL_SIZE": str(4 * (os.cpu_count() or 1)),  # as in run.py
            "DB_MAX_OVERFLOW": "0",
        }
        if "webhook" in channels:
            self.env["WEBHOOK_ALLOW_HOSTS"] = "127.0.0.1"
        if nats:
            self.env.update({"NATS_URL": NATS_URL, "NATS_STREAM": self.stream, "NATS_SUBJECT_PREFIX": self.prefix})
        self.logfile = open(workdir / "roster.log", "w")
        self.server = Roster(binary, self.env, self.logfile, cpus)
        try:
            self.prepare(binary, "webhook" in channels, receiver_port, types)
        except BaseException:
            self.close()
            raise

    def prepare(self, binary, webhook, receiver_port, types):
        self.server.start()
        self.base, self.port = self.server.base, self.server.port
        made = subprocess.run([str(binary), "create-admin", "--username", ADMIN, "--email", f"{ADMIN}@bench.example"],
                              env=dict(self.env, ROSTER_ADMIN_PASSWORD=PASSWORD), capture_output=True, text=True)
        assert made.returncode == 0, made.stderr
        self.admin = login(self.base, ADMIN)["access_token"]
        self.webhook = None
        if webhook:
            status, self.webhook = self.call("POST", "/api/v1/admin/webhooks",
                                             {"url": f"http://127.0.0.1:{receiver_port}/hook", "events": list(types)})
            assert status == 201, (status, self.webhook)

    def call(self, method, path, body=None):
        return http(self.base, method, path, body, token=self.admin)

    def users(self, count, prefix):
        """Registers and signs in `count` accounts; returns their ids and access tokens."""
        ids, tokens = [], []
        for i in range(count):
            ids.append(register(self.base, f"{prefix}{i}")["id"])
            tokens.append(login(self.base, f"{prefix}{i}")["access_token"])
        return ids, tokens

    def set_enabled(self, enabled):
        status, body = self.call("PATCH", f"/api/v1/admin/webhooks/{self.webhook['id']}", {"enabled": enabled})
        assert status == 200, (status, body)

    def metric(self, name):
        """The sum of the samples of a counter or gauge in /metrics (0 when absent)."""
        _, text = http(self.base, "GET", "/metrics")
        return sum(float(line.rsplit(" ", 1)[1]) for line in str(text).splitlines() if line.startswith(name))

    def keep_log(self, name):
        """Copies Roster's log into bench/results/ (when a run failed); returns where."""
        RESULTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.logfile.name, RESULTS / name)
        return str(RESULTS / name)

    def close(self):
        try:
            self.server.stop()
        finally:
            self.logfile.close()
            self.db.drop()
            if self.stream:
                nats = Nats()
                nats.delete_stream(self.stream)
                nats.close()


class Receiver:
    """The receiver process (`receiver.py`) and its control requests."""

    def __init__(self):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen([sys.executable, str(Path(__file__).with_name("receiver.py")), str(self.port)],
                                        stdout=subprocess.PIPE, text=True)
        assert self.process.stdout.readline().strip() == "ready"

    def count(self):
        return http(self.base, "GET", "/count")[1]

    def dump(self):
        return http(self.base, "GET", "/dump")[1]

    def reset(self):
        http(self.base, "POST", "/reset")

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)


def request_path(engine, binary, workdir, rounds, seconds, receiver, users, pin=False):
    """Part 1: the scenarios' req/s without and with events leaving Roster, alternating;
    with `pin`, Roster on a core of its own and the rest of the run on the others."""
    if pin:
        with Pinned([receiver.process.pid]) as pinned:
            return request_path_on(engine, binary, workdir, rounds, seconds, receiver, users, pinned.roster_cpus)
    return request_path_on(engine, binary, workdir, rounds, seconds, receiver, users, None)


def request_path_on(engine, binary, workdir, rounds, seconds, receiver, users, cpus):
    runs = {WITHOUT: [], WITH: []}
    where = f" (Roster on core {min(cpus)} alone)" if cpus else ""
    for round_ in range(rounds):
        for config in (WITHOUT, WITH):
            log(f"{engine}: request path{where}, round {round_ + 1} of {rounds}, {config} a webhook and NATS")
            rig = Rig(engine, binary, workdir / f"path-{round_}-{config}", config == WITH, receiver.port, cpus=cpus)
            try:
                receiver.reset()
                _, tokens = rig.users(users, "bench_u")
                access = workdir / f"access-{round_}-{config}.txt"
                access.write_text("\n".join(tokens) + "\n")
                connections, threads = 32, 2
                per_thread = connections // threads + 1
                refresh = workdir / f"refresh-{round_}-{config}.txt"
                refresh.write_text("\n".join(login(rig.base, "bench_u0")["refresh_token"]
                                             for _ in range(per_thread * threads)) + "\n")
                body = json.dumps({"login": "bench_u0", "password": PASSWORD})
                cpu_before = cpu_seconds(receiver.process.pid)
                with_cpu = lambda measure: roster_cpu(rig, measure)
                run = {
                    "register": with_cpu(lambda: run_wrk(rig.base, "/api/v1/auth/register", seconds, 8, 2, LUA_REGISTER,
                                        env={"BENCH_RUN": f"{round_}{config}", "BENCH_PASSWORD": PASSWORD})),
                    "login": with_cpu(lambda: run_wrk(rig.base, "/api/v1/auth/login", seconds, 8, 2, LUA_POST_JSON,
                                                      env={"BENCH_BODY": body})),
                    "refresh": with_cpu(lambda: run_wrk(rig.base, "/api/v1/auth/refresh", seconds, connections, threads,
                                                        LUA_REFRESH, env={"BENCH_TOKENS": str(refresh),
                                                                          "BENCH_PER_THREAD": str(per_thread)})),
                    "update": with_cpu(lambda: run_wrk(rig.base, "/api/v1/users/me", seconds, 32, 2, LUA_UPDATE,
                                                       env={"BENCH_TOKENS": str(access)})),
                }
                if config == WITH:
                    run["delivered"] = receiver.count()
                    run["published"] = rig.metric("roster_events_published_total")
                    run["receiver_cpu_seconds"] = cpu_seconds(receiver.process.pid) - cpu_before
                runs[config].append(run)
            finally:
                rig.close()
            if any(run[s]["failures"] for s in SCENARIOS):
                run["log"] = rig.keep_log(f"events-{engine}-{round_ + 1}-{config}.log")
    medians = {}
    median = lambda values: sorted(values)[len(values) // 2]
    for name in SCENARIOS:
        median_a = median([r[name]["rps"] for r in runs[WITHOUT]])
        median_b = median([r[name]["rps"] for r in runs[WITH]])
        cpu_a = median([r[name]["roster_cpu_ms"] for r in runs[WITHOUT]])
        cpu_b = median([r[name]["roster_cpu_ms"] for r in runs[WITH]])
        medians[name] = {WITHOUT: median_a, WITH: median_b, "difference_percent": (median_b - median_a) / median_a * 100,
                         "roster_cpu_ms": {WITHOUT: cpu_a, WITH: cpu_b,
                                           "difference_percent": (cpu_b - cpu_a) / cpu_a * 100 if cpu_a else 0.0}}
    return {"runs": runs, "medians": medians, "pinned": bool(cpus)}


def roster_cpu(rig, measure):
    """Runs `measure` (a wrk run) and adds the CPU time Roster's process spent per
    request during it, in ms ("roster_cpu_ms"), including what its sender and publisher
    did meanwhile. On a host whose two cores also run wrk, the receiver, NATS and the
    database, req/s moves with their load (runs of one configuration spread by up to
    30 %); Roster's own CPU per request is what events add to the request path."""
    before = cpu_seconds(rig.server.process.pid)
    result = measure()
    spent = cpu_seconds(rig.server.process.pid) - before
    result["roster_cpu_ms"] = spent * 1000 / max(1, result["requests"])
    return result


def make_events(rig, tokens, count, label, connections=32):
    """`count` profile updates, the tokens in turn, as fast as Roster answers them."""
    requests = [load.request_bytes("PATCH", "/api/v1/users/me", tokens[i % len(tokens)],
                                   json.dumps({"full_name": f"{label} {i}"})) for i in range(count)]
    return load.flood(rig.port, requests, connections)


def delivered(receiver, rig, expected, failures, what):
    """Waits for `expected` deliveries; returns them checked, and the repeats (see
    events_check.deliveries)."""
    if not wait_for(receiver.count, expected):
        failures.append(f"{what}: {receiver.count()} of {expected} deliveries arrived")
    return deliveries(receiver.dump(), rig.webhook["secret"], failures, what)


def throughput(rig, receiver, tokens, count, backlog, failures):
    """Part 2, one way: events made (the endpoint enabled all along, or disabled while
    they are made), then their deliveries timed at the receiver."""
    what = "delivery from a backlog" if backlog else "delivery"
    receiver.reset()
    if backlog:
        rig.set_enabled(False)
    roster_cpu = cpu_seconds(rig.server.process.pid)
    made = make_events(rig, tokens, count, "Backlog" if backlog else "Live")
    ok = made["statuses"].get(200, 0)
    if ok != count:
        failures.append(f"{what}: updates answered {made['statuses']}")
    enabled_at = None
    if backlog:
        enabled_at = time.monotonic()
        rig.set_enabled(True)
    got, repeats = delivered(receiver, rig, ok, failures, what)
    roster_cpu = cpu_seconds(rig.server.process.pid) - roster_cpu
    times = sorted(t for t, _ in got.values())
    result = {"events": ok, "made_seconds": made["ended"] - made["started"], "delivered": len(got),
              "repeats": repeats, "roster_cpu_seconds": roster_cpu}
    if len(times) >= 2:
        result["first_to_last_per_second"] = (len(times) - 1) / (times[-1] - times[0])
        start = enabled_at or made["started"]
        result["total_per_second"] = len(times) / (times[-1] - start)
        result["total_seconds"] = times[-1] - start
        result["after_last_answer_seconds"] = times[-1] - made["ended"]
    result["max_sequence"] = max((int(e["sequence"]) for _, e in got.values()), default=0)
    return result


def delivery_and_latency(engine, binary, workdir, receiver, events, users, rate, seconds, failures):
    """Parts 2 and 3 on one Roster with a webhook (`user.*`) and NATS."""
    log(f"{engine}: delivery of {events:,} events, then latency at {rate}/s for {seconds} s")
    rig = Rig(engine, binary, workdir / "delivery", True, receiver.port, types=("user.*",))
    nats = Nats()
    try:
        ids, tokens = rig.users(users, "bench_d")
        if not wait_for(receiver.count, users):  # their user.created
            failures.append(f"delivery: {receiver.count()} of the {users} accounts' user.created arrived")
        live = throughput(rig, receiver, tokens, events, False, failures)
        backlog = throughput(rig, receiver, tokens, events, True, failures)
        last = max(live["max_sequence"], backlog["max_sequence"])
        # NATS has caught up when its stream holds every event of the log (the last
        # update has the last sequence: nothing happened after it).
        if not wait_for(lambda: nats.stream_messages(rig.stream) or 0, last):
            failures.append(f"NATS: the stream holds {nats.stream_messages(rig.stream)} of {last} events")
        stream = nats.stream_messages(rig.stream)
        if stream != last:
            failures.append(f"NATS: the stream holds {stream} events, the log {last}")

        arrivals = nats.subscribe(f"{rig.prefix}.user.updated")
        receiver.reset()
        count = max(1, int(rate * seconds))
        requests = [(i % users, load.request_bytes("PATCH", "/api/v1/users/me", tokens[i % users],
                                                  json.dumps({"full_name": f"Paced {i}"}))) for i in range(count)]
        paced = load.paced(rig.port, requests, rate)
        answers = [(ids[key], sent, answered) for key, sent, answered, status in paced["answers"] if status == 200]
        if len(answers) != count:
            failures.append(f"latency: {count - len(answers)} of {count} updates failed")
        got, _ = delivered(receiver, rig, len(answers), failures, "latency")
        if not wait_for(lambda: len(arrivals), len(answers)):
            failures.append(f"latency: {len(arrivals)} of {len(answers)} events arrived on NATS")
        on_nats = [(t, json.loads(body)) for t, body in list(arrivals)]
        latency = {
            "rate": rate, "seconds": seconds, "events": len(answers),
            "offered_per_second": count / (paced["ended"] - paced["started"]),
            "answer_ms": percentiles([(answered - sent) * 1000 for _, sent, answered in answers]),
            "webhook_ms": percentiles(receipt_latencies(answers, got.values(), failures, "webhook")),
            "nats_ms": percentiles(receipt_latencies(answers, on_nats, failures, "NATS")),
        }
        return {"users": users, "live": live, "backlog": backlog, "nats_stream_events": stream, "log_events": last}, latency
    finally:
        nats.close()
        rig.close()


def receiver_ceiling(receiver, seconds):
    """The receiver alone under wrk: deliveries/s it can take (c=32, as many as Roster
    has in flight by default)."""
    measured = run_wrk(receiver.base, "/hook", seconds, 32, 2, LUA_DELIVERY)
    receiver.reset()
    return measured


def run_engine(args, engine, binary, workdir, receiver, users):
    """The parts asked for (`--parts`) on one engine."""
    parts = set(args.parts.split(","))
    failures = []
    entry = {"engine": engine, "failures": failures}
    if "1" in parts:
        path = request_path(engine, binary, workdir, args.rounds, args.seconds, receiver, 4, args.pin)
        for config in (WITHOUT, WITH):
            for run_ in path["runs"][config]:
                failures += [f"request path ({config}): {s} requests failed ({run_[s]['errors']}); "
                             f"Roster's log: {run_['log']}" for s in SCENARIOS if run_[s]["failures"]]
        entry["request_path"] = path
    if parts & {"2", "3"}:
        entry["delivery"], entry["latency"] = delivery_and_latency(engine, binary, workdir, receiver, args.events,
                                                                   users, args.rate, args.latency_seconds, failures)
    if "4" in parts:
        channels = args.channels.split(",")
        make_rig = lambda where, events: Rig(engine, binary, where, events, receiver.port, channels=channels)
        paced = paced_path(engine, make_rig, workdir, args.rounds, args.paced_seconds, args.smoke,
                           args.scenarios.split(","))
        for config, runs in paced["runs"].items():
            failures += [f"fixed rate ({config}): {r[s]['failures']} {s} requests failed"
                         for r in runs for s in r if r[s]["failures"]]
        entry["paced"] = paced
    return entry


def parse(argv=None):
    """The command line (run.py passes its own choices through this too)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="each part for about a second on the debug build (CI)")
    parser.add_argument("--binary", type=Path, help="this roster binary instead of building one")
    parser.add_argument("--engines", default="sqlite,postgres")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each configuration in part 1")
    parser.add_argument("--seconds", type=int, default=5, help="duration of each load run in part 1")
    parser.add_argument("--events", type=int, default=20_000, help="events made for part 2")
    parser.add_argument("--rate", type=int, default=200, help="updates per second in part 3")
    parser.add_argument("--latency-seconds", type=int, default=10)
    parser.add_argument("--paced-seconds", type=int, default=8, help="duration of each scenario in part 4")
    parser.add_argument("--parts", default="1,2,3,4", help="which parts to run (2 and 3 run together)")
    parser.add_argument("--pin", action="store_true",
                        help="part 1 with Roster on a core of its own and the rest of the run on the others")
    parser.add_argument("--scenarios", default=",".join(PACED_RATES),
                        help="part 4's scenarios (register, login, refresh, update)")
    parser.add_argument("--channels", default=",".join(CHANNELS),
                        help="what part 4's runs 'with' configure: webhook, nats or both (to tell their costs apart)")
    args = parser.parse_args(argv)
    if args.smoke:
        args.rounds, args.seconds, args.events, args.rate, args.latency_seconds = 1, 1, 300, 50, 1
        args.paced_seconds = 1
    return args


def run(args):
    """Every part on every engine; returns the exit status."""
    ensure_wrk()
    binary = args.binary
    if binary is None and args.smoke:
        subprocess.run(["cargo", "test", "--locked", "--no-run"], cwd=ROOT, check=True)
        binary = ROOT / "target" / "debug" / "roster"
    elif binary is None:
        subprocess.run(["cargo", "build", "--release", "--locked", "--bins"], cwd=ROOT, check=True)
        binary = ROOT / "target" / "release" / "roster"
    users = 8 if args.smoke else 64
    started = time.perf_counter()
    report = {"machine": {"cores": os.cpu_count(), "kernel": os.uname().release, "cpu": cpu_model()},
              "smoke": args.smoke, "binary": str(binary), "engines": [], "failures": []}
    receiver = Receiver()
    try:
        report["receiver_alone"] = receiver_ceiling(receiver, max(1, args.seconds))
        with tempfile.TemporaryDirectory(prefix="roster-bench-events-") as tmp:
            for engine in args.engines.split(","):
                report["engines"].append(run_engine(args, engine, binary, Path(tmp) / engine, receiver, users))
                report["failures"] += [f"{engine}: {f}" for f in report["engines"][-1]["failures"]]
    finally:
        receiver.stop()
    report["elapsed_seconds"] = time.perf_counter() - started
    for e in report["engines"]:
        e["goals"] = [{"name": n, "value": v, "goal": g, "met": m} for n, v, g, m in goals(e)]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / ("events-smoke.json" if args.smoke else "events.json")).write_text(json.dumps(report, indent=2) + "\n")
    print_table(report)
    for failure in report["failures"]:
        log(f"FAILED: {failure}")
    return 1 if report["failures"] else 0


if __name__ == "__main__":
    sys.exit(run(parse()))
