"""The checker itself: Ledger.verify must flag a lost acknowledged write
and a refused write that was applied, and accept what a client cannot
know (an answer lost in a crash). No server: answers are made up."""

import json
import unittest

from common import ACK, DOUBT, REFUSED, Ledger, Response, outcome

GATEWAY = (503, b'{"error": {"code": 503, "message": "Service unavailable.",'
           b' "type": "unavailable"}}')
WORKER_503 = (503, b'{"error": {"code": 503, "message": "Service unavailable,'
              b' try again.", "type": "unavailable"}}')


def resp(status, body):
    h = [("Content-Type", "application/json")]
    if status == 503:
        h.append(("Retry-After", "1"))
    return Response(status, "", h, body)


def ok(bid, **fields):
    rec = dict({"id": bid, "name": None, "block_uuid": None}, **fields)
    return resp(200, json.dumps({"backfill": rec}).encode())


class TestLedger(unittest.TestCase):

    def test_outcomes(self):
        self.assertEqual(outcome(None), DOUBT)
        self.assertEqual(outcome(resp(*GATEWAY)), DOUBT)
        self.assertEqual(outcome(resp(*WORKER_503)), REFUSED)
        self.assertEqual(outcome(ok(1)), ACK)

    def ledger(self):
        lg = Ledger()
        r = ok(1, name="a")
        r.status = 201
        lg.create("a", r)
        lg.create("b", resp(*WORKER_503))
        lg.create("c", None)
        lg.update(1, {"block_uuid": "v1"}, ok(1, block_uuid="v1"))
        lg.update(1, {"block_uuid": "v2"}, resp(*WORKER_503))
        lg.update(1, {"block_uuid": "v3"}, resp(*GATEWAY))
        return lg

    def test_consistent(self):
        for stored in ("v1", "v3"):
            rows = {1: {"name": "a", "block_uuid": stored}}
            self.assertEqual(self.ledger().verify(rows), [], stored)
        rows = {1: {"name": "a", "block_uuid": "v1"},
                2: {"name": "c", "block_uuid": None}}
        self.assertEqual(self.ledger().verify(rows), [])

    def test_flags(self):
        cases = {
            "lost create": {},
            "refused create applied": {1: {"name": "a", "block_uuid": "v1"},
                                       2: {"name": "b", "block_uuid": None}},
            "refused update applied": {1: {"name": "a", "block_uuid": "v2"}},
            "lost update": {1: {"name": "a", "block_uuid": None}},
        }
        for what, rows in cases.items():
            with self.subTest(what):
                lg = self.ledger()
                self.assertNotEqual(lg.verify(rows), [], what)

    def test_improper_error_flagged(self):
        lg = Ledger()
        lg.create("x", Response(502, "", [], b"<html>bad gateway</html>"))
        self.assertNotEqual(lg.verify({}), [])
