"""
Shared pieces of the fault tests (tests/fault/) and the load test: the
end-to-end harness (tests/e2e/harness.py, imported as is), the pool's
processes read from /proc, a small FastCGI client to talk to the workers'
socket without nginx, the worker run as plain CGI, and a ledger of writes
that tells, afterwards, whether every acknowledged write is in the
database and no refused one is.

Python 3 standard library only.
"""

import contextlib
import json
import os
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))

# tests/e2e/harness.py: the server (serve.sh) and its helpers, as is.
from harness import (ROOT, FCGI_BIN, CTL_BIN, API_KEY,  # noqa: E402,F401
                     Server, Response)

TOKEN = "bxyPj9Upq97jaL-gLkNA5g3gkifpF2pHFYfCs-2v6jg"
# The founding example's credentials, as headers.
AUTH = {"X-API-KEY": API_KEY, "OAUTH-TOKEN": TOKEN}
DEMO_CONF = os.path.join(ROOT, "conf", "demo.conf")
PIPELINE = "arwen_starlight"

# nginx's own 503 (no worker answered: 502/504 rewritten by
# nginx.conf.example) is told from a worker's 503 by its message.
GATEWAY_MESSAGE = "Service unavailable."


# -- processes ---------------------------------------------------------------

def proc_stat(pid):
    """(state, ppid) of a process, or None when it is gone."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            rest = f.read().rsplit(b")", 1)[1].split()
        return rest[0].decode(), int(rest[1])
    except (OSError, IndexError, ValueError):
        return None


def alive(pid):
    st = proc_stat(pid)
    return st is not None and st[0] != "Z"


def children(ppid):
    """Live (non-zombie) children of ppid: pgrep -P, from /proc."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        st = proc_stat(int(d))
        if st is not None and st[1] == ppid and st[0] != "Z":
            out.append(int(d))
    return sorted(out)


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().split(b"\0")
    except OSError:
        return []


def vmrss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def pool_parent(server):
    """The pre-fork supervisor serve.sh started (backfills.fcgi -s)."""
    for pid in children(server.proc.pid):
        args = cmdline(pid)
        if args and args[0].endswith(b"backfills.fcgi") and b"-s" in args:
            return pid
    raise AssertionError("no backfills.fcgi -s pool under serve.sh (%d); "
                         "SUPERVISOR=prefork?" % server.proc.pid)


def wait_for(pred, timeout, step=0.02):
    """Polls pred() until true or timeout; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(step)


# -- outcomes of writes ------------------------------------------------------

ACK, REFUSED, DOUBT = "acknowledged", "refused", "in doubt"


def is_gateway_error(r):
    """nginx's own JSON 503 (the worker died or did not answer)."""
    if r.status != 503:
        return False
    try:
        return r.json["error"]["message"] == GATEWAY_MESSAGE
    except (AssertionError, KeyError, TypeError):
        return False


def outcome(r):
    """What a client may conclude from an answer (None: no answer, the
    connection dropped): 2xx acknowledged; nginx's 503 or no answer in
    doubt (the worker may have committed before it died); any answer of
    the worker's own refused (nothing may have changed)."""
    if r is None:
        return DOUBT
    if 200 <= r.status < 300:
        return ACK
    if is_gateway_error(r):
        return DOUBT
    return REFUSED


def error_problems(r):
    """Why an error answer is not a proper one (docs/API.md "Errors"): JSON
    {"error": {code, message, type}} with code = status; 503 with
    Retry-After. [] when fine."""
    if r is None or r.status < 400:
        return []
    p = []
    ct = (r.header("Content-Type") or "").split(";")[0].strip().lower()
    if ct != "application/json":
        p.append("Content-Type %r" % ct)
    try:
        err = r.json["error"]
        if err["code"] != r.status:
            p.append("code %r != status %d" % (err["code"], r.status))
        if not err.get("type") or not err.get("message"):
            p.append("no type or message")
    except (AssertionError, KeyError, TypeError) as e:
        p.append("not a JSON error (%s)" % e)
    if r.status == 503 and not (r.header("Retry-After") or "").isdigit():
        p.append("503 without Retry-After")
    return ["%d %s: %r" % (r.status, x, r.body[:200]) for x in p]


