#!/usr/bin/env python3
# Writes the seed corpora of the fuzz harnesses (tests/fuzz/corpus/<harness>/)
# from realistic requests of docs/API.md: the founding example, every datetime
# form, JWTs (alg none, other algs, wrong secret). Rerun after changing it;
# it replaces the four corpus folders. The JWTs are signed here with hmac.
import base64, hashlib, hmac, os, shutil, struct
R = os.path.dirname(os.path.abspath(__file__))
def b64(b): return base64.urlsafe_b64encode(b).rstrip(b'=').decode()
def jwt(header, payload, secret=b'materia', sig=None):
    h = b64(header.encode()); p = b64(payload.encode())
    if sig is None:
        sig = b64(hmac.new(secret, (h + '.' + p).encode(), hashlib.sha256).digest())
    return h + '.' + p + '.' + sig
FOUND_COOKIE = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJleHBpcmVzIjoxNjkyMzE0ODM3LjE1MTkzOSwidG9rZW4iOiJieHlQajlVcHE5N2phTC1nTGtOQTVnM2draWZwRjJwSEZZZkNzLTJ2NmpnIn0.bWqUP7Xg9PmHBW703AGPOE270Cc73F4kb0IKHLppGbM'
KEY = 'zkWlN0PkIKSN0C11CfUHUj84OT5XOJ6tDZ6bDRO2'
TOKEN = 'bxyPj9Upq97jaL-gLkNA5g3gkifpF2pHFYfCs-2v6jg'
PAY = '{"expires": 1692314837.151939, "token": "%s"}'
NONE_JWT = jwt('{"alg":"none","typ":"JWT"}', PAY % TOKEN, sig='')
HS512_JWT = jwt('{"alg":"HS512","typ":"JWT"}', PAY % TOKEN)
VIEWER_JWT = jwt('{"alg":"HS256","typ":"JWT"}', PAY % 'viewer-token')
EDITOR_JWT = jwt('{"alg":"HS256","typ":"JWT"}', PAY % 'editor-token')
WRONG_JWT = jwt('{"alg":"HS256","typ":"JWT"}', PAY % TOKEN, secret=b'not-materia')
NOTOKEN_JWT = jwt('{"alg":"HS256","typ":"JWT"}', '{"expires": 1}')
ARRAY_JWT = jwt('{"alg":"HS256","typ":"JWT"}', '["token"]')
FOUNDING_BODY = ('{"backfill": {"start_datetime": "2023-07-17 23:56:05",\n'
                 '                   "end_datetime": "2023-07-18 23:56:05", "name": "new_name"}}')

def put(d, name, data):
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str): data = data.encode()
    open(os.path.join(d, name), 'wb').write(data)

# ---------------- fuzz_request ----------------
d = R + '/corpus/fuzz_request'
shutil.rmtree(d, ignore_errors=True)
AUTH = 'X-API-KEY: %s\nOAUTH-TOKEN: %s\n' % (KEY, TOKEN)
def req(method, target, headers='', body=None):
    s = '%s %s\n%s' % (method, target, headers)
    if body is not None:
        s += 'Content-Type: application/json\n\n' + body
    return s
