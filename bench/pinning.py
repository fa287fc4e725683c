"""Roster on a core of its own, everything else on the others (`events.py --pin`).

At saturation on a two-core host, wrk, the webhook receiver, NATS and PostgreSQL share
the cores with Roster, so Roster's req/s with events going out falls by what those
neighbours take as well as by what Roster itself does. With `--pin`, Roster runs on the
first core and every other process of the run on the rest: the benchmark and its
children (wrk, the receiver), and the host's `nats-server` and `postgres` processes
(every thread; PostgreSQL's new backends inherit the postmaster's). Roster's threads
(its requests, hashing, the sequencer, the webhook sender and the NATS publisher) then
have one core, and what events cost Roster shows in its req/s alone. The neighbours are
given every core back afterwards.
"""

import os
import subprocess

NEIGHBOURS = ("nats-server", "postgres")


def threads_of(name):
    """Every thread id of every process called `name`."""
    found = subprocess.run(["pgrep", "-x", name], capture_output=True, text=True).stdout.split()
    tids = []
    for pid in found:
        try:
            tids += [int(t) for t in os.listdir(f"/proc/{pid}/task")]
        except FileNotFoundError:
            pass  # Ended meanwhile.
    return tids


def set_affinity(tids, cpus):
    for tid in tids:
        try:
            os.sched_setaffinity(tid, cpus)
        except (ProcessLookupError, PermissionError):
            pass  # Ended meanwhile, or not ours to move: it keeps every core.


class Pinned:
    """A context: inside it `roster_cpus` is the core for Roster, and the benchmark, the
    processes in `pids` (with their threads) and the host's neighbours run on the others."""

    def __init__(self, pids=()):
        self.every = os.sched_getaffinity(0)
        assert len(self.every) >= 2, "--pin needs at least two cores"
        first = min(self.every)
        self.roster_cpus = {first}
        self.others = self.every - {first}
        self.pids = list(pids)

    def tids(self):
        own = []
        for pid in self.pids:
            own += [int(t) for t in os.listdir(f"/proc/{pid}/task")]
        return own + [t for name in NEIGHBOURS for t in threads_of(name)]

    def __enter__(self):
        os.sched_setaffinity(0, self.others)
        set_affinity(self.tids(), self.others)
        return self

    def __exit__(self, *_):
        os.sched_setaffinity(0, self.every)
        set_affinity(self.tids(), self.every)
        return False
