# Fault and load tests (issue 5): the real service (scripts/serve.sh:
# nginx + the pre-fork pool, or the pool alone, or the worker as CGI) with
# a fault injected, checked against what its clients were told.
#
#   make fault    tests/fault/run.py: kill -9 of a worker mid-write, SIGTERM
#                 mid-request, a database locked, read-only, missing, full,
#                 not a database, a client gone mid-body (about 20 s; as
#                 root for the read-only case). Ends "N passed, N failed".
#   make load     tests/fault/load.py: LOAD_CONNECTIONS (120) keep-alive
#                 clients for LOAD_SECONDS (30) of mixed reads, creates,
#                 updates, deletes; fails on a 5xx, a lost acknowledged
#                 write or worker memory growth (LOAD_WORKERS, default
#                 the number of cores)
#
# Both take SAN=1 (the sanitizer build) like make check.

LOAD_SECONDS	?= 30

.PHONY: fault load

fault:
	@scripts/deps.sh build run check
	@$(MAKE) --no-print-directory all
	FCGI_BIN=$(FCGI_BIN) CTL_BIN=$(CTL_BIN) python3 tests/fault/run.py

load:
	@scripts/deps.sh build run check
	@$(MAKE) --no-print-directory all
	FCGI_BIN=$(FCGI_BIN) CTL_BIN=$(CTL_BIN) LOAD_SECONDS=$(LOAD_SECONDS) \
	    python3 tests/fault/load.py
