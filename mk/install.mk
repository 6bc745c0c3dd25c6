# Installing, and the deployment checks (issue 7).
#
#   make install      binaries to $(PREFIX)/bin, the confs to
#                     $(SYSCONFDIR)/backfills/backfills.conf and exec.conf
#                     (never over an existing one; SYSCONFDIR is /etc for
#                     PREFIX=/usr, else $(PREFIX)/etc), the systemd units to
#                     $(PREFIX)/lib/systemd/system, the sysusers.d and
#                     tmpfiles.d files (the user backfills; /run/backfills
#                     and the database folder) to $(PREFIX)/lib/sysusers.d
#                     and tmpfiles.d, an nginx site (rendered from
#                     nginx.conf.example) to $(PREFIX)/share/backfills, the
#                     man pages to $(PREFIX)/share/man/man5 and man8.
#                     PREFIX defaults to /usr/local; DESTDIR is prepended
#                     to every path (for packaging). The files name the
#                     installed paths (PREFIX, SYSCONFDIR, DBDIR).
#   make uninstall    removes them; the conf only when it is still as
#                     installed (PURGE=1: in any case)
#   make man-lint     mandoc -T lint -W warning on the man pages; fails on
#                     any warning (Debian: mandoc)
#   make install-test tests/deploy/test_install.sh: install, reinstall over
#                     an edited conf and uninstall into a temporary DESTDIR
#   make build-test   tests/deploy/test_build.sh: plain make on a box
#                     without the packages stops with the apt-get line,
#                     each target asks for its package groups, the
#                     caller's CPPFLAGS/CFLAGS/LDFLAGS are honoured
#   make deploy-test  tests/deploy/test_apache.py: the service behind a
#                     real Apache with mod_fcgid, and as plain CGI through
#                     cgi-bin/.htaccess (about 5 s)
#   make run-test     tests/deploy/test_make_run.py: make run from a fresh
#                     clone in a 0700 folder serves, and stops
#   make docs-test    tests/deploy/test_readme.py: each deployment sequence
#                     of README.md, run as written from a fresh clone
#   make deploy-check all of the above (SAN=1: those that use its
#                     binaries: man-lint, install-test, deploy-test)
#   make fresh-test   tests/deploy/fresh_bookworm.sh: make and make run in
#                     a debootstrap chroot of Debian 12 (minbase + git +
#                     make), counting what they install. Not in make
#                     check: it downloads about 150 packages (minutes).
#
# All take SAN=1 (the sanitizer build) like make check; the fresh clones
# of run-test, docs-test and fresh-test build the plain build.

PREFIX		?= /usr/local
DESTDIR		?=
BINDIR		?= $(PREFIX)/bin
SYSCONFDIR	?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
DATADIR		?= $(PREFIX)/share
MANDIR		?= $(DATADIR)/man
UNITDIR		?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR	?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR	?= $(PREFIX)/lib/tmpfiles.d
# Where the installed conf puts the database (the unit lets the service
# write only there).
DBDIR		?= /var/lib/backfills
CONFDIR		= $(SYSCONFDIR)/backfills
SHAREDIR	= $(DATADIR)/backfills
INSTALL		?= install

MAN5		= man/backfills.conf.5
MAN8		= man/backfills.fcgi.8 man/backfillctl.8 man/backfills-exec.8
# The confs installed once and kept as edited: the service's, the
# executor's (both 0640: they hold secrets).
CONFS		= backfills.conf exec.conf
UNITS		= backfills.service backfills.socket backfills-exec.service
STAGE		= $(BUILD)/install

# The shipped files name the default layout; rewritten for this one.
INSTALL_SED	= -e 's|/usr/local/bin/|$(BINDIR)/|g' \
		  -e 's|/usr/local/etc/|$(SYSCONFDIR)/|g' \
		  -e 's|/usr/local/lib/systemd/system|$(UNITDIR)|g' \
		  -e 's|/var/lib/backfills|$(DBDIR)|g'
# nginx.conf.example's placeholders in the site it gives production.
SITE_SED	= -e 's|@SOCKET@|/run/backfills/backfills.sock|g' \
		  -e 's|@PORT@|80|g' -e 's|@MAX_BODY@|1m|g' -e 's|^    ||' \
		  -e 's|@ACCESS_LOG@|/var/log/nginx/backfills.access.log|g' \
		  -e 's|^\( *listen 127.0.0.1:80\) backlog=4096;|\1;|' \
		  -e '/\#@SIGNIN@/d' -e 's|@MAGE_UI@|$(MAGE_UI_PIP)|g'
# Where a pip install of mage-ai on Debian 12 keeps its prebuilt UI: the
# commented-out UI locations of the site name it.
MAGE_UI_PIP	= /usr/local/lib/python3.11/dist-packages/mage_ai/server/frontend_dist

.PHONY: install uninstall install-stage man-lint install-test build-test \
	deploy-test run-test docs-test deploy-check fresh-test

