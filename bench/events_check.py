"""Reading what the events benchmark received: waiting for deliveries, checking their
Standard Webhooks signatures, matching events to the requests that made them, and the
percentiles of the latencies."""

import base64
import collections
import hashlib
import hmac
import json
import os
import time


def cpu_seconds(pid):
    """User and system CPU time a process has used so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_for(read, target, stall=30.0):
    """Polls `read()` until it reaches `target`; gives up (False) once it has not moved
    for `stall` seconds."""
    last, moved = None, time.monotonic()
    while True:
        value = read()
        if value >= target:
            return True
        if value != last:
            last, moved = value, time.monotonic()
        elif time.monotonic() - moved > stall:
            return False
        time.sleep(0.02)


def signed(key, webhook_id, timestamp, body, signatures):
    """Whether one of the space-separated `v1,` signatures is the HMAC-SHA256 of
    `id.timestamp.body` keyed with the secret's bytes."""
    mac = hmac.new(key, f"{webhook_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    expected = "v1," + base64.b64encode(mac).decode()
    return any(hmac.compare_digest(expected, s) for s in signatures.split())


def deliveries(dump, secret, failures, what):
    """The receiver's dump as {event id: (first arrival, event)}, and how many arrived
    again (delivery is at least once); every signature checked: a bad signature, a
    `webhook-id` other than the event's id or a body that is not an event is a failure."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    got, bad, repeats = {}, 0, 0
    for arrived, webhook_id, timestamp, signature, body in dump:
        try:
            event = json.loads(body)
        except ValueError:
            event = {}
        if not signed(key, webhook_id, timestamp, body, signature) or event.get("id") != webhook_id:
            bad += 1
            continue
        if webhook_id in got:
            repeats += 1
        else:
            got[webhook_id] = (arrived, event)
    if bad:
        failures.append(f"{what}: {bad} deliveries were not signed right or named another event")
    return got, repeats


def receipt_latencies(answers, receipts, failures, what):
    """Seconds from each answer to the arrival of its event, in ms. `answers` are
    (account id, sent, answered) of successful updates; `receipts` (arrival, event).
    An account's k-th update (by answer) is its k-th `user.updated` (by
    `subjectsequence`): each account's updates follow one another closely but seldom
    overlap, and when two do, their events come a few ms apart either way."""
    arrived = collections.defaultdict(dict)
    for t, event in receipts:
        if event.get("type") == "user.updated":
            seen = arrived[event["subject"]]
            seen[event["subjectsequence"]] = min(t, seen.get(event["subjectsequence"], t))
    answered = collections.defaultdict(list)
    for subject, _, at in answers:
        answered[subject].append(at)
    latencies, unmatched = [], 0
    for subject, times in answered.items():
        arrivals = [t for _, t in sorted(arrived[subject].items())]
        unmatched += abs(len(arrivals) - len(times))
        latencies += [(t - at) * 1000 for at, t in zip(sorted(times), arrivals)]
    if unmatched:
        failures.append(f"{what}: {unmatched} updates and events could not be matched")
    return latencies


def percentiles(values):
    xs = sorted(values)
    if not xs:
        return {"count": 0}
    at = lambda q: xs[min(len(xs) - 1, int(round(q / 100 * (len(xs) - 1))))]
    return {"count": len(xs), "p50": at(50), "p90": at(90), "p99": at(99), "max": xs[-1], "min": xs[0]}
