"""A minimal NATS client for the events benchmark, over a raw socket (the NATS protocol
is text): JetStream API requests (a stream's message count, deleting a stream) and one
core subscription that notes the arrival time (CLOCK_MONOTONIC) and body of every
message on a subject, as Roster's JetStream publications reach it.

No client library: the harness needs only these few commands, and a reader thread that
stamps arrivals as they come.
"""

import itertools
import json
import queue
import socket
import threading
import time

NATS_URL = "nats://127.0.0.1:4222"


class Nats:
    def __init__(self, url=NATS_URL):
        host, port = url.replace("nats://", "").split(":")
        self.socket = socket.create_connection((host, int(port)), timeout=10)
        self.socket.settimeout(None)
        self.reader = self.socket.makefile("rb")
        if not self.reader.readline().startswith(b"INFO "):
            raise OSError("not a NATS server")
        self.lock = threading.Lock()
        self.sids = itertools.count(1)
        self.waiting = {}  # sid -> queue of replies
        self.messages = {}  # sid -> list of (arrival, body)
        self.send(b'CONNECT {"verbose":false,"pedantic":false,"headers":true,"no_responders":true}\r\n')
        threading.Thread(target=self.read, daemon=True).start()

    def send(self, data):
        with self.lock:
            self.socket.sendall(data)

    def read(self):
        try:
            while line := self.reader.readline():
                now = time.monotonic()
                if line.startswith((b"MSG ", b"HMSG ")):
                    fields = line.split()
                    sid, total = int(fields[2]), int(fields[-1])
                    data = self.reader.read(total + 2)[:total]
                    if fields[0] == b"HMSG":
                        data = data[int(fields[-2]):]
                    if sid in self.waiting:
                        self.waiting[sid].put(data)
                    elif sid in self.messages:
                        self.messages[sid].append((now, data))
                elif line.startswith(b"PING"):
                    self.send(b"PONG\r\n")
        except (OSError, ValueError):
            pass

    def request(self, subject, payload=b"", timeout=10):
        """Sends `payload` to `subject` and returns the JSON reply."""
        sid = next(self.sids)
        replies = self.waiting[sid] = queue.Queue()
        inbox = f"_INBOX.bench.{sid}"
        self.send(f"SUB {inbox} {sid}\r\nPUB {subject} {inbox} {len(payload)}\r\n".encode() + payload + b"\r\n")
        try:
            return json.loads(replies.get(timeout=timeout) or b"{}")
        finally:
            self.send(f"UNSUB {sid}\r\n".encode())
            del self.waiting[sid]

    def subscribe(self, subject):
        """Starts noting every message on `subject`; returns the list they land in."""
        sid = next(self.sids)
        arrivals = self.messages[sid] = []
        self.send(f"SUB {subject} {sid}\r\n".encode())
        self.request("$JS.API.INFO")  # a round trip: the subscription is in place
        return arrivals

    def stream_messages(self, stream):
        """How many messages the stream holds (None when there is no such stream)."""
        info = self.request(f"$JS.API.STREAM.INFO.{stream}")
        return info.get("state", {}).get("messages")

    def delete_stream(self, stream):
        self.request(f"$JS.API.STREAM.DELETE.{stream}")

    def close(self):
        try:
            self.socket.close()
        except OSError:
            pass
