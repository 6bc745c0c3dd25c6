"""Mage's own UI (README "Mage's UI"): the exact requests its backfill
pages and buttons send (mage_ai/frontend/api/utils/fetcher.ts: the query
string written raw with api_key last, api_key also at the root of every
JSON body, Authorization: Bearer <the token inside the oauth_token JWT>,
the cookie beside it), replayed through nginx and the workers, asserting
what the UI reads of each answer; in both error modes:

- http_error_codes = on (the default): errors answer their own status;
- http_error_codes = off (Mage's convention, what MAGE_UI=DIR make run
  sets): errors answer 200 with the same body, so that the UI (which
  drops any non-2xx answer to a save) shows them, except a refused
  credential (401), a method a route lacks (405), a path no route has
  (404), or a query with _http_error_codes.

Nothing of Mage's is needed: the requests are written out here."""

import base64
import json
import re

from harness import (ServerTestCase, API_KEY, DEMO_PIPELINE, FIELDS,
                     OAUTH_COOKIE)

DEMO_TOKEN = "bxyPj9Upq97jaL-gLkNA5g3gkifpF2pHFYfCs-2v6jg"
# Mage's runs table reads these of every run (and its sidekick
# block_runs); the service has no block runs or schedules.
MAGE_RUN_KEYS = {"block_runs", "block_runs_count",
                 "completed_block_runs_count", "pipeline_schedule_id",
                 "pipeline_schedule_name", "event_variables", "passed_sla",
                 "metrics", "executor_type", "id", "status",
                 "execution_date", "started_at", "completed_at",
                 "pipeline_uuid", "backfill_id", "variables"}
DATETIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{6})?$")


def jwt_token_claim(cookie):
    """The "token" claim of an oauth_token cookie, as the UI's
    AuthToken decodes it (payload only, no check)."""
    payload = cookie.split("=", 1)[1].split(".")[1]
    payload += "=" * (-len(payload) % 4)
    return json.loads(base64.urlsafe_b64decode(payload))["token"]


class MageUI:
    """Builds requests as Mage's fetcher.ts does."""

    def __init__(self, case, cookie):
        self.case = case
        self.cookie = cookie
        self.token = jwt_token_claim(cookie)

    def headers(self):
        return {"Content-Type": "application/json",
                "Authorization": "Bearer " + self.token,
                "Cookie": self.cookie}

    def call(self, method, path, query=(), body=None):
        # {...query, api_key}: written raw, api_key last
        q = "&".join("%s=%s" % kv for kv in list(query) +
                     [("api_key", API_KEY)])
        if body is not None:
            body = dict(body, api_key=API_KEY)
        return self.case.server.request(method, "%s?%s" % (path, q), body,
                                        self.headers(), auth=False)


