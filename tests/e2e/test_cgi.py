"""The worker binary run as plain CGI (RFC 3875): stdin a pipe, the
request in the environment, a CGI response on stdout."""

import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

from harness import (ROOT, FCGI_BIN, CTL_BIN, API_KEY, OAUTH_COOKIE, FIELDS,
                     parse_json, record)

BASE_CONF = os.path.join(ROOT, "conf", "demo.conf")


class CGIResult:
    def __init__(self, proc):
        self.proc = proc
        out = proc.stdout
        for sep in (b"\r\n\r\n", b"\n\n"):
            i = out.find(sep)
            if i >= 0:
                head, body = out[:i], out[i + len(sep):]
                break
        else:
            raise AssertionError("no blank line after CGI headers: %r"
                                 % out[:300])
        self.lines = head.decode("latin-1").replace("\r\n", "\n").split("\n")
        self.headers = []
        for line in self.lines:
            k, sep, v = line.partition(":")
            if not sep:
                raise AssertionError("bad CGI header line %r" % line)
            self.headers.append((k.strip(), v.strip()))
        self.body = body

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    @property
    def json(self):
        return parse_json(self.body)


class TestCGI(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        for b in (FCGI_BIN, CTL_BIN):
            if not os.access(b, os.X_OK):
                raise RuntimeError("%s missing (run make?)" % b)
        cls.tmp = tempfile.mkdtemp(prefix="bf-cgi-")
        cls.db = os.path.join(cls.tmp, "backfills.db")
        cls.conf = os.path.join(cls.tmp, "cgi.conf")
        with open(BASE_CONF) as f:
            text = f.read()
        with open(cls.conf, "w") as f:
            f.write(text.rstrip("\n") + "\ndatabase = %s\n" % cls.db)
        cls.env = dict(os.environ)
        cls.env["ASAN_OPTIONS"] = "log_path=%s/asan:detect_leaks=1" % cls.tmp
        cls.env["UBSAN_OPTIONS"] = ("print_stacktrace=1:log_path=%s/ubsan"
                                    % cls.tmp)
        cls.env.pop("BACKFILLS_CONF", None)
        p = subprocess.run([CTL_BIN, "--db", cls.db, "init", "--demo"],
                           env=cls.env, capture_output=True, timeout=30,
                           stdin=subprocess.DEVNULL)
        if p.returncode != 0:
            raise RuntimeError("init --demo failed: %r" % p.stderr)

    @classmethod
    def tearDownClass(cls):
        reports = sorted(glob.glob(os.path.join(cls.tmp, "asan.*")) +
                         glob.glob(os.path.join(cls.tmp, "ubsan.*")))
        for path in reports:
            with open(path, errors="replace") as f:
                sys.stderr.write("==== sanitizer report %s ====\n%s\n"
                                 % (path, f.read()))
        if reports:
            raise AssertionError("sanitizer reports in CGI mode: %s (kept "
                                 "%s)" % (reports, cls.tmp))
        if not os.environ.get("E2E_KEEP"):
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def cgi(self, method, path, body=b"", query="", use_env_conf=False,
            content_length=None, extra_env=None, raw=False):
        env = dict(self.env)
        env.update({
            "GATEWAY_INTERFACE": "CGI/1.1", "REQUEST_METHOD": method,
            "PATH_INFO": path, "QUERY_STRING": query,
            "SCRIPT_NAME": "/cgi-bin/backfills.fcgi",
            "SERVER_PROTOCOL": "HTTP/1.1", "SERVER_NAME": "localhost",
            "SERVER_PORT": "80", "REMOTE_ADDR": "127.0.0.1",
            "REQUEST_URI": path + ("?" + query if query else ""),
            "HTTP_X_API_KEY": API_KEY, "HTTP_COOKIE": OAUTH_COOKIE,
        })
        if body or content_length is not None:
            env["CONTENT_LENGTH"] = str(len(body) if content_length is None
                                        else content_length)
            env["CONTENT_TYPE"] = "application/json"
        if extra_env:
            env.update(extra_env)
        argv = [FCGI_BIN]
        if use_env_conf:
            env["BACKFILLS_CONF"] = self.conf
        else:
            argv += ["-c", self.conf]
        p = subprocess.run(argv, input=body, env=env, capture_output=True,
                           timeout=20, cwd=self.tmp)
        self.assertEqual(p.returncode, 0, p.stderr)
        if raw:
            return p
        r = CGIResult(p)
        status = r.header("Status")
        if status is not None:
            record("", method, path + ("?" + query if query else ""),
                   [(k[5:].replace("_", "-"), v) for k, v in env.items()
                    if k.startswith("HTTP_")], body,
                   int(status.split()[0]), r.headers, r.body, "cgi")
        return r

    def assertStatus(self, r, code):
        """The first line is the CGI Status header with that code (the
        reason phrase is not part of the contract)."""
        self.assertRegex(r.lines[0], r"^Status: %d( |$)" % code)

    def dump(self):
        import sqlite3
        con = sqlite3.connect(self.db)
        try:
            return list(con.iterdump())
        finally:
            con.close()

    def test_get_show(self):
        for use_env in (False, True):
            with self.subTest(env_conf=use_env):
                r = self.cgi("GET", "/api/backfills/6", use_env_conf=use_env)
                self.assertEqual(r.lines[0], "Status: 200 OK")
                ct = r.header("Content-Type") or ""
                self.assertEqual(ct.split(";")[0].strip(), "application/json")
                self.assertRegex(r.header("ETag") or "", r'^"6-\d+"$')
                rec = r.json["backfill"]
                self.assertEqual(list(rec.keys()), FIELDS)
                self.assertEqual(rec["id"], 6)
                self.assertEqual(rec["created_at"], "2023-07-18 23:30:26")
                self.assertEqual(rec["pipeline_uuid"], "arwen_starlight")

    def test_put_then_get(self):
        body = json.dumps({"backfill": {
            "start_datetime": "2023-07-17 23:56:05",
            "end_datetime": "2023-07-18 23:56:05",
            "name": "cgi_name"}}).encode()
        r = self.cgi("PUT", "/api/pipelines/arwen_starlight/backfills/6",
                     body)
        self.assertEqual(r.lines[0], "Status: 200 OK")
        rec = r.json["backfill"]
        self.assertEqual(rec["name"], "cgi_name")
        self.assertEqual(rec["end_datetime"], "2023-07-18 23:56:05")
        g = self.cgi("GET", "/api/backfills/6")
        self.assertEqual(g.json, r.json)
        self.assertEqual(g.header("ETag"), r.header("ETag"))

    def test_create_201(self):
        r = self.cgi("POST", "/api/pipelines/arwen_starlight/backfills",
                     b'{"backfill": {"name": "cgi_new"}}')
        self.assertStatus(r, 201)
        bid = r.json["backfill"]["id"]
        self.assertEqual(r.header("Location"), "/api/backfills/%d" % bid)

    def test_errors(self):
        before = self.dump()
        r = self.cgi("GET", "/api/backfills/999999")
        self.assertStatus(r, 404)
        self.assertEqual(r.json["error"]["type"], "record_not_found")
        r = self.cgi("GET", "/api/backfills/abc")
        self.assertStatus(r, 400)
        self.assertEqual(r.json["error"]["type"], "invalid_query")
        r = self.cgi("PATCH", "/api/backfills/6", b"{}")
        self.assertStatus(r, 405)
        self.assertEqual(r.header("Allow"), "GET, PUT, DELETE, OPTIONS")
        r = self.cgi("PUT", "/api/backfills/6", b"[]")
        self.assertStatus(r, 400)
        self.assertEqual(r.json["error"]["type"], "invalid_json")
        # fewer bytes on stdin than CONTENT_LENGTH (a complete JSON
        # object among them): nothing written, and a JSON 400 (an empty
        # answer would become the web server's own 500 page)
        for method, path in (("PUT", "/api/backfills/6"),
                             ("POST", "/api/pipelines/arwen_starlight/"
                              "backfills")):
            with self.subTest(method=method):
                r = self.cgi(method, path, b'{"backfill": {"name": "short"}}',
                             content_length=200)
                self.assertStatus(r, 400)
                self.assertEqual(r.json["error"]["type"], "invalid_json")
                self.assertEqual(r.json["error"]["code"], 400)
                self.assertIn("shorter", r.json["error"]["message"])
        self.assertEqual(self.dump(), before)
        r = self.cgi("PUT", "/api/backfills/6", b'{"backfill": {}}',
                     content_length=10 ** 9)
        self.assertStatus(r, 413)
        self.assertEqual(r.json["error"]["type"], "payload_too_large")
        r = self.cgi("PUT", "/api/backfills/6")
        self.assertStatus(r, 411)
        self.assertEqual(r.json["error"]["type"], "length_required")
        self.assertEqual(self.dump(), before)

    def test_sandboxed_like_a_fastcgi_worker(self):
        # The process is caught while it waits for its body on stdin:
        # by then it must run under no-new-privileges and seccomp (the
        # same filter `backfills.fcgi -X` proves kills an execve).
        body = b'{"backfill": {"name": "sandboxed"}}'
        env = dict(self.env, GATEWAY_INTERFACE="CGI/1.1",
                   REQUEST_METHOD="PUT", PATH_INFO="/api/backfills/6",
                   QUERY_STRING="", CONTENT_LENGTH=str(len(body)),
                   CONTENT_TYPE="application/json", HTTP_X_API_KEY=API_KEY,
                   HTTP_COOKIE=OAUTH_COOKIE)
        p = subprocess.Popen([FCGI_BIN, "-c", self.conf], env=env,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, cwd=self.tmp)
        try:
            status, deadline = {}, time.monotonic() + 5
            while time.monotonic() < deadline:
                with open("/proc/%d/status" % p.pid) as f:
                    status = dict(line.split(":\t", 1) for line in
                                  f.read().splitlines() if ":\t" in line)
                if status.get("Seccomp", "").strip() == "2":
                    break
                time.sleep(0.02)
            out, err = p.communicate(body, timeout=20)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        self.assertEqual(status.get("Seccomp", "").strip(), "2",
                         "no seccomp filter while serving")
        self.assertEqual(status.get("NoNewPrivs", "").strip(), "1")
        self.assertEqual(p.returncode, 0, err)
        self.assertTrue(out.startswith(b"Status: 200 "), out[:300])

    def test_status_and_options(self):
        r = self.cgi("GET", "/api/status")
        self.assertEqual(r.lines[0], "Status: 200 OK")
        self.assertIs(r.json["status"]["ok"], True)
        r = self.cgi("OPTIONS", "/api/backfills")
        self.assertStatus(r, 204)
        self.assertTrue(r.header("Access-Control-Allow-Methods"))
        self.assertEqual(r.body, b"")