SEP = '\x1e'
seeds = {
 'founding': req('PUT', '/api/pipelines/arwen_starlight/backfills/6',
     'Cookie: oauth_token=%s\nX-API-KEY: %s\n' % (FOUND_COOKIE, KEY), FOUNDING_BODY),
 'founding_crlf': req('PUT', '/api/pipelines/arwen_starlight/backfills/6',
     'Cookie: oauth_token=%s\nX-API-KEY: %s\n' % (FOUND_COOKIE, KEY), FOUNDING_BODY).replace('\n', '\r\n', 4),
 'list': req('GET', '/api/backfills?_limit=10&pipeline_uuid=arwen_starlight', AUTH),
 'list_nested': req('GET', '/api/pipelines/arwen_starlight/backfills?_limit=2&_offset=1&include_run_count=true', AUTH),
 'list_bad_limit': req('GET', '/api/backfills?_limit=0', AUTH) + SEP + req('GET', '/api/backfills?_limit=1001&_offset=-1', AUTH),
 'create_start_report': SEP.join([
     req('POST', '/api/pipelines/arwen_starlight/backfills', AUTH,
         '{"backfill": {"name": "july", "start_datetime": "2023-07-01", "end_datetime": "2023-07-31", "interval_type": "day", "interval_units": 1}}'),
     req('PUT', '/api/backfills/10', AUTH, '{"backfill": {"status": "initial"}}'),
     req('GET', '/api/pipeline_runs?backfill_id=10&status=initial&_limit=100', AUTH),
     req('PUT', '/api/pipeline_runs/13', AUTH, '{"pipeline_run": {"status": "running"}}')]),
 'create_monthly_preview': SEP.join([
     req('POST', '/api/pipelines/other_pipeline/backfills', 'X-Fuzz-Auth: off\n',
         '{"backfill": {"name": "m", "start_datetime": "2023-01-31T00:00:00Z", "end_datetime": "2023-12-31", "interval_type": "month", "interval_units": 1, "variables": {"a": 1}, "settings": {}}}'),
     req('GET', '/api/backfills/10?include_preview_runs=true&_limit=5&_offset=3', 'X-Fuzz-Auth: off\n')]),
 'create_too_many_runs': req('POST', '/api/pipelines/arwen_starlight/backfills', AUTH,
     '{"backfill": {"start_datetime": "2023-01-01", "end_datetime": "2024-01-01", "interval_type": "second", "interval_units": 1}}'),
 'create_custom': req('POST', '/api/pipelines/arwen_starlight/backfills', 'X-Fuzz-Auth: off\n',
     '{"backfill": {"start_datetime": "2023-07-01 00:00:00.5+02:00", "end_datetime": "2023-07-01 01:00:00-01:30", "interval_type": "custom", "interval_units": 900, "block_uuid": "b1"}}'),
 'create_status': req('POST', '/api/pipelines/arwen_starlight/backfills', 'X-Fuzz-Auth: off\n',
     '{"backfill": {"status": "initial", "name": null}}'),
 'show_preview': req('GET', '/api/backfills/7?include_preview_runs=true&_limit=5&_offset=3', AUTH),
 'show_count': req('GET', '/api/pipelines/arwen_starlight/backfills/8?include_run_count=1', AUTH),
 'head': req('HEAD', '/api/backfills/7', AUTH),
 'openapi': req('GET', '/api/openapi.json') + SEP + req('GET', '/api/openapi.json', 'If-None-Match: W/"x", *\n'),
 'update_if_match': req('PUT', '/api/backfills/7', AUTH + 'If-Match: "7-1"\n',
     '{"backfill": {"name": "july again", "variables": null}}'),
 'update_if_match_bad': req('PUT', '/api/backfills/7', AUTH + 'If-Match: "7-9"\n', '{"backfill": {"name": "x"}}'),
 'update_roundtrip': req('PUT', '/api/backfills/6', 'X-Fuzz-Auth: off\n',
     '{"backfill": {"id": 6, "block_uuid": null, "completed_at": null, "created_at": "2023-07-18 23:30:26", "end_datetime": "2023-07-18 23:56:05", "failed_at": null, "interval_type": null, "interval_units": null, "metrics": null, "name": "new_name", "pipeline_schedule_id": null, "pipeline_uuid": "arwen_starlight", "settings": null, "start_datetime": "2023-07-17 23:56:05", "started_at": null, "status": null, "updated_at": "2023-07-18 23:30:26", "variables": null}}'),
 'update_unknown_key': req('PUT', '/api/backfills/6', 'X-Fuzz-Auth: off\n', '{"backfill": {"nom": "x", "interval_units": 0, "interval_type": "fortnight"}}'),
 'update_bad_dates': req('PUT', '/api/backfills/7', 'X-Fuzz-Auth: off\n',
     '{"backfill": {"start_datetime": "2023-02-30", "end_datetime": "2023-07-18T23:56:05.1234567"}}'),
 'update_end_before_start': req('PUT', '/api/backfills/7', 'X-Fuzz-Auth: off\n', '{"backfill": {"end_datetime": "2023-06-01"}}'),
 'cancel_retry': SEP.join([
     req('PUT', '/api/backfills/8', AUTH, '{"backfill": {"status": "cancelled"}}'),
     req('PUT', '/api/backfills/8', AUTH, '{"backfill": {"status": "initial", "interval_units": 2}}'),
     req('GET', '/api/pipeline_runs?backfill_id=8&_limit=50', AUTH)]),
 'retry_cancelled': req('PUT', '/api/backfills/9', 'X-Fuzz-Auth: off\n', '{"backfill": {"status": "initial"}}'),
 'transition_409': req('PUT', '/api/backfills/7', 'X-Fuzz-Auth: off\n', '{"backfill": {"status": "completed"}}'),
 'runs': SEP.join([
     req('GET', '/api/pipeline_runs?backfill_id=8', AUTH),
     req('GET', '/api/pipeline_runs/2', AUTH),
     req('PUT', '/api/pipeline_runs/2', AUTH, '{"pipeline_run": {"status": "completed"}}'),
     req('PUT', '/api/pipeline_runs/4', AUTH, '{"pipeline_run": {"status": "cancelled"}}')]),
 'run_bad': req('PUT', '/api/pipeline_runs/1', 'X-Fuzz-Auth: off\n', '{"pipeline_run": {"status": "running", "x": 1}}'),
 'delete': req('DELETE', '/api/pipelines/arwen_starlight/backfills/7', AUTH) + SEP + req('GET', '/api/backfills/7', AUTH),
 'delete_wrong_pipeline': req('DELETE', '/api/pipelines/other_pipeline/backfills/7', AUTH + 'If-Match: "7-1"\n'),
 'options': req('OPTIONS', '/api/backfills/6', 'Origin: https://mage.example\n') + SEP + req('OPTIONS', '/nowhere', 'X-Fuzz-Auth: off\n'),
 'status': req('GET', '/api/status') + SEP + req('GET', '/api/status/', 'X-Fuzz-Auth: off\n'),
 'key_in_query': req('GET', '/api/backfills/6?api_key=%s' % KEY, 'Authorization: Bearer %s\n' % TOKEN),
 'key_in_body': req('PUT', '/api/backfills/6', 'Cookie: theme=dark; oauth_token=%s\n' % FOUND_COOKIE,
     '{"api_key": "%s", "backfill": {"name": "k"}}' % KEY),
 'viewer_write': req('PUT', '/api/backfills/6', 'X-API-KEY: %s\nAuthorization: Bearer viewer-token\n' % KEY, '{"backfill": {"name": "v"}}'),
 'viewer_cookie': req('GET', '/api/backfills/6', 'X-API-KEY: %s\nCookie: oauth_token=%s\n' % (KEY, VIEWER_JWT)),
 'editor_delete': req('DELETE', '/api/backfills/6', 'X-API-KEY: %s\nCookie: oauth_token=%s\n' % (KEY, EDITOR_JWT)),
 'expired': req('GET', '/api/backfills', 'X-API-KEY: %s\nOAUTH-TOKEN: expired-token\n' % KEY),
 'revoked': req('GET', '/api/backfills', 'X-API-KEY: revoked-key\nOAUTH-TOKEN: %s\n' % TOKEN) + SEP + req('GET', '/api/backfills', 'X-API-KEY: %s\nOAUTH-TOKEN: revoked-token\n' % KEY),
 'alg_none': req('GET', '/api/backfills/6', 'X-API-KEY: %s\nCookie: oauth_token=%s\n' % (KEY, NONE_JWT)),
 'alg_hs512': req('GET', '/api/backfills/6', 'X-API-KEY: %s\nCookie: oauth_token=%s\n' % (KEY, HS512_JWT)),
 'jwt_wrong_secret': req('GET', '/api/backfills/6', 'X-API-KEY: %s\nCookie: oauth_token=%s\n' % (KEY, WRONG_JWT)),
 'no_credentials': req('GET', '/api/backfills/6') + SEP + req('PUT', '/api/backfills/6', '', '{"backfill": {}}'),
 'bearer_bad': req('GET', '/api/backfills', 'X-API-KEY: %s\nAuthorization: Basic Zm9vOmJhcg==\n' % KEY),
 'length_required': req('POST', '/api/pipelines/arwen_starlight/backfills', AUTH),
 'bad_length': req('PUT', '/api/backfills/6', AUTH + 'Content-Length: abc\n', '{}'),
 'too_large': req('PUT', '/api/backfills/6', AUTH + 'Content-Length: 99999999\n', '{}'),
 'bad_json': req('PUT', '/api/backfills/6', AUTH, '{"backfill": {"name": "x"}} trailing') + SEP + req('PUT', '/api/backfills/6', AUTH, "{'backfill': NaN}") + SEP + req('PUT', '/api/backfills/6', AUTH, '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]'),
 'empty_body': req('PUT', '/api/backfills/6', AUTH, ''),
 'bad_ids': SEP.join([req('GET', '/api/backfills/abc', AUTH), req('GET', '/api/backfills/0', AUTH),
     req('GET', '/api/backfills/99999999999999999', AUTH), req('GET', '/api/pipelines/no%20such/backfills/6', AUTH)]),
 'not_found': req('GET', '/api/pipelines/unknown/backfills', AUTH) + SEP + req('GET', '/api/backfills/424242', AUTH) + SEP + req('GET', '/api', AUTH),
 'method_405': req('PATCH', '/api/backfills/6', AUTH) + SEP + req('POST', '/api/backfills', AUTH, '{}') + SEP + req('DELETE', '/api/pipeline_runs/1', AUTH),
 'unicode_name': req('PUT', '/api/backfills/6', 'X-Fuzz-Auth: off\n', '{"backfill": {"name": "caf\\u00e9 \\ud83d\\ude00 \u00e9", "settings": {"k": [1, 2.5, true, null, "\\/"]}}}'),
 'nul_name': req('PUT', '/api/backfills/6', 'X-Fuzz-Auth: off\n', '{"backfill": {"name": "a\\u0000b"}}'),
 'runs_filter': req('GET', '/api/pipeline_runs?backfill_id=9&status=cancelled&_limit=3&_offset=1', 'X-Fuzz-Auth: off\n') + SEP + req('GET', '/api/pipeline_runs?status=bogus', 'X-Fuzz-Auth: off\n'),
}
for k, v in seeds.items(): put(d, k, v)