class MageUICase:
    """The pages' requests (mixed into a ServerTestCase); the error
    statuses are the subclasses'."""

    # the status of an error of this code as the UI receives it
    def wire(self, code):
        raise NotImplementedError

    def setUp(self):
        self.ui = MageUI(self, OAUTH_COOKIE)

    def assertUIError(self, r, code, etype):
        """An error as the UI reads it: {"error": {code, message, type}}
        in the body, at the status this mode answers."""
        self.assertEqual(r.status, self.wire(code), r)
        err = r.json["error"]
        self.assertEqual((err["code"], err["type"]), (code, etype), r)
        self.assertTrue(err["message"])
        return err

    def new_backfill(self, name="fragrant rain"):
        # backfills/index.tsx: POST with only a random name
        r = self.ui.call("POST", "/api/pipelines/%s/backfills"
                         % DEMO_PIPELINE, body={"backfill": {"name": name}})
        self.assertIn(r.status, (200, 201), r)
        rec = r.json["backfill"]
        self.assertEqual(rec["name"], name)
        return rec["id"]

    def save(self, bid, **fields):
        # Backfills/Edit: every field of the form, dates "YYYY-MM-DD
        # HH:mm:00", interval_units a number, the run limit a string
        body = {"backfill": dict({"name": "fragrant rain",
                                  "end_datetime": "2023-07-05 00:00:00",
                                  "interval_type": "day",
                                  "interval_units": 1,
                                  "settings": {"pipeline_run_limit": "2"},
                                  "start_datetime": "2023-07-01 00:00:00",
                                  "variables": {"region": "eu"}}, **fields)}
        return self.ui.call("PUT", "/api/backfills/%d" % bid, body=body)

    def button(self, bid, status):
        # Detail: Start / Retry ({"status": "initial"}), Cancel
        return self.ui.call("PUT", "/api/backfills/%d" % bid,
                            body={"backfill": {"status": status}})

    def runs(self, bid, **q):
        query = [("_limit", "40"), ("_offset", "0")]
        query += list(q.items()) + [("backfill_id", str(bid))]
        r = self.ui.call("GET", "/api/pipeline_runs", query)
        self.assertEqual(r.status, 200, r)
        return r.json

    # -- every page's frame -------------------------------------------

    def test_frame(self):
        # _app.tsx: statuses (asked before anyone signs in: no token)
        r = self.server.request("GET", "/api/statuses?api_key=" + API_KEY,
                                auth=False)
        self.assertEqual(r.status, 200, r)
        st = r.json["statuses"][0]
        self.assertIs(st["require_user_authentication"], True)
        self.assertIs(st["is_instance_manager"], False)
        self.assertIn("require_user_permissions", st)
        # projects: the first one not a root project
        r = self.ui.call("GET", "/api/projects")
        self.assertEqual(r.status, 200, r)
        (proj,) = r.json["projects"]
        self.assertFalse(proj["root_project"])
        self.assertEqual(proj["features"], {})
        self.assertTrue(proj["name"])
        # PipelineDetailPage: name, uuid, type python (the Backfills nav
        # item), blocks for the sidekick's graph
        r = self.ui.call("GET", "/api/pipelines/%s" % DEMO_PIPELINE,
                         [("includes_outputs", "false")])
        self.assertEqual(r.status, 200, r)
        p = r.json["pipeline"]
        self.assertEqual((p["uuid"], p["name"], p["type"]),
                         (DEMO_PIPELINE, DEMO_PIPELINE, "python"))
        self.assertEqual(p["blocks"], [])
        r = self.ui.call("GET", "/api/pipelines/nope")
        self.assertUIError(r, 404, "record_not_found")
        # Header: is git set up? (asked every few seconds)
        r = self.ui.call("GET", "/api/git_branches/test",
                         [("_format", "with_basic_details")])
        self.assertEqual(r.status, 200, r)
        self.assertIs(r.json["git_branch"]["is_git_integration_enabled"],
                      False)

    def test_variables_are_the_pipelines_globals(self):
        self.server.ctl("pipeline", "add", "with_vars", "--variables",
                        '{"region": "eu", "n": 3, "on": true}', check=True)
        r = self.ui.call("GET", "/api/pipelines/with_vars/variables")
        self.assertEqual(r.status, 200, r)
        (g,) = r.json["variables"]
        self.assertEqual(g["block"], {"uuid": "global"})
        self.assertEqual(g["pipeline"], {"uuid": "with_vars"})
        got = {v["uuid"]: (v["value"], v["type"]) for v in g["variables"]}
        self.assertEqual(got, {"region": ("eu", "<class 'str'>"),
                               "n": (3, "<class 'int'>"),
                               "on": (True, "<class 'bool'>")})
        r = self.ui.call("GET", "/api/pipelines/%s/variables"
                         % DEMO_PIPELINE)
        self.assertEqual(r.json["variables"][0]["variables"], [])

    # -- the list, create, edit, buttons, runs --------------------------

    def test_list_create_edit_start_cancel_retry(self):
        bid = self.new_backfill()
        # the list page
        r = self.ui.call("GET", "/api/backfills",
                         [("_limit", "20"), ("_offset", "0"),
                          ("include_run_count", "true"),
                          ("pipeline_uuid", DEMO_PIPELINE)])
        self.assertEqual(r.status, 200, r)
        (row,) = [b for b in r.json["backfills"] if b["id"] == bid]
        self.assertIsNone(row["status"])        # shown "inactive"
        self.assertIsNone(row["started_at"])    # Edit enabled
        # the edit page: the pipeline, its variables, the backfill with
        # its preview
        for path, q in (("/api/pipelines/%s" % DEMO_PIPELINE,
                         [("includes_content", "false"),
                          ("includes_outputs", "false")]),
                        ("/api/pipelines/%s/variables" % DEMO_PIPELINE, [])):
            self.assertEqual(self.ui.call("GET", path, q).status, 200)
        r = self.save(bid)
        self.assertEqual(r.status, 200, r)
        rec = r.json["backfill"]
        # the form splits the dates on a space
        self.assertEqual(rec["start_datetime"], "2023-07-01 00:00:00")
        self.assertEqual(rec["settings"], {"pipeline_run_limit": "2"})
        r = self.ui.call("GET", "/api/backfills/%d" % bid,
                         [("_limit", "40"), ("_offset", "0"),
                          ("include_preview_runs", "true")])
        self.assertEqual(r.status, 200, r)
        rec = r.json["backfill"]
        self.assertEqual(rec["total_run_count"], 5)
        self.assertEqual(rec["run_status_counts"], {})
        dates = rec["pipeline_run_dates"]
        self.assertEqual([d["execution_date"] for d in dates],
                         ["2023-07-0%dT00:00:00" % i for i in range(1, 6)])
        self.assertEqual(dates[1]["interval_start_datetime_previous"],
                         "2023-07-01T00:00:00")
        # the detail page asks for runs before the start: an empty list
        self.assertEqual(self.runs(bid)["pipeline_runs"], [])
        # Start
        r = self.button(bid, "initial")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["backfill"]["status"], "initial")
        runs = self.runs(bid)
        self.assertEqual(runs["metadata"], {"count": 5, "next": False})
        rows = runs["pipeline_runs"]
        # newest first, as Mage lists them
        self.assertEqual([x["execution_date"] for x in rows],
                         ["2023-07-0%d 00:00:00" % i
                          for i in range(5, 0, -1)])
        for x in rows:
            self.assertLessEqual(MAGE_RUN_KEYS, set(x), x)
            self.assertEqual((x["block_runs"], x["block_runs_count"],
                              x["completed_block_runs_count"]), ([], 0, 0))
            self.assertIsNone(x["pipeline_schedule_id"])
            self.assertIs(x["passed_sla"], False)
            self.assertRegex(x["created_at"], DATETIME)
            self.assertEqual(x["variables"], {"region": "eu"})
        # an executor fails one date; "Last run failed" lists it
        run = rows[-1]
        for s in ("running", "failed"):
            r = self.ui.call("PUT", "/api/pipeline_runs/%d" % run["id"],
                             body={"pipeline_run": {"status": s}})
            self.assertEqual(r.status, 200, r)
        failed = self.runs(bid, status="last_run_failed")
        self.assertEqual([x["id"] for x in failed["pipeline_runs"]],
                         [run["id"]])
        # Cancel, then Retry: the dates not completed are planned again
        r = self.button(bid, "cancelled")
        self.assertEqual(r.json["backfill"]["status"], "cancelled")
        r = self.button(bid, "initial")
        self.assertEqual(r.json["backfill"]["status"], "initial")
        runs = self.runs(bid)["pipeline_runs"]
        self.assertEqual(len(runs), 10)
        self.assertEqual(self.runs(bid, status="last_run_failed")
                         ["pipeline_runs"], [])
        r = self.ui.call("GET", "/api/backfills/%d" % bid,
                         [("include_run_count", "true")])
        self.assertEqual(r.json["backfill"]["run_status_counts"],
                         {"initial": 5})

    def retry_run(self, run):
        # PipelineDetail/Runs/Table: "Retry run" creates a run under the
        # run's schedule; with none (pipeline_schedule_id null, as here)
        # the UI's URL builder leaves the id out
        return self.ui.call("POST", "/api/pipeline_schedules/pipeline_runs",
                            body={"pipeline_run": {
                                "backfill_id": run["backfill_id"],
                                "event_variables": run["event_variables"]
                                or {},
                                "execution_date": run["execution_date"],
                                "pipeline_schedule_id":
                                run["pipeline_schedule_id"],
                                "pipeline_uuid": run["pipeline_uuid"],
                                "variables": run["variables"] or {}}})

    def test_retry_run(self):
        bid = self.new_backfill()
        self.assertEqual(self.save(bid).status, 200)
        self.assertEqual(self.button(bid, "initial").status, 200)
        rows = self.runs(bid)["pipeline_runs"]
        first, second = rows[-1], rows[-2]
        # a waiting run: nothing to do, it is answered as it is
        r = self.retry_run(first)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json["pipeline_run"]["id"], first["id"])
        # a failed one: a new attempt of its date, ready now
        for st in ("running", "failed"):
            self.ui.call("PUT", "/api/pipeline_runs/%d" % first["id"],
                         body={"pipeline_run": {"status": st}})
        r = self.retry_run(first)
        self.assertEqual(r.status, 201, r)
        again = r.json["pipeline_run"]
        self.assertEqual((again["execution_date"], again["attempt"],
                          again["status"]),
                         (first["execution_date"], 2, "initial"))
        self.assertEqual(r.header("Location"),
                         "/api/pipeline_runs/%d" % again["id"])
        # a running one: cancelled (its executor learns it at its next
        # renewal), replaced by a new attempt
        self.ui.call("PUT", "/api/pipeline_runs/%d" % second["id"],
                     body={"pipeline_run": {"status": "running"}})
        r = self.retry_run(second)
        self.assertEqual(r.json["pipeline_run"]["attempt"], 2, r)
        r = self.ui.call("GET", "/api/pipeline_runs/%d" % second["id"])
        self.assertEqual(r.json["pipeline_run"]["status"], "cancelled")
        # the table lists every attempt; the counts, the latest
        self.assertEqual(self.runs(bid)["metadata"]["count"], 7)
        r = self.ui.call("GET", "/api/backfills/%d" % bid,
                         [("include_run_count", "true")])
        self.assertEqual(r.json["backfill"]["run_status_counts"],
                         {"initial": 5})
        # a backfill that had ended runs again
        self.assertEqual(self.button(bid, "cancelled").status, 200)
        r = self.retry_run(first)
        self.assertEqual(r.status, 201, r)
        r = self.ui.call("GET", "/api/backfills/%d" % bid,
                         [("include_run_count", "true")])
        self.assertEqual(r.json["backfill"]["status"], "initial")
        self.assertEqual(r.json["backfill"]["run_status_counts"],
                         {"cancelled": 4, "initial": 1})

    def test_retry_run_refusals(self):
        bid = self.new_backfill()
        self.save(bid)
        self.button(bid, "initial")
        run = self.runs(bid)["pipeline_runs"][0]
        with self.unchanged():
            self.assertUIError(self.retry_run(dict(run, backfill_id=999999)),
                               404, "record_not_found")
            self.assertUIError(self.retry_run(
                dict(run, execution_date="2023-08-01 00:00:00")), 404,
                "record_not_found")
            self.assertUIError(self.retry_run(
                dict(run, execution_date="July")), 400, "record_invalid")
            r = self.ui.call("POST", "/api/pipeline_schedules/pipeline_runs",
                             body={"pipeline_run": {}})
            err = self.assertUIError(r, 400, "record_invalid")
            self.assertEqual(len(err["errors"]), 2)

    def test_logs_page_finds_none(self):
        # pipelines/[pipeline]/logs: logs stay on the executor's host
        r = self.ui.call("GET", "/api/pipelines/%s/logs" % DEMO_PIPELINE,
                         [("pipeline_run_id[]", "5"), ("_limit", "100")])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json, {"logs": [{
            "block_run_logs": [], "pipeline_run_logs": [],
            "total_block_run_log_count": 0,
            "total_pipeline_run_log_count": 0}]})
        self.assertUIError(self.ui.call("GET", "/api/pipelines/nope/logs"),
                           404, "record_not_found")

    def test_delete_answers_the_record(self):
        # useDeleteConfirmDialogue reads the body as JSON
        bid = self.new_backfill()
        r = self.ui.call("DELETE", "/api/backfills/%d" % bid)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(list(r.json["backfill"].keys()), FIELDS)

    # -- what the UI is shown when something is refused -------------------

    def test_errors_as_the_ui_reads_them(self):
        bid = self.new_backfill()
        with self.subTest("a refused save"):
            r = self.save(bid, end_datetime="2023-06-01 00:00:00")
            err = self.assertUIError(r, 400, "record_invalid")
            self.assertEqual(err["errors"], self.field_errors(
                "end_datetime", "must be at or after start_datetime"))
            self.assertEqual(err["message"], self.invalid_message(
                "end_datetime: must be at or after start_datetime"))
        with self.subTest("a plan over max_runs"):
            r = self.save(bid, interval_type="second")
            err = self.assertUIError(r, 400, "record_invalid")
            # how many, against what
            self.assertRegex(err["errors"][0] if self.mage_mode else
                             err["errors"][0]["message"],
                             r"together plan \d+ runs, over max_runs "
                             r"\(100000\)")
        with self.subTest("Start before a plan"):
            other = self.new_backfill("no plan")
            self.assertUIError(self.button(other, "initial"), 400,
                               "record_invalid")
        with self.subTest("a transition the table forbids"):
            self.assertEqual(self.save(bid).status, 200)
            self.assertUIError(self.button(bid, "completed"), 409,
                               "invalid_transition")
        with self.subTest("editing a started plan"):
            self.assertEqual(self.button(bid, "initial").status, 200)
            r = self.save(bid, end_datetime="2023-07-09 00:00:00")
            self.assertUIError(r, 409, "invalid_transition")
        with self.subTest("deleted in another tab"):
            gone = self.new_backfill("gone")
            self.assertEqual(self.ui.call("DELETE", "/api/backfills/%d"
                                          % gone).status, 200)
            self.assertUIError(self.ui.call("GET", "/api/backfills/%d"
                                            % gone), 404, "record_not_found")
            self.assertUIError(self.button(gone, "initial"), 404,
                               "record_not_found")
        with self.subTest("a viewer's save"):
            out = self.server.ctl("token", "issue", "--role", "viewer",
                                  check=True).stdout.decode()
            tok = re.search(r"^token:\s+(\S+)", out, re.M).group(1)
            self.ui.token = tok
            self.assertUIError(self.save(bid), 403, "unauthorized_access")
            self.ui.token = jwt_token_claim(OAUTH_COOKIE)

    def test_statuses_mage_keeps(self):
        # a refused credential is a real 401 in both modes, as Mage's
        r = self.server.request("GET", "/api/backfills?api_key=nope",
                                auth=False)
        self.assertEqual(r.status, 401, r)
        self.assertEqual(r.json["error"]["type"], "invalid_api_key")
        # a path no route has, a method a route lacks: real
        r = self.ui.call("GET", "/api/nothing_here")
        self.assertEqual(r.status, 404, r)
        r = self.ui.call("PATCH", "/api/backfills/6", body={})
        self.assertEqual(r.status, 405, r)
        # Mage's own switch: any value of _http_error_codes
        for v in ("true", "1"):
            r = self.ui.call("GET", "/api/backfills/999999",
                             [("_http_error_codes", v)])
            self.assertEqual(r.status, 404, r)
            self.assertEqual(r.json["error"]["code"], 404)

    # -- credentials the UI carries ------------------------------------

    def test_several_credentials_in_authorization(self):
        # a proxy's Basic auth in front, then the UI's Bearer
        for value in ("Basic Zm9vOmJhcg==, Bearer " + DEMO_TOKEN,
                      "Basic Zm9vOmJhcg==,Bearer " + DEMO_TOKEN,
                      "Bearer %s, Basic Zm9vOmJhcg==" % DEMO_TOKEN):
            with self.subTest(value=value):
                r = self.server.request(
                    "GET", "/api/backfills/6?api_key=" + API_KEY,
                    headers={"Authorization": value}, auth=False)
                self.assertEqual(r.status, 200, r)
        r = self.server.request("GET", "/api/backfills/6?api_key=" + API_KEY,
                                headers={"Authorization": "Basic Zm9v, "
                                         "Bearer nope"}, auth=False)
        self.assertEqual(r.status, 401, r)

    def test_a_token_mage_issued(self):
        # Mage's sign-in issued it; registered here, the UI's Bearer works
        tok = "MageIssuedToken-" + "x" * 27
        p = self.server.ctl("token", "add", tok, "--role", "editor",
                            "--ttl", "1d", check=True)
        self.assertIn(b"added token", p.stdout)
        self.ui.token = tok
        self.new_backfill("from mage")
        # one already expired
        old = "MageExpiredToken-" + "y" * 26
        self.server.ctl("token", "add", old, "--role", "owner", "--expires",
                        "2023-08-17 23:30:26", check=True)
        self.ui.token = old
        r = self.ui.call("GET", "/api/backfills")
        self.assertEqual(r.status, 401, r)
        self.assertEqual(r.json["error"]["type"], "expired_oauth_token")
        # twice is refused
        p = self.server.ctl("token", "add", tok, "--role", "editor")
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"exists already", p.stderr)