class Ledger:
    """What writers were told. Each writer owns its backfills and writes
    them one request at a time, so for each (id, field) the stored value
    must be the last acknowledged one or one sent after it whose outcome
    is in doubt, never a refused one; a create acknowledged must exist,
    one refused must not."""

    def __init__(self):
        self.lock = threading.Lock()
        self.creates = []       # (name, outcome, id or None)
        self.updates = {}       # (id, field) -> [(value, outcome)]
        self.deletes = {}       # id -> strongest outcome
        self.bad_answers = []   # improper errors, 200s with wrong bodies
        self.counts = {ACK: 0, REFUSED: 0, DOUBT: 0}

    def _count(self, o):
        self.counts[o] += 1

    def create(self, name, r):
        o = outcome(r)
        bid = None
        if o == ACK:
            try:
                rec = r.json["backfill"]
                bid = rec["id"]
                if rec["name"] != name or r.status != 201:
                    self.bad("create %s answered %r" % (name, r))
            except (AssertionError, KeyError, TypeError):
                self.bad("create %s: 2xx without a backfill: %r" % (name, r))
                o = DOUBT
        for p in error_problems(r):
            self.bad("create %s: %s" % (name, p))
        with self.lock:
            self.creates.append((name, o, bid))
            self._count(o)
        return o, bid

    def update(self, bid, fields, r):
        o = outcome(r)
        if o == ACK:
            try:
                rec = r.json["backfill"]
                for k, v in fields.items():
                    if rec[k] != v:
                        self.bad("update %d %s=%r echoed %r"
                                 % (bid, k, v, rec[k]))
            except (AssertionError, KeyError, TypeError):
                self.bad("update %d: 2xx without a backfill: %r" % (bid, r))
        for p in error_problems(r):
            self.bad("update %d: %s" % (bid, p))
        with self.lock:
            for k, v in fields.items():
                self.updates.setdefault((bid, k), []).append((v, o))
            self._count(o)
        return o

    def delete(self, bid, r):
        o = outcome(r)
        for p in error_problems(r):
            self.bad("delete %d: %s" % (bid, p))
        with self.lock:
            # the strongest outcome of the deletes of bid (a repeated
            # DELETE answers 404 once the first went through)
            prev = self.deletes.get(bid)
            rank = {ACK: 2, DOUBT: 1, REFUSED: 0}
            if prev is None or rank[o] > rank[prev]:
                self.deletes[bid] = o
            self._count(o)
        return o

    def bad(self, msg):
        with self.lock:
            self.bad_answers.append(msg)

    def verify(self, rows):
        """rows: {id: {column: value}} as stored (read with sqlite3).
        Returns a list of problems ([] = nothing lost, nothing refused
        applied), and fills self.stats."""
        problems = list(self.bad_answers[:20])
        by_name = {}
        for bid, row in rows.items():
            by_name.setdefault(row.get("name"), []).append(bid)
        lost = applied = doubt_applied = 0
        ours = set()
        for name, o, bid in self.creates:
            found = by_name.get(name, [])
            deleted = bid is not None and self.deletes.get(bid) == ACK
            if o == ACK:
                ours.add(bid)
                if deleted:
                    if bid in rows:
                        problems.append("backfill %d: delete acknowledged, "
                                        "still stored" % bid)
                    continue
                if bid not in rows or rows[bid].get("name") != name:
                    lost += 1
                    problems.append("create %s answered 201 (id %s): not "
                                    "stored" % (name, bid))
            elif o == REFUSED:
                if found:
                    applied += 1
                    problems.append("create %s was refused but is stored "
                                    "(id %s)" % (name, found))
            else:
                ours.update(found)
                doubt_applied += bool(found)
            if len(found) > 1:
                problems.append("create %s stored %d times" % (name,
                                                               len(found)))
        for bid, o in self.deletes.items():
            if o == REFUSED and bid not in rows:
                applied += 1
                problems.append("delete %d was refused but the backfill is "
                                "gone" % bid)
        for (bid, field), seq in self.updates.items():
            if bid not in rows:
                if self.deletes.get(bid) in (ACK, DOUBT):
                    continue
                problems.append("backfill %d (updated) is gone" % bid)
                continue
            stored = rows[bid].get(field)
            last_ack = max((i for i, (_, o) in enumerate(seq) if o == ACK),
                           default=-1)
            allowed = [v for i, (v, o) in enumerate(seq)
                       if i >= last_ack and o != REFUSED]
            # with nothing acknowledged, the value from before is fine too
            if stored in allowed or (last_ack < 0 and stored not in
                                     [v for v, _ in seq]):
                continue
            refused = [v for v, o in seq if o == REFUSED]
            if stored in refused:
                applied += 1
                problems.append("backfill %d %s=%r: that update was refused "
                                "(last acknowledged %r)"
                                % (bid, field, stored,
                                   seq[last_ack][0] if last_ack >= 0
                                   else None))
            else:
                lost += 1
                problems.append("backfill %d %s=%r, but %r was acknowledged "
                                "last" % (bid, field, stored,
                                          seq[last_ack][0]))
        self.stats = {"lost": lost, "refused_applied": applied,
                      "doubt": self.counts[DOUBT],
                      "doubt_applied": doubt_applied}
        return problems