# ---------------- fuzz_patch ----------------
d = R + '/corpus/fuzz_patch'
shutil.rmtree(d, ignore_errors=True)
bodies = {
 'founding': FOUNDING_BODY,
 'create_july': '{"backfill": {"name": "july", "start_datetime": "2023-07-01", "end_datetime": "2023-07-31", "interval_type": "day", "interval_units": 1}}',
 'rename_clear': '{"backfill": {"name": "july again", "variables": null}}',
 'start': '{"backfill": {"status": "initial"}}',
 'start_with_fields': '{"backfill": {"status": "initial", "start_datetime": "2023-07-01T00:00:00Z", "end_datetime": "2023-07-02T00:00:00+02:00", "interval_type": "hour", "interval_units": 6}}',
 'running': '{"backfill": {"status": "running"}}',
 'completed': '{"backfill": {"status": "completed"}}',
 'failed': '{"backfill": {"status": "failed"}}',
 'cancelled': '{"backfill": {"status": "cancelled"}}',
 'status_null': '{"backfill": {"status": null}}',
 'roundtrip': '{"backfill": {"id": 6, "block_uuid": null, "completed_at": null, "created_at": "2023-07-18 23:30:26", "end_datetime": "2023-07-18 23:56:05", "failed_at": null, "interval_type": null, "interval_units": null, "metrics": null, "name": "new_name", "pipeline_schedule_id": null, "pipeline_uuid": "arwen_starlight", "settings": null, "start_datetime": "2023-07-17 23:56:05", "started_at": null, "status": null, "updated_at": "2023-07-18 23:30:26", "variables": null}}',
 'unknown': '{"backfill": {"nom": "x"}}',
 'api_key': '{"api_key": "zkWlN0PkIKSN0C11CfUHUj84OT5XOJ6tDZ6bDRO2", "backfill": {"block_uuid": "b"}}',
 'other_root': '{"backfill": {}, "extra": 1}',
 'not_object': '{"backfill": []}',
 'array': '[{"backfill": {}}]',
 'number': '42',
 'bad_values': '{"backfill": {"interval_units": 0, "interval_type": "fortnight", "name": 5, "settings": [], "start_datetime": "2023-02-30", "end_datetime": "yesterday", "status": "done"}}',
 'units_bounds': '{"backfill": {"interval_units": 1000000, "interval_type": "custom"}}',
 'units_float': '{"backfill": {"interval_units": 1.0}}',
 'units_huge': '{"backfill": {"interval_units": 99999999999999999999}}',
 'objects': '{"backfill": {"variables": {"env": "prod", "n": [1, 2.5e10, -0.0, true, null], "s": "\\u00e9\\/\\"", "o": {}}, "settings": {"retries": 2}}}',
 'big_double': '{"backfill": {"variables": {"x": 1e400, "y": -1e-400, "z": 123456789012345678901234567890}}}',
 'unicode': '{"backfill": {"name": "caf\\u00e9 \\ud83d\\ude00 \u00e9\u4e2d", "block_uuid": "\\u0001"}}',
 'nul': '{"backfill": {"name": "a\\u0000b", "variables": {"a\\u0000b": 1}}}',
 'lone_surrogate': '{"backfill": {"name": "\\ud800"}}',
 'long_name': '{"backfill": {"name": "%s"}}' % ('n' * 256),
 'name_255': '{"backfill": {"name": "%s"}}' % ('\u00e9' * 127 + 'n'),
 'end_before_start': '{"backfill": {"start_datetime": "2023-07-18", "end_datetime": "2023-07-17 23:59:59.999999"}}',
 'dup_keys': '{"backfill": {"name": "a", "name": "b"}, "backfill": {"name": "c"}}',
 'deep': '{"backfill": {"variables": %s}}' % ('{"a": ' * 31 + '1' + '}' * 31),
 'all_null': '{"backfill": {"block_uuid": null, "end_datetime": null, "interval_type": null, "interval_units": null, "name": null, "settings": null, "start_datetime": null, "variables": null}}',
 'whitespace': ' \t\r\n{"backfill":{}}\n ',
}
for k, v in bodies.items(): put(d, k, v)

