"""A client that sends its headers with Content-Length: 1000, only 10
bytes of body, then closes: nothing changes (the whole database, dumped
before and after) and the server keeps answering with the same workers.
Through nginx (which buffers the body, so the worker never sees it), and
straight to the workers' socket (the worker itself reads a short body:
the FastCGI stream ends early, or the connection drops mid-body)."""

import socket
import threading

from common import (AUTH, PIPELINE, PoolCase, dump, fcgi_request)

BODY = b'{"backfill": {"name": "never"}}'


def head(method, path, length):
    lines = ["%s %s HTTP/1.1" % (method, path), "Host: localhost",
             "Content-Type: application/json",
             "Content-Length: %d" % length]
    lines += ["%s: %s" % kv for kv in AUTH.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


class TestDisconnect(PoolCase):
    WORKERS = 2

    def short_http(self, method, path):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        try:
            s.sendall(head(method, path, 1000) + BODY[:10])
        finally:
            s.close()

    def assertServes(self, workers):
        for _ in range(2 * self.WORKERS):
            r = self.req("GET", "/api/backfills/6")
            self.assertEqual(r.status, 200, r)
        r = self.req("GET", "/api/status")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.workers(), workers, "workers were replaced")

    def test_client_leaves_mid_body_through_nginx(self):
        workers, before = self.workers(), dump(self.db)
        targets = [("PUT", "/api/backfills/6"),
                   ("PUT", "/api/pipelines/%s/backfills/6" % PIPELINE),
                   ("POST", "/api/pipelines/%s/backfills" % PIPELINE),
                   ("PUT", "/api/pipeline_runs/1")]
        for method, path in targets:
            for _ in range(5):
                self.short_http(method, path)
        # and 20 at once
        ts = [threading.Thread(target=self.short_http, args=targets[i % 3])
              for i in range(20)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(10)
        self.assertServes(workers)
        self.assertEqual(dump(self.db), before)

    def test_client_leaves_mid_body_at_the_worker(self):
        workers, before = self.workers(), dump(self.db)
        for method, path in (("PUT", "/api/backfills/6"),
                             ("POST", "/api/pipelines/%s/backfills"
                              % PIPELINE)):
            for _ in range(2 * self.WORKERS):
                # the connection drops after 10 bytes of the body
                r = fcgi_request(self.sock, method, path, BODY,
                                 content_length=1000, close_after=10)
                self.assertIsNone(r)
                # the stream ends after 10 bytes (CONTENT_LENGTH 1000):
                # the JSON 400 a plain CGI request gets for a short body
                r = fcgi_request(self.sock, method, path, BODY[:10],
                                 content_length=1000)
                self.assertProperError(r, 400, "invalid_json")
                # CONTENT_LENGTH smaller than what is sent: the worker reads
                # CONTENT_LENGTH bytes, an incomplete JSON: 400
                r = fcgi_request(self.sock, method, path, BODY,
                                 content_length=10)
                self.assertTrue(r is not None and r.status == 400, r)
        self.assertServes(workers)
        self.assertEqual(dump(self.db), before)

    def test_streamed_body_without_length(self):
        # No CONTENT_LENGTH, the body in the stream (a chunked request
        # passed on unbuffered): read to the stream's end, up to max_body
        # (64K here), refused past it; a stream broken off mid-body
        # changes nothing.
        workers, before = self.workers(), dump(self.db)
        path = "/api/backfills/6"
        body = b'{"backfill": {"name": "streamed"}}'
        for length in (len(body), 65536):
            r = fcgi_request(self.sock, "PUT", path, body.ljust(length),
                             no_length=True)
            self.assertIsNotNone(r)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json["backfill"]["name"], "streamed")
        after = dump(self.db)
        self.assertNotEqual(after, before)
        r = fcgi_request(self.sock, "PUT", path,
                         b'{"backfill": {"name": "too big"}}'.ljust(65537),
                         no_length=True)
        self.assertProperError(r, 413, "payload_too_large")
        # broken off where what came is a whole JSON object
        cut = body.replace(b"streamed", b"cut off")
        r = fcgi_request(self.sock, "PUT", path, cut.ljust(200),
                         no_length=True, close_after=len(cut))
        self.assertIsNone(r)
        r = fcgi_request(self.sock, "PUT", path, b"", no_length=True)
        self.assertProperError(r, 411, "length_required")
        self.assertServes(workers)
        self.assertEqual(dump(self.db), after)