def read_rows(db, columns=("name", "block_uuid", "interval_units",
                           "settings")):
    """The backfill table as {id: {column: value}}, read with sqlite3
    (JSON text columns decoded)."""
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=10)
    try:
        out = {}
        for row in con.execute("SELECT id, %s FROM backfill"
                               % ", ".join(columns)):
            rec = dict(zip(columns, row[1:]))
            if rec.get("settings") is not None:
                rec["settings"] = json.loads(rec["settings"])
            out[row[0]] = rec
        return out
    finally:
        con.close()


def dump(db):
    con = sqlite3.connect(db, timeout=10)
    try:
        return list(con.iterdump())
    finally:
        con.close()


def checkpoint(db):
    """Moves the WAL into the database file (as a backup would)."""
    con = sqlite3.connect(db, timeout=10)
    try:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    finally:
        con.close()


class Locker:
    """Holds the database's write lock from this process (BEGIN
    IMMEDIATE, optionally with an uncommitted change) until release()."""

    def __init__(self, db, dirty=False):
        self.con = sqlite3.connect(db, timeout=5, isolation_level=None)
        self.con.execute("BEGIN IMMEDIATE")
        if dirty:
            self.con.execute("UPDATE backfill SET name = 'uncommitted'")

    def release(self):
        if self.con is not None:
            self.con.execute("ROLLBACK")
            self.con.close()
            self.con = None


# -- HTTP ----------------------------------------------------------------------

def request(port, method, path, body=None, timeout=10, headers=None):
    """One request on a new connection with the founding credentials.
    Returns a harness Response, or None when the connection dropped
    without an answer."""
    import http.client
    h = dict(AUTH)
    if body is not None and not isinstance(body, bytes):
        body = json.dumps(body).encode()
    if body is not None:
        h["Content-Type"] = "application/json"
    if headers:
        h.update(headers)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        return Response(r.status, r.reason, r.getheaders(), r.read())
    except (http.client.HTTPException, ConnectionError, socket.timeout):
        return None
    finally:
        conn.close()


# -- FastCGI (the workers' socket, without nginx) ------------------------------

FCGI_BEGIN, FCGI_END, FCGI_PARAMS, FCGI_STDIN, FCGI_STDOUT = 1, 3, 4, 5, 6


def _record(rtype, content, rid=1):
    pad = (8 - len(content) % 8) % 8
    return (struct.pack(">BBHHBB", 1, rtype, rid, len(content), pad, 0) +
            content + b"\0" * pad)


def _nv(k, v):
    k, v = k.encode(), v.encode()
    out = b""
    for n in (len(k), len(v)):
        out += bytes([n]) if n < 128 else struct.pack(">I", n | 0x80000000)
    return out + k + v


