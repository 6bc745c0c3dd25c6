#!/usr/bin/env python3
"""
The answers of the end-to-end suite against the API's description.

  check_answers.py build/openapi.json build/e2e-answers.jsonl

The first file is the description as the worker serves it (docs/openapi.yaml
as JSON); the second, the answers tests/e2e/harness.py recorded with
E2E_RECORD (one JSON object a line). Each answer must be one the
description documents:

- the worker's (it has X-Request-Id): its path is one of the description's
  paths (nginx's reading of it: decoded, slashes merged, one trailing
  slash dropped), its method one of the path's (HEAD as GET, without a
  body) and its status one of the operation's; or it is what the root's
  x- extensions say of the rest: x-unknown-paths (404; OPTIONS 204),
  x-other-methods (405 with Allow, the path's methods);
- nginx's own (no X-Request-Id): x-web-server-errors;
- its Content-Type is the response's media type, its headers are the
  response's (each required one present, each value valid, none
  undocumented but the transport's and CORS'), its body valid against
  the response's schema (JSON Schema 2020-12, python3-jsonschema);
- under Mage's convention (a server whose conf has http_error_codes = off,
  x-http-error-codes-off) an error answers 200 with the body of the
  operation's response for its code, and record_invalid's errors are
  MageFieldError strings; else FieldError objects, and the status equals
  the code;
- a request answered 2xx sent only documented query parameters, with
  valid values, and a body valid against the operation's requestBody.

Then every operation must have been answered, each of its 2xx responses
at least once, and every component of the description must be reached
from its paths or its root x- extensions. Ends with "N answers checked,
N operations, N problems"; exits 1 on any problem.
"""

import base64
import collections
import copy
import json
import re
import sys
import urllib.parse

import jsonschema

METHODS = ("get", "post", "put", "delete", "options")
# The order of Allow (src/router.c route_allow).
ALLOW_ORDER = ("GET", "POST", "PUT", "DELETE", "OPTIONS")
# Headers of the transport, and CORS' (the description's info: on every
# answer when cors_origin is set), which no response lists.
TRANSPORT = {"content-type", "content-length", "date", "server",
             "connection", "keep-alive", "transfer-encoding", "status",
             "access-control-allow-origin",
             "access-control-allow-credentials",
             "access-control-expose-headers", "vary"}
FALSE = ("off", "no", "false", "0")
MAX_SHOWN = 60


class Problems:
    def __init__(self):
        self.n = 0
        self.kinds = collections.Counter()

    def add(self, kind, answer, text):
        self.n += 1
        self.kinds[kind] += 1
        if self.kinds[kind] <= 5 and self.n <= MAX_SHOWN:
            where = "%s %s -> %s" % (answer.get("method"),
                                     answer.get("target"),
                                     answer.get("status"))
            sys.stdout.write("PROBLEM %s: %s\n    %s\n" % (kind, where,
                                                           text[:800]))


def pointer(doc, ref):
    """The value a local $ref ("#/a/b") names."""
    if not ref.startswith("#/"):
        raise ValueError("not a local reference: %s" % ref)
    v = doc
    for part in ref[2:].split("/"):
        part = urllib.parse.unquote(part).replace("~1", "/").replace("~0",
                                                                     "~")
        v = v[part]
    return v


def deref(doc, obj):
    while isinstance(obj, dict) and "$ref" in obj:
        obj = pointer(doc, obj["$ref"])
    return obj


class Spec:
    def __init__(self, doc):
        self.doc = doc
        # The roots a validator resolves "#/components/..." in: one per
        # error convention, the other's field error made impossible.
        self.roots = {}
        for mage, gone in ((False, "MageFieldError"), (True, "FieldError")):
            d = copy.deepcopy(doc)
            d["components"]["schemas"][gone] = False
            self.roots[mage] = d
        self.validators = {}
        self.paths = []
        for template, item in doc["paths"].items():
            segs = template.strip("/").split("/")
            self.paths.append((template, segs, item))

    def validate(self, schema, value, mage=False):
        """The errors of value against schema (a schema object of the
        description, its refs resolved in the description)."""
        key = (id(schema), mage)
        v = self.validators.get(key)
        if v is None:
            root = dict(self.roots[mage])
            root.pop("$schema", None)
            if isinstance(schema, bool):
                root = schema
            else:
                root.update(schema)
            v = jsonschema.Draft202012Validator(root)
            self.validators[key] = (v, schema)
        else:
            v = v[0]
        return sorted(v.iter_errors(value), key=lambda e: list(e.path))

    def params(self, item, op):
        """The operation's parameters, the path's included, resolved."""
        out = {}
        for p in item.get("parameters", []) + op.get("parameters", []):
            p = deref(self.doc, p)
            out[(p["in"], p["name"].lower() if p["in"] == "header" else
                 p["name"])] = p
        return out

    def match(self, path):
        """(template, item, {name: value}) of the path, literal segments
        first; None when no path of the description has its shape."""
        segs = path.strip("/").split("/") if path != "/" else [""]
        best = None
        for template, tsegs, item in self.paths:
            if len(tsegs) != len(segs):
                continue
            vals, rank = {}, []
            for t, s in zip(tsegs, segs):
                if t.startswith("{"):
                    if s == "":
                        break
                    vals[t[1:-1]] = s
                    rank.append(1)
                elif t == s:
                    rank.append(0)
                else:
                    break
            else:
                if best is None or rank < best[0]:
                    best = (rank, template, item, vals)
        return best[1:] if best else None