class TestMageUIHttpErrorCodes(MageUICase, ServerTestCase):
    """http_error_codes = on: errors answer their own status."""

    def wire(self, code):
        return code

    mage_mode = False

    def field_errors(self, field, message):
        return [{"field": field, "message": message}]

    def invalid_message(self, first):
        return "Record is invalid."


class TestMageUIConvention(MageUICase, ServerTestCase):
    """http_error_codes = off: Mage's 200 with the error in the body."""

    EXTRA_CONF = "http_error_codes = off"

    def wire(self, code):
        return code if code in (401, 405) else 200

    mage_mode = True

    def field_errors(self, field, message):
        # the strings Mage's error popup shows (it calls replaceAll on
        # each: an object there crashes the page)
        return ["%s: %s" % (field, message)]

    def invalid_message(self, first):
        # the popup shows the message and folds the errors away: the
        # first reason is in the message
        return "Record is invalid: %s" % first


class TestTokenIssueWithoutSecret(ServerTestCase):
    """token issue with no jwt_secret: the bearer token still, and says
    that no cookie was signed."""

    def test_issue_without_jwt_secret(self):
        p = self.server.ctl("token", "issue", "--role", "editor",
                            check=True)
        out = p.stdout.decode()
        self.assertIn("cookie: none signed", out)
        tok = re.search(r"^token:\s+(\S+)", out, re.M).group(1)
        r = self.server.request("GET", "/api/backfills", headers={
            "X-API-KEY": API_KEY, "Authorization": "Bearer " + tok},
            auth=False)
        self.assertEqual(r.status, 200, r)