# ---------------- fuzz_datetime ----------------
d = R + '/corpus/fuzz_datetime'
shutil.rmtree(d, ignore_errors=True)
dts = ['2023-07-17 23:56:05', '2023-07-17T23:56:05', '2023-07-01', '2023-07-17 23:56:05.1',
 '2023-07-17 23:56:05.123456', '2023-07-17T23:56:05.123456Z', '2023-07-17 23:56:05Z',
 '2023-07-17T23:56:05+05:30', '2023-07-17 23:56:05-08:00', '2023-07-17T23:56:05.5+00:00',
 '2024-02-29', '2023-02-29', '2023-02-30', '2023-13-01', '2023-07-17 24:00:00', '2023-07-17 23:60:00',
 '2023-07-17 23:59:60', '0001-01-01', '0001-01-01 00:00:00+00:01', '9999-12-31 23:59:59.999999',
 '9999-12-31T23:59:59-00:01', '0000-01-01', '2023-07-17 23:56:05.1234567', '2023-07-17 23:56:05.',
 '2023-07-17T23:56', '2023-7-17', '2023-07-17 23:56:05 +05:30', '2023-07-17 23:56:05+0530',
 '2023-07-17 23:56:05+24:00', '1970-01-01 00:00:00', '1969-12-31 23:59:59.999999', 'yesterday', '']
