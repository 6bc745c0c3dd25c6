"""HTTP edge cases over a raw socket: no Content-Length (411), bodies over
max_body (413), short and aborted bodies, slow clients."""

import json
import os
import socket
import time

from harness import ServerTestCase, DEMO_PIPELINE, AUTH_HEADERS


def padded(fields, size):
    """A valid body of exactly size bytes: JSON padded with spaces."""
    b = json.dumps({"backfill": fields}).encode()
    assert len(b) <= size
    return b + b" " * (size - len(b))


class HTTPMixin:

    def head(self, method, path, extra=(), length=None):
        lines = ["%s %s HTTP/1.1" % (method, path),
                 "Host: 127.0.0.1:%d" % self.server.port,
                 "Content-Type: application/json", "Connection: close"]
        lines += ["%s: %s" % kv for kv in AUTH_HEADERS.items()]
        if length is not None:
            lines.append("Content-Length: %d" % length)
        lines += list(extra)
        return ("\r\n".join(lines) + "\r\n\r\n").encode()


class TestHTTP(HTTPMixin, ServerTestCase):

    def setUp(self):
        if not hasattr(type(self), "bid"):
            type(self).bid = self.create(name="http")["id"]

    def path(self):
        return "/api/backfills/%d" % self.bid

    def test_headers_of_every_answer(self):
        # a security review's: never sniffed, never cached; and the
        # request's id (nginx's $request_id) to find it in the logs
        ids = set()
        for method, path, body in (
                ("GET", "/api/backfills/6", None),
                ("GET", "/api/backfills/999999", None),
                ("PUT", "/api/backfills/6", {"backfill": {"nope": 1}}),
                ("GET", "/api/status", None),
                ("OPTIONS", "/api/backfills", None),
                ("GET", "/api/nope", None)):
            with self.subTest(method=method, path=path):
                r = self.req(method, path, body)
                self.assertEqual(r.header("X-Content-Type-Options"),
                                 "nosniff", r.headers)
                self.assertEqual(r.header("Cache-Control"), "no-store")
                rid = r.header("X-Request-Id")
                self.assertRegex(rid or "", r"^[0-9a-f]{32}$")
                ids.add(rid)
                # what a browser's code may read of the answer
                self.assertEqual(r.header("Access-Control-Expose-Headers"),
                                 "ETag, Location, Retry-After, X-Request-Id, "
                                 "Idempotent-Replayed")
        self.assertEqual(len(ids), 6)

    def test_access_log_names_the_request(self):
        """nginx.conf.example's log_format: a line per request with its
        status, the times (nginx's, the worker's) and the X-Request-Id
        the answer carries."""
        r = self.req("GET", "/api/backfills/6")
        rid = r.header("X-Request-Id")
        log = os.path.join(self.server.rundir, "access.log")
        line = None
        deadline = time.monotonic() + 5     # buffered: flushed each second
        while line is None and time.monotonic() < deadline:
            time.sleep(0.2)
            if os.path.exists(log):
                with open(log) as f:
                    line = next((ln for ln in f if ln.rstrip().endswith(
                        " " + rid)), None)
        self.assertIsNotNone(line, "no access log line for %s" % rid)
        self.assertRegex(line, r'^127\.0\.0\.1 \[[-0-9T:+]+\] '
                         r'"GET /api/backfills/6 HTTP/1\.1" 200 \d+ '
                         r'\d+\.\d{3} \d+\.\d{3} [0-9a-f]{32}$')

    def test_no_content_length_411(self):
        for method, path in (("PUT", self.path()),
                             ("POST", "/api/pipelines/%s/backfills"
                              % DEMO_PIPELINE)):
            with self.subTest(method=method), self.unchanged():
                r = self.server.raw(self.head(method, path))
                self.assertIsNotNone(r, "no answer")
                self.assertError(r, 411, "length_required")

    def test_content_length_zero_is_invalid_json(self):
        for method, path in (("PUT", self.path()),
                             ("POST", "/api/pipelines/%s/backfills"
                              % DEMO_PIPELINE)):
            with self.subTest(method=method), self.unchanged():
                r = self.server.raw(self.head(method, path, length=0))
                self.assertError(r, 400, "invalid_json")

    def test_body_over_default_max_413(self):
        for size in (65537, 70000, 1 << 20):
            for method, path in (("PUT", self.path()),
                                 ("POST", "/api/pipelines/%s/backfills"
                                  % DEMO_PIPELINE)):
                with self.subTest(size=size, method=method), \
                        self.unchanged():
                    body = padded({"name": "big"}, size)
                    r = self.req(method, path, body)
                    self.assertError(r, 413, "payload_too_large")

    def test_body_at_default_max_ok(self):
        r = self.req("PUT", self.path(), padded({"name": "max"}, 65536))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["backfill"]["name"], "max")

    def test_huge_declared_length_answered_early(self):
        with self.unchanged():
            t0 = time.monotonic()
            r = self.server.raw(self.head("PUT", self.path(),
                                          length=100000000), timeout=10)
            self.assertIsNotNone(r, "closed without an answer")
            self.assertError(r, 413, "payload_too_large")
            self.assertLess(time.monotonic() - t0, 5)

    def test_short_body_then_close(self):
        body = json.dumps({"backfill": {"name": "short-body"}}).encode()
        with self.unchanged():
            for cut in (0, 1, len(body) // 2, len(body) - 1):
                data = self.head("PUT", self.path(), length=len(body))
                self.server.raw(data + body[:cut], close_early=True)
            time.sleep(0.5)
        with self.unchanged():
            data = self.head("PUT", self.path(), length=len(body))
            r = self.server.raw(data + body[:-1], close_write=True, timeout=15)
            if r is not None:
                self.assertNotEqual(r.status // 100, 2, r)
            time.sleep(0.2)
        self.assertNotEqual(self.show(self.bid)["name"], "short-body")

    def test_longer_body_than_length(self):
        # bytes after Content-Length are not part of the body
        body = b'{"backfill": {"name": "exact"}}'
        data = self.head("PUT", self.path(), length=len(body))
        r = self.server.raw(data + body + b"garbage")
        self.assertIsNotNone(r)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["backfill"]["name"], "exact")

    def test_slow_clients_do_not_block_others(self):
        socks = []
        try:
            body = json.dumps({"backfill": {"name": "slow"}}).encode()
            for _ in range(2 * self.server.workers + 2):
                s = socket.create_connection(("127.0.0.1", self.server.port),
                                             timeout=5)
                s.sendall(self.head("PUT", self.path(), length=len(body)) +
                          body[:5])
                socks.append(s)
            time.sleep(0.3)
            t0 = time.monotonic()
            for _ in range(3):
                r = self.req("GET", self.path(), timeout=5)
                self.assertEqual(r.status, 200, r)
            self.assertLess(time.monotonic() - t0, 5)
        finally:
            for s in socks:
                s.close()
        time.sleep(0.3)
        self.assertNotEqual(self.show(self.bid)["name"], "slow")

    def test_keep_alive_several_requests(self):
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port,
                                          timeout=10)
        try:
            for i in range(5):
                conn.request("PUT", self.path(),
                             json.dumps({"backfill": {"name": "ka%d" % i}}),
                             dict(AUTH_HEADERS,
                                  **{"Content-Type": "application/json"}))
                r = conn.getresponse()
                data = r.read()
                self.assertEqual(r.status, 200, data)
                self.assertEqual(json.loads(data)["backfill"]["name"],
                                 "ka%d" % i)
        finally:
            conn.close()


class TestSmallMaxBody(HTTPMixin, ServerTestCase):
    EXTRA_CONF = "max_body = 1024"

    def test_limit_is_the_conf_value(self):
        bid = self.create(name="small")["id"]
        path = "/api/backfills/%d" % bid
        r = self.req("PUT", path, padded({"name": "at-limit"}, 1024))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["backfill"]["name"], "at-limit")
        for size in (1025, 2048, 65536):
            with self.subTest(size=size), self.unchanged():
                r = self.req("PUT", path, padded({"name": "over"}, size))
                self.assertError(r, 413, "payload_too_large")
                r = self.req("POST", "/api/pipelines/%s/backfills"
                             % DEMO_PIPELINE, padded({"name": "over"}, size))
                self.assertError(r, 413, "payload_too_large")
        with self.unchanged():
            body = padded({"name": "over"}, 5000)
            r = self.server.raw(self.head("PUT", path, length=5000) + body)
            self.assertIsNotNone(r, "closed without an answer")
            self.assertError(r, 413, "payload_too_large")