def nginx_path(target):
    """The path as nginx hands it on ($uri): decoded, "//" merged; and
    as the router reads it, one trailing slash dropped."""
    path = target.split("?", 1)[0]
    path = urllib.parse.unquote(path, errors="surrogateescape")
    path = re.sub("/+", "/", path)
    if len(path) > 1 and path.endswith("/"):
        path = path[:-1]
    return path


def body_text(b):
    if b is None:
        return ""
    if isinstance(b, dict):
        if "base64" in b:
            return base64.b64decode(b["base64"]).decode("utf-8", "replace")
        return None     # omitted
    return b


def header_map(pairs):
    out = collections.OrderedDict()
    for k, v in pairs:
        out.setdefault(k.lower(), v)
    return out


def mage_mode(conf):
    """Whether the server ran with http_error_codes = off (its last
    value wins, as in the conf)."""
    mode = False
    for line in (conf or "").splitlines():
        k, sep, v = line.partition("=")
        if sep and k.strip() == "http_error_codes":
            mode = v.strip().lower() in FALSE
    return mode


def allow_of(item):
    ms = [m.upper() for m in METHODS if m in item]
    return ", ".join(m for m in ALLOW_ORDER if m in ms)


class Checker:
    def __init__(self, spec):
        self.spec = spec
        self.doc = spec.doc
        self.problems = Problems()
        self.seen = collections.defaultdict(collections.Counter)
        self.count = 0

    # -- one answer --------------------------------------------------------

    def check(self, a):
        self.count += 1
        hdrs = header_map(a["headers"])
        if "x-request-id" not in hdrs and a["via"] != "cgi":
            return self.web_server(a, hdrs)
        if a["method"] is None:
            return self.problems.add("unreadable request answered by a "
                                     "worker", a, repr(a["target"]))
        path = nginx_path(a["target"])
        query = urllib.parse.parse_qsl(urllib.parse.urlsplit(
            a["target"]).query, keep_blank_values=True)
        mage = mage_mode(a["conf"])
        m = self.spec.match(path)
        if m is not None:
            template, item, vals = m
            # A segment the router refuses as a pipeline's uuid: no
            # route; a malformed {id}: 400, but OPTIONS sees no route.
            for name, v in vals.items():
                p = self.spec.params(item, {}).get(("path", name))
                s = deref(self.doc, p["schema"]) if p else {}
                if "pattern" in s and not re.search(s["pattern"], v):
                    m = None
                    break
                if s.get("type") == "integer" and a["method"] == "OPTIONS" \
                        and (not re.fullmatch("[0-9]+", v) or
                             self.spec.validate(s, int(v))):
                    m = None
        if m is None:
            return self.unknown_path(a, hdrs, mage)
        method = a["method"].lower()
        op = item.get("get" if method == "head" else method)
        if op is None:
            return self.other_method(a, hdrs, item, mage, query)
        self.operation(a, hdrs, template, item, op, method, query, mage)

    def web_server(self, a, hdrs):
        ext = self.doc["x-web-server-errors"]
        if a["status"] not in ext["statuses"]:
            self.problems.add("web server status not documented", a,
                              "x-web-server-errors has %s" % ext["statuses"])
            return
        self.seen["x-web-server-errors"][a["status"]] += 1
        if (a["method"] or "").upper() == "HEAD":
            return
        self.json_body(a, hdrs, deref(self.doc, ext["schema"]), False,
                       "web server error")

    def unknown_path(self, a, hdrs, mage):
        ext = self.doc["x-unknown-paths"]["responses"]
        want = "204" if a["method"] == "OPTIONS" else "404"
        if str(a["status"]) != want:
            self.problems.add("path no route has", a, "x-unknown-paths: "
                              "%s for %s" % (want, a["method"]))
            return
        self.seen["x-unknown-paths"][a["status"]] += 1
        self.response(a, hdrs, deref(self.doc, ext[want]), a["method"],
                      mage, "x-unknown-paths")

    def other_method(self, a, hdrs, item, mage, query):
        resp = deref(self.doc, self.doc["x-other-methods"]["response"])
        if a["status"] != 405:
            self.problems.add("method the path does not list", a,
                              "x-other-methods: 405")
            return
        self.seen["x-other-methods"][405] += 1
        if hdrs.get("allow") != allow_of(item):
            self.problems.add("Allow is not the path's methods", a,
                              "Allow %r, the description's %r"
                              % (hdrs.get("allow"), allow_of(item)))
        self.response(a, hdrs, resp, a["method"], mage, "x-other-methods")

    def operation(self, a, hdrs, template, item, op, method, query, mage):
        opid = op["operationId"]
        status = a["status"]
        body = body_text(a["body"])
        code = status
        # Mage's convention: the error's code says which response it is.
        if mage and status == 200 and body and body.startswith("{"):
            try:
                j = json.loads(body)
            except ValueError:
                j = None
            if isinstance(j, dict) and "error" in j:
                code = j["error"].get("code")
                unrouted_like = code in (401, 405) or any(
                    k == "_http_error_codes" for k, _ in query)
                if unrouted_like:
                    self.problems.add("Mage's convention: real status "
                                      "expected", a, "code %s" % code)
        if mage and status >= 400 and status not in (401, 405) and not any(
                k == "_http_error_codes" for k, _ in query):
            self.problems.add("Mage's convention: 200 expected", a,
                              "an error of %s under http_error_codes = off"
                              % status)
        resp = op["responses"].get(str(code))
        if resp is None:
            self.problems.add("status not documented", a, "%s has %s"
                              % (opid, sorted(op["responses"])))
            return
        self.seen[opid][code] += 1
        resp = deref(self.doc, resp)
        if method == "options" and hdrs.get("allow") != allow_of(item) \
                and code == 204:
            self.problems.add("Allow is not the path's methods", a,
                              "Allow %r, the description's %r"
                              % (hdrs.get("allow"), allow_of(item)))
        self.response(a, hdrs, resp, a["method"], mage, opid)
        self.request(a, item, op, query, code)

    # -- its parts ---------------------------------------------------------

    def response(self, a, hdrs, resp, method, mage, where):
        status = a["status"]
        for name, h in resp.get("headers", {}).items():
            h = deref(self.doc, h)
            v = hdrs.get(name.lower())
            if v is None:
                if h.get("required"):
                    self.problems.add("required header missing", a,
                                      "%s: %s" % (where, name))
                continue
            for e in self.spec.validate(deref(self.doc, h["schema"]), v):
                self.problems.add("header value", a, "%s: %s: %s"
                                  % (where, name, e.message))
        known = {n.lower() for n in resp.get("headers", {})} | TRANSPORT
        for name in hdrs:
            if name not in known:
                self.problems.add("undocumented header", a, "%s: %s: %s"
                                  % (where, name, hdrs[name]))
        content = resp.get("content")
        if not content:
            if status not in (204, 304) and method != "HEAD" and \
                    body_text(a["body"]):
                self.problems.add("body where none is documented", a, where)
            return
        if method == "HEAD":
            return
        ctype = (hdrs.get("content-type") or "").split(";")[0].strip()
        media = content.get(ctype)
        if media is None:
            self.problems.add("Content-Type not documented", a, "%s: %r, "
                              "documented %s" % (where, ctype,
                                                 sorted(content)))
            return
        schema = deref(self.doc, media.get("schema", {}))
        if ctype == "application/json":
            self.json_body(a, hdrs, schema, mage, where)
        else:
            for e in self.spec.validate(schema, body_text(a["body"]), mage):
                self.problems.add("body", a, "%s: %s" % (where,
                                                         e.message[:300]))

    def json_body(self, a, hdrs, schema, mage, where):
        text = body_text(a["body"])
        try:
            value = json.loads(text)
        except (TypeError, ValueError) as e:
            self.problems.add("body is not JSON", a, "%s: %s" % (where, e))
            return
        for e in self.spec.validate(schema, value, mage)[:3]:
            self.problems.add("body", a, "%s: at %s: %s" % (
                where, "/".join(str(p) for p in e.absolute_path) or "/",
                e.message[:400]))

    def request(self, a, item, op, query, code):
        params = self.spec.params(item, op)
        names = {n for (where, n) in params if where == "query"}
        done = set()
        for k, v in query:
            if k == "api_key":      # the apiKeyQuery security scheme
                continue
            if k not in names:
                self.problems.add("undocumented query parameter", a,
                                  "%s: %s" % (op["operationId"], k))
                continue
            if k in done or not 200 <= code < 300:
                continue        # the service reads the first one
            done.add(k)
            self.value(a, op, "query %s" % k,
                       deref(self.doc, params[("query", k)]["schema"]), v)
        if not 200 <= code < 300:
            return
        hdrs = header_map(a["request_headers"])
        for (where, n), p in params.items():
            if where == "header" and n in hdrs:
                self.value(a, op, "header %s" % n,
                           deref(self.doc, p["schema"]), hdrs[n])
        rb = op.get("requestBody")
        if rb is None:
            return
        rb = deref(self.doc, rb)
        text = body_text(a["request_body"])
        if text is None:
            return
        try:
            value = json.loads(text)
        except ValueError as e:
            self.problems.add("request body answered 2xx is not JSON", a,
                              str(e))
            return
        schema = deref(self.doc, rb["content"]["application/json"]["schema"])
        for e in self.spec.validate(schema, value)[:3]:
            self.problems.add("request body answered 2xx", a, "%s: at %s: "
                              "%s" % (op["operationId"], "/".join(
                                  str(p) for p in e.absolute_path) or "/",
                                  e.message[:400]))

    def value(self, a, op, what, schema, text):
        if schema.get("type") == "integer":
            if not re.fullmatch("[0-9]+", text):
                self.problems.add("parameter answered 2xx", a, "%s: %s: %r "
                                  "is no integer" % (op["operationId"],
                                                     what, text))
                return
            text = int(text)
        for e in self.spec.validate(schema, text):
            self.problems.add("parameter answered 2xx", a, "%s: %s: %s"
                              % (op["operationId"], what, e.message))

    # -- the whole -----------------------------------------------------------

    def coverage(self):
        """Every operation answered, each 2xx response at least once."""
        missing = []
        for template, item in self.doc["paths"].items():
            for m in METHODS:
                if m not in item:
                    continue
                op = item[m]
                got = self.seen.get(op["operationId"], {})
                if not got:
                    missing.append("%s %s (%s): never answered"
                                   % (m.upper(), template,
                                      op["operationId"]))
                    continue
                for s in op["responses"]:
                    if s.startswith("2") or s == "304":
                        if not got.get(int(s)):
                            missing.append("%s %s (%s): %s never answered"
                                           % (m.upper(), template,
                                              op["operationId"], s))
        for line in missing:
            self.problems.n += 1
            sys.stdout.write("PROBLEM not exercised: %s\n" % line)

    def components(self):
        """Every component reached from the paths or the root's x-
        extensions (what Redocly's no-unused-components would say, had
        it followed the extensions' references)."""
        refs = collections.defaultdict(set)

        def walk(node, into):
            if isinstance(node, dict):
                for k, v in node.items():
                    if k == "$ref" and isinstance(v, str):
                        into.add(v)
                    else:
                        walk(v, into)
            elif isinstance(node, list):
                for v in node:
                    walk(v, into)
        roots = set()
        for k, v in self.doc.items():
            if k != "components":
                walk(v, roots)
        comps = self.doc["components"]
        for kind, group in comps.items():
            for name, v in group.items():
                walk(v, refs["#/components/%s/%s" % (kind, name)])
        reached, todo = set(), list(roots)
        while todo:
            r = todo.pop()
            if r in reached:
                continue
            reached.add(r)
            todo.extend(refs.get(r, ()))
        schemes = {n for req in self.doc.get("security", []) for n in req}
        for kind, group in comps.items():
            for name in group:
                r = "#/components/%s/%s" % (kind, name)
                if kind == "securitySchemes":
                    if name not in schemes:
                        self.problems.n += 1
                        sys.stdout.write("PROBLEM unused security scheme "
                                         "%s\n" % name)
                elif r not in reached:
                    self.problems.n += 1
                    sys.stdout.write("PROBLEM unused component %s\n" % r)


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: check_answers.py openapi.json "
                         "answers.jsonl\n")
        return 2
    with open(argv[1]) as f:
        doc = json.load(f)
    spec = Spec(doc)
    c = Checker(spec)
    with open(argv[2], encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            try:
                a = json.loads(line)
            except ValueError as e:
                sys.stdout.write("PROBLEM %s:%d is not JSON: %s\n"
                                 % (argv[2], n, e))
                c.problems.n += 1
                continue
            c.check(a)
    if c.count == 0:
        sys.stdout.write("PROBLEM no answers in %s\n" % argv[2])
        c.problems.n += 1
    c.coverage()
    c.components()
    ops = sum(1 for item in doc["paths"].values() for m in METHODS
              if m in item)
    if c.problems.kinds:
        sys.stdout.write("problems by kind: %s\n" % ", ".join(
            "%s %d" % kv for kv in c.problems.kinds.most_common()))
    sys.stdout.write("%d answers checked, %d operations, %d problems\n"
                     % (c.count, ops, c.problems.n))
    return 1 if c.problems.n else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