# The files as installed, rendered into $(STAGE).
install-stage:
	@mkdir -p $(STAGE)
	sed -e 's|^database = .*|database = $(DBDIR)/backfills.db|' \
	    conf/backfills.conf > $(STAGE)/backfills.conf
	cp conf/exec.conf $(STAGE)/exec.conf
	for f in $(UNITS) backfills.sysusers backfills.tmpfiles; do \
	    sed $(INSTALL_SED) conf/$$f > $(STAGE)/$$f || exit 1; \
	done
	for m in $(MAN5) $(MAN8); do \
	    sed $(INSTALL_SED) $$m > $(STAGE)/$${m#man/} || exit 1; \
	done
	{ echo "# backfills: the nginx site, for /etc/nginx/sites-available/;"; \
	  echo "# rendered by make install from nginx.conf.example."; \
	  sed -n '/^ *# >>> site/,/^ *# <<< site/p' nginx.conf.example | \
	  sed -e '/^ *# >>> site/d' -e '/^ *# <<< site/d' $(SITE_SED); \
	} > $(STAGE)/nginx-site.conf
	@# (In a directive: the comments may name them, as the UI's do.)
	@! sed 's/#.*//' $(STAGE)/nginx-site.conf | grep -n '@[A-Z_]*@' || \
	    { echo "install: a placeholder is left in the nginx site" >&2; exit 1; }

install: all install-stage
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(CONFDIR) \
	    $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) \
	    $(DESTDIR)$(TMPFILESDIR) $(DESTDIR)$(SHAREDIR) \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8
	$(INSTALL) -m 0755 $(FCGI_BIN) $(DESTDIR)$(BINDIR)/backfills.fcgi
	$(INSTALL) -m 0755 $(CTL_BIN) $(DESTDIR)$(BINDIR)/backfillctl
	$(INSTALL) -m 0755 $(EXEC_BIN) $(DESTDIR)$(BINDIR)/backfills-exec
	@# The confs hold secrets once set: 0640, never replaced.
	@for c in $(CONFS); do \
	    if [ -e $(DESTDIR)$(CONFDIR)/$$c ]; then \
	        echo "install: $(DESTDIR)$(CONFDIR)/$$c exists: kept"; \
	    else \
	        echo "$(INSTALL) -m 0640 $(STAGE)/$$c $(DESTDIR)$(CONFDIR)/$$c"; \
	        $(INSTALL) -m 0640 $(STAGE)/$$c $(DESTDIR)$(CONFDIR)/$$c || \
	            exit 1; \
	    fi; \
	done
	$(INSTALL) -m 0644 $(UNITS:%=$(STAGE)/%) $(DESTDIR)$(UNITDIR)/
	$(INSTALL) -m 0644 $(STAGE)/backfills.sysusers \
	    $(DESTDIR)$(SYSUSERSDIR)/backfills.conf
	$(INSTALL) -m 0644 $(STAGE)/backfills.tmpfiles \
	    $(DESTDIR)$(TMPFILESDIR)/backfills.conf
	$(INSTALL) -m 0644 $(STAGE)/nginx-site.conf \
	    $(DESTDIR)$(SHAREDIR)/nginx-site.conf
	$(INSTALL) -m 0644 $(MAN5:man/%=$(STAGE)/%) $(DESTDIR)$(MANDIR)/man5/
	$(INSTALL) -m 0644 $(MAN8:man/%=$(STAGE)/%) $(DESTDIR)$(MANDIR)/man8/

uninstall: install-stage
	rm -f $(DESTDIR)$(BINDIR)/backfills.fcgi $(DESTDIR)$(BINDIR)/backfillctl \
	    $(DESTDIR)$(BINDIR)/backfills-exec
	rm -f $(UNITS:%=$(DESTDIR)$(UNITDIR)/%) \
	    $(DESTDIR)$(SYSUSERSDIR)/backfills.conf \
	    $(DESTDIR)$(TMPFILESDIR)/backfills.conf \
	    $(DESTDIR)$(SHAREDIR)/nginx-site.conf
	rmdir $(DESTDIR)$(SHAREDIR) 2>/dev/null || :
	rm -f $(MAN5:man/%=$(DESTDIR)$(MANDIR)/man5/%) \
	    $(MAN8:man/%=$(DESTDIR)$(MANDIR)/man8/%)
	@for f in $(CONFS); do \
	    c=$(DESTDIR)$(CONFDIR)/$$f; \
	    if [ ! -e $$c ]; then :; \
	    elif [ "$(PURGE)" = 1 ] || cmp -s $(STAGE)/$$f $$c; then \
	        echo "rm -f $$c"; rm -f $$c; \
	    else \
	        echo "uninstall: $$c was changed since install: kept" \
	            "(make uninstall PURGE=1 removes it)"; \
	    fi; \
	done; \
	rmdir $(DESTDIR)$(CONFDIR) 2>/dev/null || :

man-lint:
	@scripts/deps.sh man
	mandoc -T lint -W warning $(MAN5) $(MAN8)

install-test:
	@scripts/deps.sh build run
	@$(MAKE) --no-print-directory all
	MAKE="$(MAKE)" sh tests/deploy/test_install.sh

build-test:
	@scripts/deps.sh build
	sh tests/deploy/test_build.sh

deploy-test:
	@scripts/deps.sh build check deploy
	@$(MAKE) --no-print-directory all
	FCGI_BIN=$(FCGI_BIN) CTL_BIN=$(CTL_BIN) python3 tests/deploy/test_apache.py

run-test:
	@scripts/deps.sh build run check deploy
	python3 tests/deploy/test_make_run.py

docs-test:
	@scripts/deps.sh build run check deploy
	python3 tests/deploy/test_readme.py

# Under SAN=1 the checks whose binaries are this build's; build-test,
# run-test and docs-test build the plain one in fresh clones, which the
# plain make check has run already.
deploy-check:
	@$(MAKE) --no-print-directory man-lint
	@$(MAKE) --no-print-directory install-test
	@$(MAKE) --no-print-directory deploy-test
ifneq ($(SAN),1)
	@$(MAKE) --no-print-directory build-test
	@$(MAKE) --no-print-directory run-test
	@$(MAKE) --no-print-directory docs-test
endif

fresh-test:
	@scripts/deps.sh fresh
	sh tests/deploy/fresh_bookworm.sh
