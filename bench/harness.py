"""What the benchmark scripts share: where things are, starting Roster on a fresh database,
a small HTTP client, and driving load with wrk (the Lua scripts of the common scenarios).

`run.py` (the main scenarios) and `events.py` (events and their delivery) import it.
"""

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

    def __init__(self, binary, env, logfile, cpus=None):
        """`cpus`: the cores Roster may run on (all when None; see `pinning.py`)."""
        self.binary, self.env, self.logfile, self.cpus = binary, env, logfile, cpus
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = None

    def start(self):
        env = dict(self.env, PORT=str(self.port))
        started = time.perf_counter()
        pin = (lambda: os.sched_setaffinity(0, self.cpus)) if self.cpus else None
        self.process = subprocess.Popen([str(self.binary), "serve"], env=env, stdout=subprocess.DEVNULL,
                                        stderr=self.logfile, preexec_fn=pin)
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
        "errors": {kind: raw[kind] for kind in ("connect", "read", "write", "status", "timeout") if raw[kind]},
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


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"
