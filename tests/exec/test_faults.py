"""When things go wrong (README "backfills-exec"): an executor killed
with kill -9 mid-run (its command dies, the lease lapses, another picks
up the retry), its keeper killed, a lease lost while the command runs, a
report after a lapse, a retry policy of 3 attempts with its delays, two
executors on one service, a service that fails calls for a while, and
the command line."""

import http.client
import http.server
import os
import signal
import subprocess
import threading
import time

from common import EXEC_BIN, ExecCase, PIPELINE, alive, wait_for


class TestKill(ExecCase):

    EXTRA_CONF = "run_lease = 5\nretries = 1\nretry_delay = 0"

    def test_kill9_executor_mid_run(self):
        bid = self.backfill(1)
        a = self.executor(command=("60",), name="exec-A").start()
        wait_for(lambda: self.truth.starts(), 20)
        (start,) = self.truth.starts()
        cmd_pid = start[2]
        self.assertTrue(alive(cmd_pid))
        self.assertTrue(a.pids())
        t_kill = time.time()
        a.proc.kill()
        a.proc.wait(5)
        # its command dies with it (SIGTERM from the keeper at once)
        wait_for(lambda: not alive(cmd_pid), 5)
        wait_for(lambda: not a.pids(), 5)
        self.assertLess(time.time() - t_kill, 5)
        # the lease lapses; another executor's claim sweeps it (failed),
        # the retry (retries = 1, retry_delay = 0) is claimed by it
        b = self.executor(command=("0.1",), name="exec-B").start()
        self.wait_status(bid, "completed", timeout=30)
        self.assertEqual(b.stop(), 0, b.log())
        first, second = self.runs(bid)
        self.assertEqual((first["attempt"], first["status"]), (1, "failed"))
        self.assertIn("lease lapsed", first["metrics"]["error"])
        self.assertEqual(first["metrics"]["executor"], "exec-A")
        self.assertEqual((second["attempt"], second["status"]),
                         (2, "completed"))
        self.assertEqual(second["metrics"]["executor"], "exec-B")
        starts = self.truth.starts()
        self.assertEqual([e[1] for e in starts], ["2023-07-01"] * 2)
        # the retry started only once A's lease had lapsed
        self.assertGreaterEqual(starts[1][3] - start[3], 5)
        self.assertIn("the executor is gone: SIGTERM", a.log())


