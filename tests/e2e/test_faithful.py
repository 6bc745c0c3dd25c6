"""What a client stores comes back as it sent it, or is refused
(docs/RELIABILITY.md, "Faithful values"): json-c would saturate integers
beyond 64 bits, read "-0" as 0, keep only one of two keys spelled alike
and cut a key at a NUL; such bodies are 400 record_invalid naming the
field, and change nothing. What json-c keeps as written (fractions and
exponents as sent, the ends of the 64-bit ranges) comes back byte for
byte."""

from harness import ServerTestCase, DEMO_PIPELINE


class TestFaithful(ServerTestCase):

    def post_raw(self, body):
        return self.req("POST", "/api/pipelines/%s/backfills" % DEMO_PIPELINE,
                        body)

    def test_kept_as_written(self):
        raw = ('{"backfill": {"settings": {"big": 18446744073709551615, '
               '"neg": -9223372036854775808, "pi": 3.14159265358979323846, '
               '"tiny": 1e-400, "huge": 1E400, "x": 1.50}, '
               '"variables": {"k\\u00e9": "v", "z": -0.0}}}')
        r = self.post_raw(raw)
        self.assertEqual(r.status, 201, r)
        bid = r.json["backfill"]["id"]
        got = self.req("GET", "/api/backfills/%d" % bid).body.decode()
        got = got.replace(" ", "")
        for text in ('"big":18446744073709551615',
                     '"neg":-9223372036854775808',
                     '"pi":3.14159265358979323846', '"tiny":1e-400',
                     '"huge":1E400', '"x":1.50', '"z":-0.0'):
            self.assertIn(text, got)

    def test_refused_by_name(self):
        cases = [
            ('{"backfill": {"settings": {"a": 123456789012345678901234567890}}}',
             "settings"),
            ('{"backfill": {"settings": {"a": -123456789012345678901234567890}}}',
             "settings"),
            ('{"backfill": {"variables": {"a": 18446744073709551616}}}',
             "variables"),
            ('{"backfill": {"variables": {"a": -9223372036854775809}}}',
             "variables"),
            ('{"backfill": {"variables": {"a": [1, {"b": -0}]}}}',
             "variables"),
            ('{"backfill": {"settings": {"a\\u0000b": 1, "a": 2}}}',
             "settings"),
            ('{"backfill": {"settings": {"a": 1, "a": 2}}}', "settings"),
            ('{"backfill": {"variables": {"n": {"x": 1, "\\u0078": 2}}}}',
             "variables"),
            ('{"backfill": {"name": "a", "name": "b"}}', "name"),
        ]
        for raw, field in cases:
            with self.subTest(body=raw), self.unchanged():
                r = self.post_raw(raw)
                self.assertInvalid(r, field)
                r = self.req("PUT", "/api/backfills/6", raw)
                self.assertInvalid(r, field)

    def test_run_metrics_too(self):
        rec = self.create(start_datetime="2023-01-01",
                          end_datetime="2023-01-01", interval_type="day",
                          interval_units=1)
        self.put_ok(rec["id"], {"status": "initial"})
        r = self.req("GET", "/api/pipeline_runs?backfill_id=%d" % rec["id"])
        run = r.json["pipeline_runs"][0]
        with self.unchanged():
            r = self.req("PUT", "/api/pipeline_runs/%d" % run["id"],
                         '{"pipeline_run": {"status": "running", '
                         '"metrics": {"bytes": 99999999999999999999999}}}')
            self.assertInvalid(r, "metrics")
