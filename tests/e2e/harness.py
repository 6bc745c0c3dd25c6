"""
End-to-end harness: starts the real service (scripts/serve.sh: nginx +
spawn-fcgi workers over a unix socket) on a free loopback port with a
fresh database, talks HTTP to it, and stops it, failing when a sanitizer
wrote a report or a process was left behind.

Python 3 standard library only.

Environment honoured (all optional):
  FCGI_BIN, CTL_BIN   binaries to use (passed on to serve.sh as well);
                      relative paths are taken from the repository root
  E2E_WORKERS         worker count (default 3)
  E2E_KEEP=1          keep the temporary folders even when all went well
  E2E_SERVE           another serve script than scripts/serve.sh
  E2E_RECORD=FILE     append every answer to FILE, one JSON object a
                      line (record() below): what make openapi-check
                      checks against docs/openapi.yaml
"""

import contextlib
import glob
import http.client
import json
import os
import shutil
import signal
import threading
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest
from datetime import datetime, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
SERVE = (os.environ.get("E2E_SERVE") or
         os.path.join(ROOT, "scripts", "serve.sh"))

# The founding example's credentials (README). Authentication is not
# checked yet, but every request carries them, as Mage's clients do.
API_KEY = "zkWlN0PkIKSN0C11CfUHUj84OT5XOJ6tDZ6bDRO2"
OAUTH_COOKIE = ("oauth_token=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJleHBpcmVz"
                "IjoxNjkyMzE0ODM3LjE1MTkzOSwidG9rZW4iOiJieHlQajlVcHE5N2phTC1nT"
                "GtOQTVnM2draWZwRjJwSEZZZkNzLTJ2NmpnIn0.bWqUP7Xg9PmHBW703AGPOE"
                "270Cc73F4kb0IKHLppGbM")
AUTH_HEADERS = {"X-API-KEY": API_KEY, "Cookie": OAUTH_COOKIE}

DEMO_PIPELINE = "arwen_starlight"
DEMO_ID = 6

FIELDS = ["id", "block_uuid", "completed_at", "created_at", "end_datetime",
          "failed_at", "interval_type", "interval_units", "metrics", "name",
          "pipeline_schedule_id", "pipeline_uuid", "settings",
          "start_datetime", "started_at", "status", "updated_at",
          "variables"]
READ_ONLY = ["id", "created_at", "updated_at", "started_at", "completed_at",
             "failed_at", "metrics", "pipeline_schedule_id", "pipeline_uuid"]


def binary(var, default):
    """The path of a binary: $var if set, else default (from ROOT)."""
    p = os.environ.get(var) or default
    return p if os.path.isabs(p) else os.path.join(ROOT, p)


def schema_version():
    """The schema version this build writes (STORE_SCHEMA_VERSION)."""
    with open(os.path.join(ROOT, "src", "store.h")) as f:
        for line in f:
            if line.startswith("#define STORE_SCHEMA_VERSION"):
                return int(line.split()[2])
    raise RuntimeError("no STORE_SCHEMA_VERSION in src/store.h")


SCHEMA_VERSION = schema_version()

FCGI_BIN = binary("FCGI_BIN", "cgi-bin/backfills.fcgi")
CTL_BIN = binary("CTL_BIN", "bin/backfillctl")