class TestLease(ExecCase):

    EXTRA_CONF = "run_lease = 5"

    def claim(self, name="raw"):
        r = self.req("POST", "/api/pipeline_runs/claim",
                     {"claim": {"executor": name, "pipelines": None}})
        self.assertEqual(r.status, 200, r)
        return r.json["pipeline_run"]

    def get_run(self, rid):
        r = self.req("GET", "/api/pipeline_runs/%d" % rid)
        self.assertEqual(r.status, 200, r)
        return r.json["pipeline_run"]

    def report(self, run, body):
        r = self.req("PUT", "/api/pipeline_runs/%d" % run["id"],
                     {"pipeline_run": dict(body, lease_id=run["lease_id"])})
        self.assertEqual(r.status, 409, r)
        self.assertEqual(r.json["error"]["type"], "lease_lost")

    def test_report_after_a_lapse_is_refused(self):
        done = {"status": "completed", "metrics": {"exit_code": 0}}
        bid = self.backfill(2)
        run = self.claim()
        self.assertEqual((run["backfill_id"], run["lease_seconds"]),
                         (bid, 5))
        time.sleep(5.5)
        # lapsed, maybe not failed yet (the service sweeps between
        # requests): the report is refused and changes nothing of it
        self.report(run, done)
        after = self.get_run(run["id"])
        self.assertNotEqual(after["status"], "completed")
        self.assertNotIn("exit_code", after["metrics"] or {})
        # failed by the sweep of the next claim (which takes the other
        # date): a report and a renewal then change nothing at all
        other = self.claim()
        self.assertNotEqual(other["id"], run["id"])
        before = self.get_run(run["id"])
        self.assertEqual(before["status"], "failed")
        self.assertIn("lease lapsed", before["metrics"]["error"])
        for body in (done, {}):
            self.report(run, body)
            self.assertEqual(self.get_run(run["id"]), before)
        # the other one, its lease held, reports
        r = self.req("PUT", "/api/pipeline_runs/%d" % other["id"],
                     {"pipeline_run": {"lease_id": other["lease_id"],
                                       "status": "completed"}})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.status(bid), "failed")

    def test_lease_lost_kills_the_command_and_reports_nothing(self):
        bid = self.backfill(1)
        ex = self.executor(command=("60", "trap")).start()
        wait_for(lambda: self.truth.starts(), 20)
        (start,) = self.truth.starts()
        # the executor stops renewing: its lease lapses, a claim fails it
        ex.proc.send_signal(signal.SIGSTOP)
        try:
            time.sleep(5.5)
            self.assertIsNone(self.claim())
            (run,) = self.runs(bid)
            self.assertEqual(run["status"], "failed")
        finally:
            ex.proc.send_signal(signal.SIGCONT)
        # its next renewal answers 409: the command is killed (SIGKILL:
        # no trap runs), nothing is reported
        wait_for(lambda: not alive(start[2]), 5)
        self.assertEqual(self.truth.events("term"), [])
        self.assertEqual(self.truth.events("end"), [])
        time.sleep(1)
        (after,) = self.runs(bid)
        self.assertEqual(after, run)
        self.assertIn("lease lost (PUT /pipeline_runs/%d: 409 lease_lost"
                      % run["id"], ex.log())
        self.assertIn("not reported", ex.log())
        self.assertEqual(ex.stop(), 0, ex.log())

    def test_keeper_killed(self):
        bid = self.backfill(1)
        ex = self.executor(command=("60",)).start()
        wait_for(lambda: self.truth.starts(), 20)
        (start,) = self.truth.starts()
        keepers = [p for p in ex.pids()
                   if open("/proc/%d/stat" % p).read().split(") ")[1]
                   .split()[1] == str(ex.proc.pid)]
        self.assertEqual(len(keepers), 1, ex.pids())
        os.kill(keepers[0], signal.SIGKILL)
        wait_for(lambda: not alive(start[2]), 5)
        self.wait_status(bid, "failed", timeout=10)
        (run,) = self.runs(bid)
        self.assertEqual(run["metrics"]["reason"], "keeper_died")
        self.assertEqual(ex.stop(), 0, ex.log())


class TestLeaseUnderMageErrors(TestLease):
    """A lost lease again, against a service that answers errors as Mage
    does (http_error_codes = off, as README "Mage's UI" has it): the
    executor asks for real statuses (_http_error_codes=true) and still
    sees the 409, kills the command at once and reports nothing."""

    EXTRA_CONF = "run_lease = 5\nhttp_error_codes = off"
    # the others speak to the service themselves, expecting real codes
    test_report_after_a_lapse_is_refused = None
    test_keeper_killed = None


class TestRetryPolicy(ExecCase):

    def test_three_attempts_with_their_delay(self):
        bid = self.backfill(1, settings={"retry_config": {
            "retries": 2, "delay": 1, "exponential_backoff": False}})
        ex = self.executor(command=("0.1", "flaky=2")).start()
        self.wait_status(bid, "completed", timeout=30)
        self.assertEqual(ex.stop(), 0, ex.log())
        runs = self.runs(bid)
        self.assertEqual([(r["attempt"], r["status"]) for r in runs],
                         [(1, "failed"), (2, "failed"), (3, "completed")])
        starts = self.truth.starts()
        ends = self.truth.events("end")
        self.assertEqual(len(starts), 3)
        self.assertEqual([e[4] for e in ends], ["1", "1", "0"])
        for k in (0, 1):
            gap = starts[k + 1][3] - ends[k][3]
            # the delay (1 s) held, and the retry came within a poll
            self.assertGreaterEqual(gap, 1.0, (starts, ends))
            self.assertLess(gap, 3.0, (starts, ends))