def fcgi_params(method, path, body=b"", content_length=None):
    """CGI/FastCGI parameters of a request; path may carry ?query."""
    uri = path
    path, _, query = path.partition("?")
    p = {"GATEWAY_INTERFACE": "CGI/1.1", "REQUEST_METHOD": method,
         "PATH_INFO": path, "QUERY_STRING": query, "SCRIPT_NAME": "",
         "REQUEST_URI": uri, "SERVER_PROTOCOL": "HTTP/1.1",
         "SERVER_NAME": "localhost", "SERVER_PORT": "80",
         "REMOTE_ADDR": "127.0.0.1", "HTTP_X_API_KEY": API_KEY,
         "HTTP_OAUTH_TOKEN": TOKEN}
    if body or content_length is not None:
        p["CONTENT_LENGTH"] = str(len(body) if content_length is None
                                  else content_length)
        p["CONTENT_TYPE"] = "application/json"
    return p


def parse_cgi(out):
    """A CGI response (Status: header, headers, blank line, body) as a
    harness Response; None when empty."""
    if not out:
        return None
    for sep in (b"\r\n\r\n", b"\n\n"):
        i = out.find(sep)
        if i >= 0:
            head, body = out[:i], out[i + len(sep):]
            break
    else:
        raise AssertionError("no blank line after CGI headers: %r"
                             % out[:300])
    headers, status, reason = [], 200, "OK"
    for line in head.decode("latin-1").replace("\r\n", "\n").split("\n"):
        k, _, v = line.partition(":")
        k, v = k.strip(), v.strip()
        if k.lower() == "status":
            status = int(v.split()[0])
            reason = v.partition(" ")[2]
        else:
            headers.append((k, v))
    return Response(status, reason, headers, body)


def fcgi_request(sock_path, method, path, body=b"", timeout=15,
                 content_length=None, close_after=None, no_length=False):
    """One FastCGI request on the unix socket (FCGI_RESPONDER, no
    keep-conn). body: bytes or a JSON-able value. close_after: send only
    that many bytes of the body, then close the connection without
    ending the stream (a client gone mid-body); returns None then.
    no_length: no CONTENT_LENGTH, the body streamed as a web server
    passes on a chunked request without buffering it.
    Returns a harness Response, or None when the worker closed without
    answering."""
    if not isinstance(body, bytes):
        body = json.dumps(body).encode()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(sock_path)
        msg = _record(FCGI_BEGIN, struct.pack(">HB5x", 1, 0))
        p = fcgi_params(method, path, body, content_length)
        if no_length:
            p.pop("CONTENT_LENGTH", None)
        params = b"".join(_nv(k, v) for k, v in p.items())
        msg += _record(FCGI_PARAMS, params) + _record(FCGI_PARAMS, b"")
        if close_after is not None:
            msg += _record(FCGI_STDIN, body[:close_after])
            s.sendall(msg)
            return None
        for i in range(0, len(body), 32768):
            msg += _record(FCGI_STDIN, body[i:i + 32768])
        msg += _record(FCGI_STDIN, b"")
        s.sendall(msg)
        buf, out = b"", b""
        while True:
            while len(buf) >= 8:
                _, rtype, _, clen, pad, _ = struct.unpack(">BBHHBB", buf[:8])
                if len(buf) < 8 + clen + pad:
                    break
                content = buf[8:8 + clen]
                buf = buf[8 + clen + pad:]
                if rtype == FCGI_STDOUT:
                    out += content
                elif rtype == FCGI_END:
                    return parse_cgi(out)
            try:
                c = s.recv(65536)
            except ConnectionResetError:
                c = b""
            if not c:
                return parse_cgi(out) if out else None
            buf += c
    finally:
        s.close()


# -- a database and a conf of one's own ----------------------------------------

def make_db(path):
    """A fresh demo database (backfillctl init --demo)."""
    p = subprocess.run([CTL_BIN, "--db", path, "init", "--demo"],
                       capture_output=True, timeout=30,
                       stdin=subprocess.DEVNULL)
    if p.returncode != 0:
        raise RuntimeError("init --demo failed: %r" % p.stderr)


