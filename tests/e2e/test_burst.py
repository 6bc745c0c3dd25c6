"""A burst: 1 500 POSTs sent at once, each on its own connection, must
all be created (201), none refused by nginx (its 503 when it cannot hand
a request to a worker: the workers' socket's listen queue was full) and
none lost (every one acknowledged is in the database). 1 500 is above
spawn-fcgi's default queue (1024) as well as the pool's old one (128)."""

import resource
import selectors
import socket
import time

from harness import (ServerTestCase, AUTH_HEADERS, DEMO_PIPELINE,
                     parse_raw_response, _complete)

BURST = 1500


def enough_descriptors(n):
    """Raises this process's open-file limit to n where allowed; returns
    whether it is at least n."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n and (hard == resource.RLIM_INFINITY or hard >= n):
        resource.setrlimit(resource.RLIMIT_NOFILE, (n, hard))
        soft = n
    return soft >= n


def post(port, name):
    body = b'{"backfill": {"name": "%s"}}' % name.encode()
    lines = ["POST /api/pipelines/%s/backfills HTTP/1.1" % DEMO_PIPELINE,
             "Host: 127.0.0.1:%d" % port, "Connection: close",
             "Content-Type: application/json",
             "Content-Length: %d" % len(body)]
    lines += ["%s: %s" % kv for kv in AUTH_HEADERS.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class TestBurst(ServerTestCase):

    def test_burst_of_posts_all_created(self):
        if not enough_descriptors(BURST + 100):
            self.skipTest("needs %d open files (ulimit -n)" % (BURST + 100))
        port = self.server.port
        names = ["burst-%04d" % i for i in range(BURST)]
        socks = {}
        sel = selectors.DefaultSelector()
        try:
            # Every connection open and every request sent before any
            # answer is read: nginx has them all in hand at once.
            for n in names:
                s = socket.create_connection(("127.0.0.1", port), timeout=30)
                socks[s] = [n, b""]
            for s in socks:
                s.sendall(post(port, socks[s][0]))
                s.setblocking(False)
                sel.register(s, selectors.EVENT_READ)
            deadline = time.monotonic() + 120
            while sel.get_map() and time.monotonic() < deadline:
                for key, _ in sel.select(1):
                    s = key.fileobj
                    try:
                        c = s.recv(65536)
                    except (BlockingIOError, InterruptedError):
                        continue
                    except ConnectionError:
                        c = b""
                    socks[s][1] += c
                    if not c or _complete(socks[s][1]):
                        sel.unregister(s)
        finally:
            sel.close()
            for s in socks:
                s.close()

        statuses, created = {}, {}
        for name, raw in socks.values():
            r = parse_raw_response(raw) if raw else None
            st = r.status if r is not None else "no answer"
            statuses[st] = statuses.get(st, 0) + 1
            if st == 201:
                created[name] = r.json["backfill"]["id"]
        self.assertEqual(statuses, {201: BURST},
                         "answers to %d simultaneous POSTs" % BURST)
        stored = {}
        for offset in range(0, BURST + 1000, 1000):
            r = self.req("GET", "/api/pipelines/%s/backfills?_limit=1000"
                         "&_offset=%d" % (DEMO_PIPELINE, offset))
            self.assertEqual(r.status, 200, r)
            stored.update((b["name"], b["id"]) for b in r.json["backfills"]
                          if (b["name"] or "").startswith("burst-"))
        self.assertEqual(stored, created, "acknowledged creates not stored")