class TestTwoExecutors(ExecCase):

    def test_no_date_runs_twice(self):
        bid = self.backfill(30)
        a = self.executor(command=("0.3",), once=True, concurrency=3,
                          name="two-A")
        b = self.executor(command=("0.3",), once=True, concurrency=3,
                          name="two-B")
        a.start()
        b.start()
        self.assertEqual(a.wait(120), 0, a.log())
        self.assertEqual(b.wait(120), 0, b.log())
        self.assertEqual(self.status(bid), "completed")
        started = self.truth.dates_started()
        self.assertEqual(len(started), 30)
        self.assertEqual(set(started.values()), {1}, started)
        by = [r["metrics"]["executor"] for r in self.runs(bid)]
        self.assertEqual(len(by), 30)
        self.assertGreater(by.count("two-A"), 0)
        self.assertGreater(by.count("two-B"), 0)
        self.assertLessEqual(self.truth.max_at_once(), 6)


class Flaky(http.server.BaseHTTPRequestHandler):
    """A proxy in front of the service that fails the first calls of
    each kind: `fail` maps "claim" and "report" to how many to fail;
    a failure is a 503 with Retry-After: 1, or a closed connection."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_POST(self):
        self.forward()

    def do_PUT(self):
        self.forward()

    def do_GET(self):
        self.forward()

    def forward(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        kind = ("claim" if self.path.split("?")[0].endswith("/claim") else
                "report" if b'"status"' in body else "other")
        st = self.server.state
        with st["lock"]:
            st["seen"][kind] = st["seen"].get(kind, 0) + 1
            n = st["seen"][kind]
        if n <= st["fail"].get(kind, 0):
            if n % 2:
                msg = b'{"error": {"code": 503, "message": "busy", ' \
                      b'"type": "unavailable"}}'
                self.send_response(503)
                self.send_header("Retry-After", "1")
                self.send_header("Content-Length", str(len(msg)))
                self.end_headers()
                self.wfile.write(msg)
            else:
                self.close_connection = True
                self.connection.shutdown(2)
            return
        c = http.client.HTTPConnection("127.0.0.1", st["port"], timeout=10)
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ("host", "connection")}
        c.request(self.command, self.path, body, headers)
        r = c.getresponse()
        data = r.read()
        c.close()
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ("connection", "transfer-encoding",
                                 "content-length", "server", "date"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class TestNetwork(ExecCase):

    def proxy(self, fail):
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Flaky)
        srv.state = {"lock": threading.Lock(), "seen": {}, "fail": fail,
                     "port": self.server.port}
        t = threading.Thread(target=srv.serve_forever, daemon=True)
        t.start()

        def stop():
            srv.shutdown()
            srv.server_close()
        self.addCleanup(stop)
        return srv

    def test_failed_calls_are_retried(self):
        bid = self.backfill(2)
        px = self.proxy({"claim": 2, "report": 3})
        ex = self.executor(command=("0.1",), once=True, concurrency=1,
                           url="http://127.0.0.1:%d/api" % px.server_port)
        self.assertEqual(ex.start().wait(60), 0, ex.log())
        self.assertEqual(self.status(bid), "completed", self.runs(bid))
        self.assertEqual(len(self.truth.starts()), 2)
        seen = px.state["seen"]
        self.assertEqual(seen["report"], 3 + 2)
        self.assertGreaterEqual(seen["claim"], 2 + 3)
        log = ex.log()
        self.assertIn("report failed (PUT /pipeline_runs/", log)
        self.assertIn("claim failed (POST /pipeline_runs/claim: 503", log)

    def test_no_service_no_exit(self):
        ex = self.executor(command=("0.1",), once=True,
                           url="http://127.0.0.1:1/api",
                           connect_timeout="200ms").start()
        time.sleep(2)
        self.assertIsNone(ex.proc.poll(), ex.log())
        self.assertIn("claim failed", ex.log())
        self.assertEqual(ex.stop(), 0, ex.log())


class TestCommandLine(ExecCase):

    def run_exec(self, *args, conf=None):
        argv = [EXEC_BIN] + list(args)
        if conf is not None:
            path = os.path.join(self.tmp, "c.conf")
            with open(path, "w") as f:
                f.write(conf)
            argv += ["-c", path]
        env = dict(os.environ)
        env.pop("BACKFILLS_EXEC_CONF", None)
        return subprocess.run(argv, capture_output=True, timeout=30,
                              env=env, stdin=subprocess.DEVNULL)

    def test_usage(self):
        p = self.run_exec("--help")
        self.assertEqual(p.returncode, 0)
        self.assertIn(b"usage: backfills-exec", p.stdout)
        p = self.run_exec("--version")
        self.assertEqual((p.returncode, p.stdout[:15]),
                         (0, b"backfills-exec "))
        for args in (["-Z"], [], ["-c", "x", "extra"]):
            p = self.run_exec(*args)
            self.assertEqual(p.returncode, 2, (args, p))
            self.assertIn(b"usage:", p.stderr)

    def test_bad_confs(self):
        good = ("url = http://127.0.0.1:1/api\napi_key = k\ntoken = t\n"
                "log_dir = %s\n" % self.tmp)
        cases = [
            (good + "colour = blue\n", b'c.conf:5: unknown key "colour"'),
            (good + "concurrency = 0\n", b'key "concurrency"'),
            (good + "poll_interval = 5x\n", b'key "poll_interval"'),
            (good, b"no [pipeline UUID] section"),
            (good + "[pipeline a/b]\ncommand = true\n",
             b"not a pipeline uuid"),
            (good + "[pipeline p]\ntimeout = 1s\n", b"has no command"),
            (good + "[pipeline p]\nretries = 1\n", b'unknown key "retries"'),
            (good + "[other]\nx = 1\n", b"section [other] is not used"),
            ("api_key = k\ntoken = t\n[pipeline p]\ncommand = true\n",
             b"url, api_key and token are required"),
            (good + "[pipeline p]\ncommand = " + "x" * 200 + "\n",
             b"line longer than 199 bytes"),
        ]
        for conf, want in cases:
            p = self.run_exec("--once", conf=conf)
            self.assertEqual(p.returncode, 1, (conf, p))
            self.assertIn(want, p.stderr, conf)

    def test_multi_line_command(self):
        bid = self.backfill(1)
        ex = self.executor({PIPELINE: {"command": (
            "echo one $DS >> %s\n  echo two $DS >> %s"
            % (self.truth.path, self.truth.path))}}, once=True)
        self.assertEqual(ex.start().wait(30), 0, ex.log())
        self.assertEqual(self.status(bid), "completed")
        with open(self.truth.path) as f:
            self.assertEqual(f.read(), "one 2023-07-01\ntwo 2023-07-01\n")

    def test_any_pipeline_section(self):
        self.server.ctl("pipeline", "add", "other_pipe", check=True)
        r = self.req("POST", "/api/pipelines/other_pipe/backfills",
                     {"backfill": {"start_datetime": "2023-01-01",
                                   "end_datetime": "2023-01-02",
                                   "interval_type": "day",
                                   "interval_units": 1}})
        self.assertEqual(r.status, 201, r)
        other = r.json["backfill"]["id"]
        self.set_status(other, "initial")
        mine = self.backfill(1)
        # only its own pipeline: the other's runs stay
        ex = self.executor(once=True)
        self.assertEqual(ex.start().wait(30), 0, ex.log())
        self.assertEqual(self.status(mine), "completed")
        self.assertEqual(self.status(other), "initial")
        # [pipeline *] takes any
        ex = self.executor({"*": self.job("0.1")}, once=True)
        self.assertEqual(ex.start().wait(30), 0, ex.log())
        self.assertEqual(self.status(other), "completed")