def sanitized(path):
    """Whether a binary is built with AddressSanitizer (make SAN=1)."""
    try:
        with open(path, "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


# ASan keeps freed memory in its quarantine and never gives it back:
# resident sizes then measure ASan, not the service.
SANITIZED = sanitized(FCGI_BIN)


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _no_dup_keys(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise ValueError("duplicate key %r in JSON" % k)
        d[k] = v
    return d


def parse_json(data):
    """Parses bytes strictly (UTF-8, no duplicate keys); dicts keep the
    order of the keys as sent."""
    return json.loads(data.decode("utf-8"), object_pairs_hook=_no_dup_keys)


def utcnow():
    return datetime.now(timezone.utc).replace(tzinfo=None)


def parse_dt(s):
    """A response datetime: 'YYYY-MM-DD HH:MM:SS[.ffffff]' -> naive UTC."""
    fmt = "%Y-%m-%d %H:%M:%S.%f" if "." in s else "%Y-%m-%d %H:%M:%S"
    return datetime.strptime(s, fmt)


# -- recording (E2E_RECORD) ----------------------------------------------

_record_lock = threading.Lock()
_record_file = None
# Request bodies larger than this are not kept (only refusals send them).
RECORD_BODY_MAX = 1 << 16


def _text(data):
    """Bytes as a JSON value: their text when UTF-8, else base64."""
    if data is None:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        import base64
        return {"base64": base64.b64encode(data).decode("ascii")}


def record(conf, method, target, headers, body, status, resp_headers,
           resp_body, via):
    """Appends one answer to $E2E_RECORD (when set): the server's extra
    conf lines, the request (method and target as sent, None for a
    request line that cannot be read; its headers and body) and the
    answer (status, headers in order, body). via: "http", "raw" or
    "cgi"."""
    global _record_file
    path = os.environ.get("E2E_RECORD")
    if not path:
        return
    if isinstance(body, str):
        body = body.encode("utf-8")
    line = json.dumps({
        "conf": conf, "via": via, "method": method, "target": target,
        "request_headers": [[str(k), str(v)] for k, v in (headers or [])],
        "request_body": (_text(body) if body is None or
                         len(body) <= RECORD_BODY_MAX else {"omitted":
                                                            len(body)}),
        "status": status,
        "headers": [[k, v] for k, v in resp_headers],
        "body": _text(resp_body),
    }, ensure_ascii=False) + "\n"
    with _record_lock:
        if _record_file is None:
            _record_file = open(path, "a", encoding="utf-8")
        _record_file.write(line)
        _record_file.flush()


def _request_line(data):
    """(method, target) of raw request bytes, or (None, None)."""
    line = data.split(b"\r\n", 1)[0].decode("latin-1")
    parts = line.split(" ")
    if len(parts) != 3:
        return None, None
    return parts[0], parts[1]


class Response:
    def __init__(self, status, reason, headers, body):
        self.status = status
        self.reason = reason
        self.headers = headers          # list of (name, value)
        self.body = body                # bytes
        self._json = None

    def header(self, name, default=None):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return default

    def header_all(self, name):
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    @property
    def json(self):
        if self._json is None:
            try:
                self._json = parse_json(self.body)
            except Exception as e:
                raise AssertionError("body is not JSON (%s): %r"
                                     % (e, self.body[:500]))
        return self._json

    def __repr__(self):
        return "<%d %s %r>" % (self.status, self.reason, self.body[:300])


def _dechunk(data):
    out = b""
    while True:
        line, _, data = data.partition(b"\r\n")
        size = int(line.split(b";")[0].strip() or b"0", 16)
        if size == 0:
            return out
        out += data[:size]
        data = data[size + 2:]


def _complete(buf):
    """True once buf holds a whole response (so a lingering close by the
    server does not count against the answer's time)."""
    head, sep, body = buf.partition(b"\r\n\r\n")
    if not sep:
        return False
    h = head.decode("latin-1").lower()
    for line in h.split("\r\n")[1:]:
        k, _, v = line.partition(":")
        if k.strip() == "content-length":
            return len(body) >= int(v.strip())
        if k.strip() == "transfer-encoding" and "chunked" in v:
            return body.endswith(b"0\r\n\r\n")
    status = h.split(" ", 2)[1] if " " in h else ""
    return status in ("204", "304")


def parse_raw_response(raw):
    """Parses one HTTP/1.x response read to EOF from a raw socket."""
    if not raw:
        return None
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        raise AssertionError("incomplete HTTP response: %r" % raw[:300])
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    status = int(parts[1])
    reason = parts[2] if len(parts) > 2 else ""
    headers = []
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers.append((k.strip(), v.strip()))
    r = Response(status, reason, headers, body)
    if (r.header("Transfer-Encoding") or "").lower() == "chunked":
        r.body = _dechunk(body)
    elif r.header("Content-Length") is not None:
        r.body = body[:int(r.header("Content-Length"))]
    return r


class Server:
    """One serve.sh instance with its own database and run folder."""

    def __init__(self, extra_conf="", workers=None, name="e2e"):
        self.extra_conf = extra_conf
        self.workers = workers or int(os.environ.get("E2E_WORKERS", "3"))
        self.tmp = tempfile.mkdtemp(prefix="bf-%s-" % name)
        # nginx's workers (www-data when serve.sh runs as root) must be
        # able to traverse down to the socket in RUNDIR.
        os.chmod(self.tmp, 0o711)
        self.rundir = os.path.join(self.tmp, "run")
        os.mkdir(self.rundir)
        self.db = os.path.join(self.tmp, "backfills.db")
        self.log = os.path.join(self.tmp, "serve.log")
        self.port = None
        self.proc = None
        self.env = None

    # -- life cycle --------------------------------------------------

    def start(self):
        for b in (FCGI_BIN, CTL_BIN, SERVE):
            if not os.access(b, os.X_OK):
                raise RuntimeError("%s is missing or not executable "
                                   "(run make?)" % b)
        self.port = free_port()
        env = dict(os.environ)
        env.update({
            "PORT": str(self.port),
            "DB": self.db,
            "WORKERS": str(self.workers),
            "RUNDIR": self.rundir,
            "EXTRA_CONF": self.extra_conf,
            "ASAN_OPTIONS": "log_path=%s/asan:detect_leaks=1" % self.rundir,
            "UBSAN_OPTIONS": ("print_stacktrace=1:log_path=%s/ubsan"
                              % self.rundir),
        })
        if os.environ.get("FCGI_BIN"):
            env["FCGI_BIN"] = FCGI_BIN
        if os.environ.get("CTL_BIN"):
            env["CTL_BIN"] = CTL_BIN
        self.env = env
        logf = open(self.log, "wb")
        self.proc = subprocess.Popen([SERVE], cwd=ROOT, env=env,
                                     stdin=subprocess.DEVNULL, stdout=logf,
                                     stderr=subprocess.STDOUT,
                                     start_new_session=True)
        logf.close()
        deadline = time.monotonic() + 15
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._kill_group()
                raise RuntimeError("serve.sh exited with %s before ready:\n%s"
                                   % (self.proc.returncode, self.log_text()))
            try:
                r = self.request("GET", "/api/status", timeout=2)
                if r.status == 200:
                    return self
                last = r
            except OSError as e:
                last = e
            time.sleep(0.1)
        self.stop(check=False)
        raise RuntimeError("server not ready in 15 s (last: %r):\n%s"
                           % (last, self.log_text()))

    def log_text(self):
        try:
            with open(self.log, "rb") as f:
                return f.read().decode("utf-8", "replace")[-4000:]
        except OSError:
            return ""

    def _our_pids(self):
        """Live (non-zombie) processes started for this server: the ones
        whose environment holds this server's unique RUNDIR marker (so
        workers that left serve.sh's session are found too)."""
        marker = ("ASAN_OPTIONS=log_path=%s/asan" % self.rundir).encode()
        pids = []
        for d in os.listdir("/proc"):
            if not d.isdigit() or int(d) == os.getpid():
                continue
            try:
                with open("/proc/%s/environ" % d, "rb") as f:
                    env = f.read()
                with open("/proc/%s/stat" % d, "rb") as f:
                    state = f.read().rsplit(b")", 1)[1].split()[0]
            except OSError:
                continue
            if state != b"Z" and marker + b":" in env:
                pids.append(int(d))
        return pids

    def _kill_group(self):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        for pid in self._our_pids():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(Exception):
            self.proc.wait(5)

    @staticmethod
    def _describe(pid):
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                return "%d %s" % (pid, f.read().replace(b"\0", b" ")
                                  .decode(errors="replace").strip()[:80])
        except OSError:
            return str(pid)

    def stop(self, check=True):
        """SIGTERM to serve.sh, wait; then fail (AssertionError) when it
        did not stop in time, left processes behind, or a sanitizer
        wrote a report in RUNDIR."""
        problems = []
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                problems.append("serve.sh did not exit within 10 s of "
                                "SIGTERM")
        if self.proc is not None:
            deadline = time.monotonic() + 3
            while self._our_pids() and time.monotonic() < deadline:
                time.sleep(0.05)
            left = self._our_pids()
            if left:
                problems.append("processes still ran 3 s after serve.sh "
                                "exited (workers or nginx not stopped): %s"
                                % ", ".join(self._describe(p) for p in left))
            self._kill_group()
        reports = sorted(glob.glob(os.path.join(self.rundir, "asan.*")) +
                         glob.glob(os.path.join(self.rundir, "ubsan.*")))
        for path in reports:
            with open(path, "rb") as f:
                text = f.read().decode("utf-8", "replace")
            sys.stderr.write("==== sanitizer report %s ====\n%s\n"
                             % (path, text))
            problems.append("sanitizer report %s" % os.path.basename(path))
        if problems or os.environ.get("E2E_KEEP"):
            sys.stderr.write("(kept %s)\n" % self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)
        if problems and check:
            raise AssertionError("; ".join(problems) + "\nserve.sh log:\n"
                                 + self.log_text())

    # -- HTTP ----------------------------------------------------------

    def request(self, method, path, body=None, headers=None, timeout=10,
                auth=True):
        """One request on a new connection. body: bytes, str, or any
        other value, which is sent as JSON. Returns a Response."""
        h = {}
        if auth:
            h.update(AUTH_HEADERS)
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode("utf-8")
        if body is not None:
            h["Content-Type"] = "application/json"
        if headers:
            h.update(headers)
        conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                          timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=h)
            r = conn.getresponse()
            data = r.read()
            resp = Response(r.status, r.reason, r.getheaders(), data)
        finally:
            conn.close()
        record(getattr(self, "extra_conf", ""), method, path,
               list(h.items()), body, resp.status, resp.headers, resp.body,
               "http")
        return resp

    def raw(self, data, timeout=10, close_write=False, close_early=False):
        """Sends raw bytes on a new connection. close_early: close the
        socket right after sending, read nothing, return None. Else read
        until one whole response or EOF (close_write: half-close first)
        and return a Response, or None when the server closed without
        answering."""
        s = socket.create_connection(("127.0.0.1", self.port),
                                     timeout=timeout)
        try:
            s.sendall(data)
            if close_early:
                return None
            if close_write:
                s.shutdown(socket.SHUT_WR)
            buf = b""
            while not _complete(buf):
                try:
                    c = s.recv(65536)
                except ConnectionResetError:
                    break
                if not c:
                    break
                buf += c
            r = parse_raw_response(buf)
        finally:
            s.close()
        if r is not None:
            head, _, body = data.partition(b"\r\n\r\n")
            hdrs = [tuple(x.strip() for x in l.split(":", 1))
                    for l in head.decode("latin-1").split("\r\n")[1:]
                    if ":" in l]
            n = [v for k, v in hdrs if k.lower() == "content-length"]
            if n and n[0].isdigit():
                body = body[:int(n[0])]     # what follows is not the body
            record(getattr(self, "extra_conf", ""), *_request_line(data),
                   hdrs, body, r.status, r.headers, r.body, "raw")
        return r

    # -- processes -----------------------------------------------------

    def worker_pids(self):
        """The FastCGI workers' pids (the pool's children, or spawn-fcgi's
        workers), found by the conf they run with."""
        out = subprocess.run(["pgrep", "-f", self.rundir + "/backfills.conf"],
                             capture_output=True, text=True).stdout.split()
        pids = {int(p) for p in out}
        kids = {int(c) for p in pids for c in subprocess.run(
            ["pgrep", "-P", str(p)], capture_output=True,
            text=True).stdout.split()}
        return sorted((kids & pids) or pids)

    @staticmethod
    def rss_kib(pid):
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    # -- database and CLI ------------------------------------------------

    def dump(self):
        """The whole database as SQL text (schema-agnostic)."""
        con = sqlite3.connect(self.db, timeout=10)
        try:
            return list(con.iterdump())
        finally:
            con.close()

    def ctl(self, *args, check=False):
        """Runs backfillctl --db DB args...; returns CompletedProcess."""
        p = subprocess.run([CTL_BIN, "--db", self.db] + list(args),
                           cwd=ROOT, env=self.env or os.environ,
                           stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=30)
        if check and p.returncode != 0:
            raise AssertionError("backfillctl %s exited %d: %s"
                                 % (" ".join(args), p.returncode,
                                    p.stderr.decode(errors="replace")))
        return p


class ServerTestCase(unittest.TestCase):
    """A test class sharing one server; set EXTRA_CONF / WORKERS."""

    EXTRA_CONF = ""
    WORKERS = None
    server = None

    @classmethod
    def setUpClass(cls):
        cls.server = Server(cls.EXTRA_CONF, cls.WORKERS,
                            name=cls.__name__).start()

    @classmethod
    def tearDownClass(cls):
        if cls.server is not None:
            srv, cls.server = cls.server, None
            srv.stop()

    # -- shortcuts -------------------------------------------------------

    def req(self, method, path, body=None, headers=None, **kw):
        return self.server.request(method, path, body, headers, **kw)

    def create(self, pipeline=DEMO_PIPELINE, **fields):
        r = self.req("POST", "/api/pipelines/%s/backfills" % pipeline,
                     {"backfill": fields})
        self.assertEqual(r.status, 201, r)
        return r.json["backfill"]

    def show(self, bid):
        r = self.req("GET", "/api/backfills/%d" % bid)
        self.assertEqual(r.status, 200, r)
        return r.json["backfill"]

    def put(self, bid, fields, headers=None, pipeline=None):
        path = ("/api/pipelines/%s/backfills/%d" % (pipeline, bid)
                if pipeline else "/api/backfills/%d" % bid)
        return self.req("PUT", path, {"backfill": fields}, headers)

    def put_ok(self, bid, fields):
        r = self.put(bid, fields)
        self.assertEqual(r.status, 200, r)
        return r.json["backfill"]

    def etag_version(self, r):
        etag = r.header("ETag")
        self.assertIsNotNone(etag, "no ETag on %r" % r)
        self.assertRegex(etag, r'^"\d+-\d+"$')
        bid, ver = etag.strip('"').split("-")
        return int(bid), int(ver)

    # -- assertions ------------------------------------------------------

    def assertJSON(self, r):
        ct = r.header("Content-Type") or ""
        self.assertTrue(ct.split(";")[0].strip().lower() ==
                        "application/json", "Content-Type %r on %r" % (ct, r))
        return r.json

    def assertError(self, r, code, etype):
        """r is the error docs/API.md describes: HTTP status = code, JSON body
        exactly {"error": {code, message, type[, errors]}}."""
        self.assertEqual(r.status, code, r)
        body = self.assertJSON(r)
        self.assertEqual(list(body.keys()), ["error"], r)
        err = body["error"]
        keys = {"code", "message", "type"}
        if etype == "record_invalid":
            keys.add("errors")
        self.assertEqual(set(err.keys()), keys, r)
        self.assertEqual(err["code"], code, r)
        self.assertEqual(err["type"], etype, r)
        self.assertIsInstance(err["message"], str)
        self.assertTrue(err["message"], r)
        if etype == "record_not_found":
            self.assertEqual(err["message"], "Record not found.")
        if etype == "record_invalid":
            self.assertEqual(err["message"], "Record is invalid.")
            self.assertIsInstance(err["errors"], list)
            self.assertTrue(err["errors"], r)
            for e in err["errors"]:
                self.assertEqual(set(e.keys()), {"field", "message"}, r)
                self.assertIsInstance(e["field"], str)
                self.assertIsInstance(e["message"], str)
                self.assertTrue(e["message"])
        return err

    def assertInvalid(self, r, *fields):
        """400 record_invalid whose errors name every field given."""
        err = self.assertError(r, 400, "record_invalid")
        named = [e["field"] for e in err["errors"]]
        for f in fields:
            self.assertIn(f, named, r)
        return named

    def assertAlive(self):
        r = self.req("GET", "/api/status")
        self.assertEqual(r.status, 200, "server no longer answers: %r" % r)

    @contextlib.contextmanager
    def unchanged(self):
        """The block leaves the database exactly as it was, and the
        server still answers after it."""
        before = self.server.dump()
        yield
        self.assertAlive()
        after = self.server.dump()
        if before != after:
            diff = [l for l in after if l not in before][:10]
            gone = [l for l in before if l not in after][:10]
            self.fail("database changed:\n+ %s\n- %s"
                      % ("\n+ ".join(diff), "\n- ".join(gone)))

    def assertRecent(self, s, within=10):
        self.assertIsInstance(s, str)
        dt = parse_dt(s)
        delta = abs((utcnow() - dt).total_seconds())
        self.assertLess(delta, within, "%s is not now (UTC)" % s)

    def assertRecord(self, rec, pipeline=None, extra=()):
        """rec has exactly the documented fields, in order (then extra)."""
        self.assertEqual(list(rec.keys()), FIELDS + list(extra), rec)
        if pipeline:
            self.assertEqual(rec["pipeline_uuid"], pipeline)
