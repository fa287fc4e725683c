"""The events benchmark's table and its goals (see events.py)."""

LABELS = {
    "register": "POST /auth/register, c=8",
    "login": "POST /auth/login, c=8",
    "refresh": "POST /auth/refresh, c=32",
    "update": "PATCH /users/me, c=32",
}
PATH_GOAL_PERCENT = -5.0
DELIVERY_GOAL = 2000.0


def goals(engine):
    """The issue's goals for one engine, as (name, value, goal, met), of the parts run."""
    checks = []
    for name, m in engine.get("request_path", {}).get("medians", {}).items():
        diff = m["difference_percent"]
        checks.append((f"{name} req/s with events, vs without (%)", diff, ">= -5", diff >= PATH_GOAL_PERCENT))
        cpu = m["roster_cpu_ms"]["difference_percent"]
        checks.append((f"{name} Roster CPU per request with events, vs without (%)", cpu, "<= +5", cpu <= -PATH_GOAL_PERCENT))
    for name, m in engine.get("paced", {}).get("medians", {}).items():
        diff = m["difference_percent"]["p50"]
        checks.append((f"{name} at {m['rate']}/s, median time with events, vs without (%)", diff, "<= +5",
                       diff <= -PATH_GOAL_PERCENT))
    if "delivery" in engine:
        rate = engine["delivery"]["live"].get("first_to_last_per_second", 0.0)
        checks.append(("deliveries/s while events are made (bounded by their rate)", rate, ">= 2000",
                       rate >= DELIVERY_GOAL))
        drain = engine["delivery"]["backlog"].get("first_to_last_per_second", 0.0)
        checks.append(("deliveries/s draining a backlog", drain, ">= 2000", drain >= DELIVERY_GOAL))
    return checks


def ms(p):
    return f"{p['p50']:.1f} / {p['p90']:.1f} / {p['p99']:.1f} / {p['max']:.1f}" if p.get("count") else "none"


def print_table(report):
    lines = []
    alone = report.get("receiver_alone")
    if alone:
        lines.append(f"\nreceiver alone (wrk, c=32): {alone['rps']:,.0f} deliveries/s, p99 {alone['p99_ms']:.2f} ms")
    for e in report["engines"]:
        if "request_path" in e:
            request_path_table(lines, e)
        if "delivery" in e:
            delivery_tables(lines, e)
        if "paced" in e:
            paced_table(lines, e)
        lines.append(f"\n{'goal':<64}{'value':>10}  {'goal':<8}")
        for name, value, goal, met in goals(e):
            lines.append(f"{name:<64}{value:>10.1f}  {goal:<8}{'met' if met else 'MISSED'}")
    print("\n".join(lines))


def request_path_table(lines, e):
    path = e["request_path"]
    runs = path["runs"]
    pinned = ", Roster on a core of its own (--pin)" if path.get("pinned") else ""
    lines.append(f"\n== {e['engine']}: request path{pinned}, {len(runs['without'])} runs each way, alternating ==")
    lines.append(f"{'scenario':<28}{'without':>10}{'with':>10}{'diff %':>8}   runs without | with (req/s)")
    for name, m in path["medians"].items():
        each = lambda config: " ".join(f"{r[name]['rps']:.0f}" for r in runs[config])
        lines.append(f"{LABELS[name]:<28}{m['without']:>10.0f}{m['with']:>10.0f}{m['difference_percent']:>+8.1f}   "
                     f"{each('without')} | {each('with')}")
    lines.append(f"{'Roster CPU ms per request':<28}{'without':>10}{'with':>10}{'diff %':>8}")
    for name, m in path["medians"].items():
        cpu = m["roster_cpu_ms"]
        lines.append(f"{LABELS[name]:<28}{cpu['without']:>10.3f}{cpu['with']:>10.3f}{cpu['difference_percent']:>+8.1f}")
    lines.append("delivered during the runs with a webhook: " + ", ".join(f"{r['delivered']:,}" for r in runs["with"])
                 + "; published to NATS: " + ", ".join(f"{r['published']:,.0f}" for r in runs["with"])
                 + "; receiver CPU: " + ", ".join(f"{r['receiver_cpu_seconds']:.1f} s" for r in runs["with"]))


def delivery_tables(lines, e):
    d = e["delivery"]
    lines.append(f"\n== {e['engine']}: delivery to one endpoint ({d['users']} accounts, ordered) ==")
    lines.append(f"{'events made':<28}{'made in':>10}{'per s':>10}{'first->last/s':>15}{'total/s':>10}"
                 f"{'CPU µs/event':>14}{'repeats':>9}")
    for label, run in (("while enabled", d["live"]), ("as a backlog", d["backlog"])):
        made = run["events"] / run["made_seconds"] if run["made_seconds"] else 0.0
        cpu = run["roster_cpu_seconds"] / max(1, run["delivered"]) * 1e6
        lines.append(f"{run['events']:>8,} {label:<19}{run['made_seconds']:>9.1f}s{made:>10.0f}"
                     f"{run.get('first_to_last_per_second', 0):>15.0f}{run.get('total_per_second', 0):>10.0f}"
                     f"{cpu:>14.0f}{run['repeats']:>9}")
    lines.append(f"last receipt after the last answer: {d['live'].get('after_last_answer_seconds', 0):.2f} s; "
                 f"NATS stream {d['nats_stream_events']:,} events, the log {d['log_events']:,}")
    lat = e["latency"]
    lines.append(f"\n== {e['engine']}: latency, {lat['events']} updates at {lat['offered_per_second']:.0f}/s "
                 f"(ms: p50 / p90 / p99 / max) ==")
    lines.append(f"{'request answered':<28}{ms(lat['answer_ms'])}")
    lines.append(f"{'answer -> webhook receipt':<28}{ms(lat['webhook_ms'])}")
    lines.append(f"{'answer -> NATS receipt':<28}{ms(lat['nats_ms'])}")


def paced_table(lines, e):
    runs = e["paced"]["runs"]
    lines.append(f"\n== {e['engine']}: the request path at a fixed rate, {len(runs['without'])} runs each way, "
                 f"alternating (ms: p50 / p90 / p99, medians of the runs) ==")
    lines.append(f"{'scenario':<28}{'without':>24}{'with':>24}   diff % p50 / p90 / p99   Roster CPU ms/request")
    for name, m in e["paced"]["medians"].items():
        each = lambda config: " / ".join(f"{m[config][q]:.1f}" for q in ("p50", "p90", "p99"))
        diff = " / ".join(f"{m['difference_percent'][q]:+.1f}" for q in ("p50", "p90", "p99"))
        label = f"{name} at {m['rate']}/s"
        cpu = " / ".join(f"{m[config].get('roster_cpu_ms', float('nan')):.2f}" for config in ("without", "with"))
        lines.append(f"{label:<28}{each('without'):>24}{each('with'):>24}   {diff}   {cpu}")
