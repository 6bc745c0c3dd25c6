"""Every error nginx answers itself is JSON in the service's shape
{"error": {"code", "message", "type"}}, with the status equal to code:
malformed request lines and headers sent over a raw socket to the nginx
of scripts/serve.sh (nginx.conf.example as rendered), and, with TLS
added to a copy of that conf, the certificate and plain-HTTP errors.

Not sent here: 502/503/504 (no worker answered; tests/fault/test_kill
and test_missing), nginx's own 500 and 411 (nothing in this conf makes
nginx produce them), 408 (nginx closes the connection without an
answer)."""

import os
import shutil
import socket
import ssl
import subprocess
import time

from harness import ServerTestCase, parse_raw_response, free_port

GET = b"GET /api/backfills/6 "

# (what is sent, status, type)
MALFORMED = [
    # versions nginx does not speak
    (GET + b"HTTP/2.0\r\nHost: x\r\n\r\n", 505, "http_version_not_supported"),
    (GET + b"HTTP/3.0\r\nHost: x\r\n\r\n", 505, "http_version_not_supported"),
    (GET + b"HTTP/10.0\r\nHost: x\r\n\r\n", 505, "http_version_not_supported"),
    (GET + b"HTTP/100.0\r\nHost: x\r\n\r\n", 505, "http_version_not_supported"),
    # request lines nginx cannot read
    (b"FOO\r\n\r\n", 400, "bad_request"),
    (b"get /api/backfills/6 HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad_request"),
    (b"GET /api/back fills HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad_request"),
    (b"GET /api/../../x HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad_request"),
    (b"GET /api/%00 HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad_request"),
    (b"GET http://[::1 HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad_request"),
    (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400, "bad_request"),
    (b"CONNECT x:443 HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad_request"),
    # headers
    (GET + b"HTTP/1.1\r\n\r\n", 400, "bad_request"),                 # no Host
    (GET + b"HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400, "bad_request"),
    (GET + b"HTTP/1.1\r\nHost: x/y\r\n\r\n", 400, "bad_request"),
    (GET + b"HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n",
     400, "bad_request"),                                           # 494
    (GET + b"HTTP/1.1\r\nHost: x\r\n" +
     b"".join(b"X-H%d: %s\r\n" % (i, b"a" * 7000) for i in range(6)) +
     b"\r\n", 400, "bad_request"),                                  # 494
    (b"GET /api/" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
     414, "uri_too_long"),
    (b"TRACE /api/backfills/6 HTTP/1.1\r\nHost: x\r\n\r\n",
     405, "method_not_allowed"),
    # bodies
    (b"PUT /api/backfills/6 HTTP/1.1\r\nHost: x\r\n"
     b"Content-Length: abc\r\n\r\n", 400, "bad_request"),
    (b"PUT /api/backfills/6 HTTP/1.1\r\nHost: x\r\n"
     b"Content-Length: 99999999999999999999\r\n\r\n", 400, "bad_request"),
    (b"PUT /api/backfills/6 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, "bad_request"),
    (b"PUT /api/backfills/6 HTTP/1.1\r\nHost: x\r\n"
     b"Transfer-Encoding: chunked\r\n\r\nzz\r\n", 400, "bad_request"),
    (b"PUT /api/backfills/6 HTTP/1.0\r\nHost: x\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, "bad_request"),
    (b"PUT /api/backfills/6 HTTP/1.1\r\nHost: x\r\n"
     b"Transfer-Encoding: gzip\r\n\r\n", 501, "not_implemented"),
    (b"PUT /api/backfills/6 HTTP/1.1\r\nHost: x\r\n"
     b"Content-Length: 5000000\r\n\r\n", 413, "payload_too_large"),
    # the error pages themselves are not reachable
    (b"GET /_error/400 HTTP/1.1\r\nHost: x\r\n\r\n", 404, "record_not_found"),
    (b"GET /_error/505 HTTP/1.1\r\nHost: x\r\n\r\n", 404, "record_not_found"),
]


class TestNginxErrors(ServerTestCase):

    def test_every_error_of_nginx_is_json(self):
        for data, status, etype in MALFORMED:
            with self.subTest(request=data[:60]):
                r = self.server.raw(data)
                self.assertIsNotNone(r, "no answer")
                self.assertError(r, status, etype)

    def test_head_gets_the_json_content_type(self):
        r = self.server.raw(b"HEAD /api/backfills/6 HTTP/2.0\r\n"
                            b"Host: x\r\n\r\n")
        self.assertEqual(r.status, 505, r)
        self.assertEqual(r.header("Content-Type"), "application/json")


def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, timeout=60,
                   stdin=subprocess.DEVNULL, capture_output=True)


class TestNginxTLSErrors(ServerTestCase):
    """A second nginx from the same rendered conf, its listen line made
    TLS with client certificates required, in front of the same
    workers."""

    @classmethod
    def setUpClass(cls):
        if shutil.which("openssl") is None:
            raise __import__("unittest").SkipTest("no openssl command")
        super().setUpClass()
        srv = cls.server
        cls.tls = d = os.path.join(srv.tmp, "tls")
        os.mkdir(d)
        os.chmod(d, 0o755)
        for name in ("ca", "server", "stranger"):
            openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-days", "1", "-subj", "/CN=%s" % name,
                    "-keyout", os.path.join(d, name + ".key"),
                    "-out", os.path.join(d, name + ".crt"))
        sock = os.path.join(srv.rundir, "backfills.sock")
        with open(os.path.join(srv.rundir, "nginx.conf")) as f:
            text = f.read()
        old = "listen 127.0.0.1:%d backlog=4096;" % srv.port
        assert old in text, "listen line not found in the rendered conf"
        cls.tls_port = free_port()
        text = text.replace(old, (
            "listen 127.0.0.1:%d ssl;\n"
            "        ssl_certificate %s/server.crt;\n"
            "        ssl_certificate_key %s/server.key;\n"
            "        ssl_client_certificate %s/ca.crt;\n"
            "        ssl_verify_client on;") % (cls.tls_port, d, d, d))
        text = text.replace(sock, "@SOCKET@").replace(srv.rundir, d)
        text = text.replace("@SOCKET@", sock)
        conf = os.path.join(d, "nginx.conf")
        with open(conf, "w") as f:
            f.write(text)
        cls.nginx = subprocess.Popen(
            ["nginx", "-p", d, "-c", conf, "-e", os.path.join(d, "error.log")],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, env=srv.env)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", cls.tls_port),
                                         timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        cls.tearDownClass()
        raise RuntimeError("the TLS nginx did not start")

    @classmethod
    def tearDownClass(cls):
        p = getattr(cls, "nginx", None)
        if p is not None and p.poll() is None:
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        super().tearDownClass()

    def tls_request(self, cert=None):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        if cert:
            ctx.load_cert_chain(os.path.join(self.tls, cert + ".crt"),
                                os.path.join(self.tls, cert + ".key"))
        raw = socket.create_connection(("127.0.0.1", self.tls_port),
                                       timeout=10)
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            s.sendall(b"GET /api/backfills/6 HTTP/1.1\r\nHost: localhost"
                      b"\r\nConnection: close\r\n\r\n")
            buf = b""
            while True:
                try:
                    c = s.recv(65536)
                except (ssl.SSLError, ConnectionResetError):
                    break
                if not c:
                    break
                buf += c
        return parse_raw_response(buf)

    def test_no_client_certificate_496(self):
        self.assertError(self.tls_request(), 400, "bad_request")

    def test_certificate_of_another_ca_495(self):
        self.assertError(self.tls_request("stranger"), 400, "bad_request")

    def test_plain_http_to_the_tls_port_497(self):
        s = socket.create_connection(("127.0.0.1", self.tls_port), timeout=10)
        try:
            s.sendall(b"GET /api/backfills/6 HTTP/1.1\r\nHost: x\r\n"
                      b"Connection: close\r\n\r\n")
            buf = b""
            while True:
                c = s.recv(65536)
                if not c:
                    break
                buf += c
        finally:
            s.close()
        r = parse_raw_response(buf)
        self.assertError(r, 400, "bad_request")
        self.assertIn("HTTPS", r.json["error"]["message"])

    def test_valid_certificate_reaches_the_workers(self):
        # (so the refusals above are nginx's, not a broken set-up)
        self.assertError(self.tls_request("ca"), 401, "invalid_api_key")
