#!/usr/bin/env python3
"""A fast webhook receiver for the events benchmark: answers every POST `200` at once and
keeps, per request, its arrival time (CLOCK_MONOTONIC, which every process on the host
shares) with the Standard Webhooks headers and the body, unparsed. Parsing and checking
signatures happen after the run, in the harness, so that the receiver does as little as
it can per delivery.

    python3 bench/receiver.py PORT

Control, on the same port: `GET /count` (deliveries kept), `GET /dump` (all of them as
JSON: `[[t, webhook-id, webhook-timestamp, webhook-signature, body], ...]`), `POST
/reset` (forget them). One asyncio loop on one thread, HTTP/1.1 keep-alive, no
framework; `wrk` against it shows its ceiling (`events.py` does so in every run).
"""

import asyncio
import json
import sys
import time

OK = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"
received = []


def header(head, lower, name):
    """The value of header `name` (lower-case bytes) in a raw request head (`lower` is
    the head in lower case, where the name is looked for), or b""."""
    start = lower.find(b"\n" + name + b":")
    if start < 0:
        return b""
    start += len(name) + 2
    end = head.find(b"\r\n", start)
    return head[start:end if end >= 0 else len(head)].strip()


def control(method, path):
    if path == b"/count":
        body = str(len(received)).encode()
    elif path == b"/dump":
        body = json.dumps([[t, i.decode(), ts.decode(), sig.decode(), b.decode(errors="replace")]
                           for t, i, ts, sig, b in received]).encode()
    elif path == b"/reset" and method == b"POST":
        received.clear()
        body = b"0"
    else:
        return b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n"
    return b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body)


class Receiver(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport
        self.buffer = b""

    def data_received(self, data):
        now = time.monotonic()
        buffer = self.buffer + data if self.buffer else data
        answers, lower = [], b""
        while True:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                break
            head = buffer[:end]
            lower = head.lower()
            length = int(header(head, lower, b"content-length") or 0)
            if len(buffer) < end + 4 + length:
                break
            body = buffer[end + 4:end + 4 + length]
            buffer = buffer[end + 4 + length:]
            method, _, rest = head.partition(b" ")
            path = rest.partition(b" ")[0]
            if method == b"POST" and path != b"/reset":
                received.append((now, header(head, lower, b"webhook-id"), header(head, lower, b"webhook-timestamp"),
                                 header(head, lower, b"webhook-signature"), body))
                answers.append(OK)
            else:
                answers.append(control(method, path))
        self.buffer = buffer
        if answers:
            self.transport.write(b"".join(answers))
            if b"\nconnection: close" in lower:
                self.transport.close()


async def serve(port):
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Receiver, "127.0.0.1", port, backlog=1024, reuse_address=True)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1])))
