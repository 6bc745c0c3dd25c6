-- wrk script for make bench: METHOD, PATH and BODY come from the
-- environment; every request carries the demo credentials. A "%d" in
-- BODY becomes a counter, so each update really changes the record.
local method = os.getenv("BENCH_METHOD") or "GET"
local path = os.getenv("BENCH_PATH") or "/api/status"
local body = os.getenv("BENCH_BODY")
local n = 0
wrk.headers["X-API-KEY"] = "zkWlN0PkIKSN0C11CfUHUj84OT5XOJ6tDZ6bDRO2"
wrk.headers["OAUTH-TOKEN"] = "bxyPj9Upq97jaL-gLkNA5g3gkifpF2pHFYfCs-2v6jg"
if body then
  wrk.headers["Content-Type"] = "application/json"
end

request = function()
  if body then
    n = n + 1
    return wrk.format(method, path, nil, string.format(body, n))
  end
  return wrk.format(method, path)
end

done = function(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect +
    summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("BENCH %f %f %f %d %d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.requests, errors))
end