def write_conf(path, db, extra=""):
    """The demo conf with database = db and extra lines appended."""
    with open(DEMO_CONF) as f:
        text = f.read()
    with open(path, "w") as f:
        f.write(text.rstrip("\n") + "\ndatabase = %s\n%s\n" % (db, extra))


_copy = None


def _reachable_binary():
    """A copy of FCGI_BIN in a fresh folder every user may enter (made
    once, removed at exit)."""
    global _copy
    if _copy is None:
        import atexit
        import shutil
        import tempfile
        d = tempfile.mkdtemp(prefix="bf-bin-")
        os.chmod(d, 0o755)
        _copy = os.path.join(d, "backfills.fcgi")
        shutil.copy2(FCGI_BIN, _copy)
        os.chmod(_copy, 0o755)
        atexit.register(shutil.rmtree, d, True)
    return _copy


def cgi(conf, method, path, body=b"", user=None, timeout=20):
    """The worker as plain CGI (RFC 3875), optionally as another user
    (setpriv). Returns (Response or None, stderr text)."""
    if not isinstance(body, bytes):
        body = json.dumps(body).encode()
    env = {"PATH": "/usr/bin:/bin"}
    env.update(fcgi_params(method, path, body))
    argv = [FCGI_BIN, "-c", conf]
    if user:
        # The checkout may sit in a folder the other user cannot enter
        # (CI clones anywhere): run a copy from a folder it can.
        argv = ["setpriv", "--reuid=%s" % user[0], "--regid=%s" % user[1],
                "--clear-groups", "--", _reachable_binary()] + argv[1:]
    p = subprocess.run(argv, input=body, env=env, capture_output=True,
                       timeout=timeout, cwd="/")
    if p.returncode != 0:
        raise AssertionError("CGI %s %s exited %d: %s"
                             % (method, path, p.returncode,
                                p.stderr.decode(errors="replace")[-500:]))
    return parse_cgi(p.stdout), p.stderr.decode(errors="replace")


# -- test case base ------------------------------------------------------------

class FaultCase(unittest.TestCase):
    """Helpers shared by the fault tests."""

    def tearDown(self):
        # a test that failed before stopping its pools leaves none behind
        for pool in list(Pool.running):
            pool.stop()

    def assertProperError(self, r, status=None, etype=None):
        self.assertIsNotNone(r, "no answer")
        if status is not None:
            self.assertEqual(r.status, status, r)
        self.assertEqual(error_problems(r), [], r)
        if etype is not None:
            self.assertEqual(r.json["error"]["type"], etype, r)

    def assertUnavailable(self, r, what=""):
        """A worker's (or nginx's) JSON 503 unavailable with Retry-After."""
        self.assertIsNotNone(r, "%s: no answer" % what)
        self.assertEqual(r.status, 503, "%s: %r" % (what, r))
        self.assertEqual(error_problems(r), [], what)
        self.assertEqual(r.json["error"]["type"], "unavailable", what)

    def assertNoProblems(self, problems, what):
        if problems:
            self.fail("%s: %d problem(s):\n  %s"
                      % (what, len(problems),
                         "\n  ".join(p[:300] for p in problems[:25])))


