"""
Helpers of the executor tests: the real service (tests/e2e/harness.py's
Server: nginx + workers on a free port, a fresh database, SQLite or, under
tests/pg/run_exec.py, PostgreSQL), real executors (bin/backfills-exec as
subprocesses with a generated conf) running tests/exec/job.sh, and the
truth file those commands write (job.sh says what is in it).

Environment: EXEC_BIN (default bin/backfills-exec) and what harness.py
takes (FCGI_BIN, CTL_BIN, E2E_KEEP=1).
"""

import contextlib
import datetime
import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.append(os.path.normpath(os.path.join(HERE, "..", "e2e")))

import harness          # noqa: E402

EXEC_BIN = harness.binary("EXEC_BIN", "bin/backfills-exec")
JOB = os.path.join(HERE, "job.sh")
PIPELINE = harness.DEMO_PIPELINE
# The demo database's credentials (backfillctl init --demo): an API key
# and a token of role owner.
API_KEY = harness.API_KEY
TOKEN = "bxyPj9Upq97jaL-gLkNA5g3gkifpF2pHFYfCs-2v6jg"
CREDS = {"X-API-KEY": API_KEY, "Authorization": "Bearer " + TOKEN}


def alive(pid):
    """Whether process pid runs (a zombie does not)."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except OSError:
        return False


def wait_for(what, timeout, step=0.05):
    """Calls what() until it returns a true value (returned), or fails
    after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        v = what()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("not within %.1f s: %s"
                                 % (timeout, getattr(what, "__doc__", "")
                                    or what))
        time.sleep(step)


class Truth:
    """The file the commands write (job.sh)."""

    def __init__(self, path):
        self.path = path
        open(path, "w").close()

    def events(self, kind=None):
        """[(kind, ds, pid, time, rest...)] in the order written."""
        out = []
        with open(self.path) as f:
            for line in f:
                p = line.split()
                if len(p) < 4 or (kind and p[0] != kind):
                    continue
                out.append((p[0], p[1], int(p[2]), float(p[3])) +
                           tuple(p[4:]))
        return out

    def starts(self):
        return self.events("start")

    def dates_started(self):
        """ds -> how many times it started."""
        n = {}
        for e in self.starts():
            n[e[1]] = n.get(e[1], 0) + 1
        return n

    def max_at_once(self):
        """The most commands running at one time, from start and end (or
        term) times by pid."""
        spans = {}
        for e in self.events():
            if e[0] == "start":
                spans[e[2]] = [e[3], None]
            elif e[2] in spans:
                spans[e[2]][1] = e[3]
        marks = []
        for a, b in spans.values():
            marks.append((a, 1))
            marks.append((b if b is not None else float("inf"), -1))
        # an end before a start at the same instant
        marks.sort(key=lambda m: (m[0], m[1]))
        n = top = 0
        for _, d in marks:
            n += d
            top = max(top, n)
        return top


class Executor:
    """One backfills-exec with a conf of its own, in a folder of its own
    (conf, log_dir, stderr, sanitizer reports)."""

    def __init__(self, test, server, pipelines, once=False, name=None,
                 **keys):
        self.test = test
        self.dir = tempfile.mkdtemp(prefix="bf-exec-", dir=test.tmp)
        self.conf = os.path.join(self.dir, "exec.conf")
        self.log_dir = os.path.join(self.dir, "logs")
        self.stderr = os.path.join(self.dir, "stderr")
        self.once = once
        self.proc = None
        conf = {"url": "http://127.0.0.1:%d/api" % server.port,
                "api_key": API_KEY, "token": TOKEN, "log_dir": "logs",
                "concurrency": 1, "poll_interval": "300ms",
                "kill_grace": "2s", "http_timeout": "5s",
                "log_level": "debug"}
        if name:
            conf["name"] = name
        conf.update(keys)
        with open(self.conf, "w") as f:
            f.write("# written by tests/exec/common.py\n")
            for k, v in conf.items():
                f.write("%s = %s\n" % (k, v))
            for uuid, sec in pipelines.items():
                f.write("\n[pipeline %s]\n" % uuid)
                if isinstance(sec, str):
                    sec = {"command": sec}
                for k, v in sec.items():
                    f.write("%s = %s\n" % (k, v))
        self.marker = "log_path=%s/asan" % self.dir

    def start(self):
        env = dict(os.environ)
        env["ASAN_OPTIONS"] = self.marker + ":detect_leaks=1"
        env["UBSAN_OPTIONS"] = ("print_stacktrace=1:log_path=%s/ubsan"
                                % self.dir)
        with open(self.stderr, "ab") as err:
            self.proc = subprocess.Popen(
                [EXEC_BIN, "-c", self.conf] + (["--once"] if self.once
                                               else []),
                stdin=subprocess.DEVNULL, stdout=err, stderr=err, env=env)
        self.test.addCleanup(self.cleanup)
        return self

    def wait(self, timeout=60):
        """Waits for the executor to exit; returns its status."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("the executor still runs after %d s:\n%s"
                                 % (timeout, self.log()))

    def stop(self, timeout=30):
        """SIGTERM, then waits; returns the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.wait(timeout)

    def log(self):
        with open(self.stderr, "rb") as f:
            return f.read().decode(errors="replace")[-6000:]

    def pids(self):
        """The live processes it started (keepers, commands): those with
        this executor's marker in their environment."""
        out = []
        mark = ("ASAN_OPTIONS=" + self.marker + ":").encode()
        for d in os.listdir("/proc"):
            if not d.isdigit() or int(d) == os.getpid():
                continue
            if self.proc and int(d) == self.proc.pid:
                continue
            try:
                with open("/proc/%s/environ" % d, "rb") as f:
                    if mark not in f.read():
                        continue
            except OSError:
                continue
            if alive(int(d)):
                out.append(int(d))
        return out

    def cleanup(self):
        """Kills what is left (then fails: a process outlived its
        executor), and fails on a sanitizer report."""
        problems = []
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        with contextlib.suppress(AssertionError):
            wait_for(lambda: not self.pids(), 5)
        left = self.pids()
        for pid in left:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        if left:
            problems.append("processes outlived the executor: %s" % left)
        for path in sorted(glob.glob(os.path.join(self.dir, "asan.*")) +
                           glob.glob(os.path.join(self.dir, "ubsan.*"))):
            with open(path, "rb") as f:
                sys.stderr.write("==== %s ====\n%s\n" % (
                    path, f.read().decode(errors="replace")))
            problems.append("sanitizer report %s" % path)
        if problems:
            raise AssertionError("; ".join(problems) + "\n" + self.log())


