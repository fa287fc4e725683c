"""Part 4 of the events benchmark: the request path at a fixed rate below saturation,
without and with a webhook endpoint and NATS, alternating.

Part 1 runs each scenario as fast as Roster answers. On this host's two cores that
measures the whole machine: wrk, the receiver, NATS and PostgreSQL share the cores with
Roster, and Argon2 (memory-hard) runs slower beside any other busy process, so req/s
with events leaving Roster falls by what the receiver and NATS take, not by what Roster's
request path does. Here requests start at a set rate (an open loop, `load.paced`),
about a third of what the host can answer, and what is compared is how long each one
takes: what a caller of Roster sees when events also go out. Goal: the median within
5 % of the run without.
"""

import concurrent.futures
import json

import load
from events_check import cpu_seconds, percentiles
from harness import PASSWORD, log, login

# Requests per second and how many seconds each runs; the first `WARM_UP` of the
# answers are left out (fresh connections, a fresh database's first pages).
RATES = {"register": 30, "login": 30, "refresh": 100, "update": 200}
SMOKE_RATE = 5
WARM_UP = 0.1


def scenario_requests(name, rig, tokens, count, run):
    """`count` requests of scenario `name`, each ready to send (see `load.paced`)."""
    if name == "register":
        return [load.request_bytes("POST", "/api/v1/auth/register", None, json.dumps(
            {"username": f"paced{run}_{i}", "email": f"paced{run}_{i}@bench.example", "password": PASSWORD}))
            for i in range(count)]
    if name == "login":
        body = json.dumps({"login": "bench_p0", "password": PASSWORD})
        return [load.request_bytes("POST", "/api/v1/auth/login", None, body) for _ in range(count)]
    if name == "refresh":
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            pairs = list(pool.map(lambda _: login(rig.base, "bench_p0"), range(count)))
        return [load.request_bytes("POST", "/api/v1/auth/refresh", None,
                                   json.dumps({"refresh_token": p["refresh_token"]})) for p in pairs]
    return [load.request_bytes("PATCH", "/api/v1/users/me", tokens[i % len(tokens)],
                               json.dumps({"full_name": f"Paced {run} {i}"})) for i in range(count)]


def one_run(rig, tokens, rates, seconds, run):
    """Every scenario once at its rate; returns each one's latencies (ms) and failures."""
    measured = {}
    for name, rate in rates.items():
        count = max(1, int(rate * seconds))
        requests = list(enumerate(scenario_requests(name, rig, tokens, count, run)))
        cpu_before = cpu_seconds(rig.server.process.pid)
        paced = load.paced(rig.port, requests, rate)
        # Roster's CPU per request, with what its sender and publisher did meanwhile.
        cpu_ms = (cpu_seconds(rig.server.process.pid) - cpu_before) * 1000 / count
        answers = sorted(paced["answers"], key=lambda a: a[1])
        kept = answers[int(len(answers) * WARM_UP):]
        expected = 201 if name == "register" else 200
        measured[name] = dict(percentiles([(answered - sent) * 1000 for _, sent, answered, _ in kept]),
                              rate=rate, roster_cpu_ms=cpu_ms, failures=sum(1 for *_, status in answers if status != expected))
    return measured


def paced_path(engine, make_rig, workdir, rounds, seconds, smoke, scenarios=tuple(RATES)):
    """Part 4: each of `scenarios` at its rate, A B A B ..., on a fresh database each run."""
    unknown = set(scenarios) - set(RATES)
    assert not unknown, f"no such scenario in part 4: {', '.join(sorted(unknown))}"
    rates = {name: SMOKE_RATE if smoke else RATES[name] for name in scenarios}
    runs = {"without": [], "with": []}
    for round_ in range(rounds):
        for config in ("without", "with"):
            log(f"{engine}: request path at a fixed rate, round {round_ + 1} of {rounds}, {config} a webhook and NATS")
            rig = make_rig(workdir / f"paced-{round_}-{config}", config == "with")
            try:
                _, tokens = rig.users(4, "bench_p")
                runs[config].append(one_run(rig, tokens, rates, seconds, f"{round_}{config[0]}"))
            finally:
                rig.close()
    median = lambda values: sorted(values)[len(values) // 2]
    medians = {}
    for name in rates:
        per = {config: {q: median([r[name][q] for r in runs[config]]) for q in ("p50", "p90", "p99", "roster_cpu_ms")}
               for config in runs}
        medians[name] = dict(per, rate=rates[name], difference_percent={
            q: (per["with"][q] - per["without"][q]) / per["without"][q] * 100 for q in ("p50", "p90", "p99")})
    return {"runs": runs, "medians": medians}