class PoolCase(FaultCase):
    """A test class sharing one serve.sh server (nginx + pre-fork pool);
    set EXTRA_CONF / WORKERS."""

    EXTRA_CONF = ""
    WORKERS = 3
    server = None

    @classmethod
    def setUpClass(cls):
        if os.environ.get("SUPERVISOR", "prefork") != "prefork":
            raise unittest.SkipTest("fault tests need SUPERVISOR=prefork")
        cls.server = Server(cls.EXTRA_CONF, cls.WORKERS,
                            name="fault-" + cls.__name__).start()

    @classmethod
    def tearDownClass(cls):
        if cls.server is not None:
            srv, cls.server = cls.server, None
            srv.stop()

    @property
    def port(self):
        return self.server.port

    @property
    def db(self):
        return self.server.db

    @property
    def sock(self):
        return os.path.join(self.server.rundir, "backfills.sock")

    def req(self, method, path, body=None, **kw):
        return request(self.port, method, path, body, **kw)

    def workers(self):
        return children(pool_parent(self.server))

    def wait_workers(self, n=None, gone=(), timeout=2.0):
        """Waits until the pool has n workers none of which is in gone;
        returns (pids, seconds taken) or fails."""
        n = n or self.WORKERS
        t0 = time.monotonic()
        parent = pool_parent(self.server)
        ok = wait_for(lambda: (len(children(parent)) == n and
                               not set(children(parent)) & set(gone)),
                      timeout)
        took = time.monotonic() - t0
        self.assertTrue(ok, "pool has %r, want %d workers without %r, "
                        "after %.1f s" % (children(parent), n, list(gone),
                                          took))
        return children(parent), took

    def create(self, **fields):
        r = self.req("POST", "/api/pipelines/%s/backfills" % PIPELINE,
                     {"backfill": fields})
        self.assertIsNotNone(r)
        self.assertEqual(r.status, 201, r)
        return r.json["backfill"]


@contextlib.contextmanager
def tempdir(prefix, mode=0o755):
    import shutil
    d = tempfile.mkdtemp(prefix=prefix)
    os.chmod(d, mode)
    try:
        yield d
    finally:
        if os.environ.get("E2E_KEEP"):
            sys.stderr.write("(kept %s)\n" % d)
        else:
            shutil.rmtree(d, ignore_errors=True)


def stop_pid(proc, timeout=5):
    """Ends a process this test started (by its pid): TERM, then KILL."""
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        proc.wait(5)


class Pool:
    """backfills.fcgi -s SOCK -n N on its own (no nginx, no serve.sh), in
    folder d, spoken to with fcgi_request(). The database is d/backfills.db
    or db (created with demo data unless create_db is false)."""

    running = []    # every Pool started and not stopped (see FaultCase)

    def __init__(self, d, workers=3, extra="", create_db=True, db=None):
        Pool.running.append(self)
        self.d = d
        self.n = workers
        self.db = db or os.path.join(d, "backfills.db")
        self.conf = os.path.join(d, "backfills.conf")
        self.sock = os.path.join(d, "pool.sock")
        if create_db:
            make_db(self.db)
        write_conf(self.conf, self.db, extra)
        env = dict(os.environ)
        env["ASAN_OPTIONS"] = "log_path=%s/asan:detect_leaks=1" % d
        env["UBSAN_OPTIONS"] = "print_stacktrace=1:log_path=%s/ubsan" % d
        self.log = open(os.path.join(d, "pool.log"), "wb")
        self.proc = subprocess.Popen(
            [FCGI_BIN, "-c", self.conf, "-s", self.sock, "-n", str(workers),
             "-M", "0600"], stdout=self.log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        ok = wait_for(lambda: os.path.exists(self.sock) and
                      len(children(self.proc.pid)) == workers, 10)
        if not ok:
            self.stop()
            raise AssertionError("pool did not start:\n" + self.log_text())

    @property
    def pid(self):
        return self.proc.pid

    def workers(self):
        return children(self.proc.pid)

    def request(self, method, path, body=b"", **kw):
        return fcgi_request(self.sock, method, path, body, **kw)

    def log_text(self):
        self.log.flush()
        with open(self.log.name, "rb") as f:
            return f.read().decode(errors="replace")[-3000:]

    def stop(self):
        """Stops what is left (by pid); returns the sanitizer reports."""
        import glob
        if self in Pool.running:
            Pool.running.remove(self)
        kids = self.workers() if self.proc.poll() is None else []
        stop_pid(self.proc)
        for p in kids:
            if alive(p):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(p, signal.SIGKILL)
        self.log.close()
        return sorted(glob.glob(os.path.join(self.d, "asan.*")) +
                      glob.glob(os.path.join(self.d, "ubsan.*")))