class ExecCase(unittest.TestCase):
    """A test class sharing one service (EXTRA_CONF for its conf); each
    test gets a folder, a truth file and fresh backfills."""

    EXTRA_CONF = ""
    server = None

    @classmethod
    def setUpClass(cls):
        cls.server = harness.Server(cls.EXTRA_CONF, name=cls.__name__)
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        if cls.server is not None:
            srv, cls.server = cls.server, None
            srv.stop()

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="bf-exect-")
        self.truth = Truth(os.path.join(self.tmp, "truth"))
        self.addCleanup(self.drop_tmp)

    def drop_tmp(self):
        if os.environ.get("E2E_KEEP"):
            sys.stderr.write("(kept %s)\n" % self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    # -- the service ---------------------------------------------------

    def req(self, method, path, body=None, **kw):
        r = self.server.request(method, path, body,
                                headers={"Authorization": "Bearer " + TOKEN},
                                **kw)
        return r

    def backfill(self, days, start="2023-07-01", settings=None, name=None,
                 variables=None):
        """Creates a backfill of `days` daily runs from start and starts
        it; returns its id."""
        fields = {"name": name or "exec test", "start_datetime": start,
                  "interval_type": "day", "interval_units": 1}
        end = (datetime.date.fromisoformat(start) +
               datetime.timedelta(days=days - 1))
        fields["end_datetime"] = end.isoformat()
        if settings is not None:
            fields["settings"] = settings
        if variables is not None:
            fields["variables"] = variables
        r = self.req("POST", "/api/pipelines/%s/backfills" % PIPELINE,
                     {"backfill": fields})
        self.assertEqual(r.status, 201, r)
        bid = r.json["backfill"]["id"]
        self.set_status(bid, "initial")
        return bid

    def set_status(self, bid, status):
        r = self.req("PUT", "/api/backfills/%d" % bid,
                     {"backfill": {"status": status}})
        self.assertEqual(r.status, 200, r)
        return r.json["backfill"]

    def status(self, bid):
        r = self.req("GET", "/api/backfills/%d" % bid)
        self.assertEqual(r.status, 200, r)
        return r.json["backfill"]["status"]

    def runs(self, bid):
        """The backfill's runs, oldest first (by date, then id)."""
        r = self.req("GET", "/api/pipeline_runs?backfill_id=%d&_limit=1000"
                     % bid)
        self.assertEqual(r.status, 200, r)
        return sorted(r.json["pipeline_runs"],
                      key=lambda x: (x["execution_date"], x["id"]))

    def wait_status(self, bid, want, timeout=60):
        def done():
            s = self.status(bid)
            return s if s in (want, "completed", "failed",
                              "cancelled") else None
        got = wait_for(done, timeout, 0.2)
        self.assertEqual(got, want, self.runs(bid))

    def executor(self, pipelines=None, command=None, **kw):
        """An Executor for this test, not started; command: job.sh's
        arguments after TRUTH for the demo pipeline."""
        if pipelines is None:
            pipelines = {PIPELINE: self.job(*(command or ("0.2",)))}
        return Executor(self, self.server, pipelines, **kw)

    def job(self, *args):
        """The conf's command line running job.sh on this test's truth."""
        return "%s %s %s" % (JOB, self.truth.path, " ".join(args))