for i, v in enumerate(dts): put(d, 'dt%02d' % i, v)

for i, v in enumerate([0, 1, -1, 1689638165000000, -62135596800000000, 253402300799999999]):
    put(d, 'us%02d' % i, struct.pack('<q', v))

# ---------------- fuzz_auth ----------------
d = R + '/corpus/fuzz_auth'
shutil.rmtree(d, ignore_errors=True)
auths = {
 'founding_cookie_jwt': FOUND_COOKIE,
 'cookie_header': 'theme=dark; oauth_token=%s; lang=en' % FOUND_COOKIE,
 'alg_none': NONE_JWT,
 'alg_hs512': HS512_JWT,
 'wrong_secret': WRONG_JWT,
 'viewer_jwt': VIEWER_JWT,
 'no_token_jwt': NOTOKEN_JWT,
 'array_payload': ARRAY_JWT,
 'four_parts': FOUND_COOKIE + '.x',
 'two_parts': '.'.join(FOUND_COOKIE.split('.')[:2]),
 'padded': FOUND_COOKIE + '==',
 'bearer': 'Bearer ' + TOKEN,
 'query_key': 'api_key=%s&_limit=10&_offset=0' % KEY,
 'query_enc': 'pipeline_uuid=arwen%5Fstarlight&status=initial&include_run_count=true&backfill_id=7&a=%00',
 'query_plus': 'api_key=a+b%2Bc&&_limit=&api_key=second',
 'query_bad_pct': 'api_key=%zz&_limit=%4',
 'body_key': '{"api_key": "%s", "backfill": {}}' % KEY,
 'b64_text': 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9',
 'b64_bytes': bytes(range(256)),
 'token': TOKEN,
}
for k, v in auths.items(): put(d, k, v)
print('seeds written under', R + '/corpus')
