"""Request load from Python for the events benchmark, over HTTP/1.1 keep-alive
connections: `flood` sends a list of requests as fast as Roster answers them, `paced`
starts one every 1/rate seconds whatever the answers (an open loop), noting when each
was sent and answered (CLOCK_MONOTONIC, as the receiver notes arrivals).

wrk runs the throughput scenarios; these two exist because the events scenarios need a
set number of changes made (each one event) and each answer's time.
"""

import asyncio
import collections
import time


def request_bytes(method, path, token, body):
    """One HTTP/1.1 request, ready to send on a kept-alive connection (with the bearer
    `token` unless it is None)."""
    payload = body.encode()
    bearer = f"Authorization: Bearer {token}\r\n" if token else ""
    head = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{bearer}"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n")
    return head.encode() + payload


class Connection:
    def __init__(self, reader, writer):
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port):
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def exchange(self, request):
        """Sends one request; returns the answer's status (its body is read and dropped)."""
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        lower = head.lower()
        if b"transfer-encoding: chunked" in lower:
            while size := int((await self.reader.readline()).strip(), 16):
                await self.reader.readexactly(size + 2)
            await self.reader.readline()
        else:
            start = lower.find(b"content-length:")
            if start >= 0:
                length = int(lower[start + 15:lower.find(b"\r\n", start)])
                await self.reader.readexactly(length)
        return status

    def close(self):
        self.writer.close()


async def _flood(port, requests, connections):
    statuses = collections.Counter()
    pending = iter(requests)

    async def worker():
        connection = await Connection.open(port)
        try:
            for request in pending:
                statuses[await connection.exchange(request)] += 1
        finally:
            connection.close()

    started = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(connections)))
    return {"started": started, "ended": time.monotonic(), "statuses": dict(statuses)}


def flood(port, requests, connections=32):
    """Sends every request of `requests` over `connections` connections, each waiting
    for its answer before the next; returns the times and the statuses counted."""
    return asyncio.run(_flood(port, requests, connections))


async def _paced(port, requests, rate):
    idle, answers, tasks = [], [], []

    async def one(key, request):
        connection = idle.pop() if idle else await Connection.open(port)
        sent = time.monotonic()
        status = await connection.exchange(request)
        answers.append((key, sent, time.monotonic(), status))
        idle.append(connection)

    started = time.monotonic()
    for index, (key, request) in enumerate(requests):
        delay = started + index / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(key, request)))
    await asyncio.gather(*tasks)
    for connection in idle:
        connection.close()
    return {"started": started, "ended": time.monotonic(), "answers": answers}


def paced(port, requests, rate):
    """Starts request `i` of `requests` (pairs of a key and the request) at `i / rate`
    seconds; returns `(key, sent, answered, status)` for each."""
    return asyncio.run(_paced(port, requests, rate))
