# Installing, and the deployment checks (issue 7).
#
#   make install      binaries to $(PREFIX)/bin, the confs to
#                     $(PREFIX)/etc/backfills/backfills.conf and exec.conf
#                     (never over an existing one), the systemd units to
#                     $(PREFIX)/lib/systemd/system, the man pages to
#                     $(PREFIX)/share/man/man5 and man8. PREFIX defaults to
#                     /usr/local; DESTDIR is prepended to every path (for
#                     packaging). The unit, the man pages and the conf's
#                     database line are written for PREFIX and DBDIR.
#   make uninstall    removes them; the conf only when it is still as
#                     installed (PURGE=1: in any case)
#   make man-lint     mandoc -T lint -W warning on the man pages; fails on
#                     any warning (Debian: mandoc)
#   make install-test tests/deploy/test_install.sh: install, reinstall over
#                     an edited conf and uninstall into a temporary DESTDIR
#   make deploy-test  tests/deploy/test_apache.py: the service behind a
#                     real Apache with mod_fcgid, and as plain CGI through
#                     cgi-bin/.htaccess (Debian: apache2-bin,
#                     libapache2-mod-fcgid; about 5 s)
#   make deploy-check the three checks above
#
# All take SAN=1 (the sanitizer build) like make check.

PREFIX		?= /usr/local
DESTDIR		?=
BINDIR		?= $(PREFIX)/bin
SYSCONFDIR	?= $(PREFIX)/etc
MANDIR		?= $(PREFIX)/share/man
UNITDIR		?= $(PREFIX)/lib/systemd/system
# Where the installed conf puts the database (the unit lets the service
# write only there).
DBDIR		?= /var/lib/backfills
CONFDIR		= $(SYSCONFDIR)/backfills
INSTALL		?= install

MAN5		= man/backfills.conf.5
MAN8		= man/backfills.fcgi.8 man/backfillctl.8 man/backfills-exec.8
# The confs installed once and kept as edited: the service's, the
# executor's (both 0640: they hold secrets).
CONFS		= backfills.conf exec.conf
UNITS		= backfills.service backfills-exec.service
STAGE		= $(BUILD)/install

# The shipped files name the default layout; rewritten for this one.
INSTALL_SED	= -e 's|/usr/local/bin/|$(BINDIR)/|g' \
		  -e 's|/usr/local/etc/|$(SYSCONFDIR)/|g' \
		  -e 's|/usr/local/lib/systemd/system|$(UNITDIR)|g' \
		  -e 's|/var/lib/backfills|$(DBDIR)|g'

.PHONY: install uninstall install-stage man-lint install-test deploy-test \
	deploy-check

# The files as installed, rendered into $(STAGE).
install-stage:
	@mkdir -p $(STAGE)
	sed -e 's|^database = .*|database = $(DBDIR)/backfills.db|' \
	    conf/backfills.conf > $(STAGE)/backfills.conf
	cp conf/exec.conf $(STAGE)/exec.conf
	for u in $(UNITS); do \
	    sed $(INSTALL_SED) conf/$$u > $(STAGE)/$$u || exit 1; \
	done
	for m in $(MAN5) $(MAN8); do \
	    sed $(INSTALL_SED) $$m > $(STAGE)/$${m#man/} || exit 1; \
	done

install: all install-stage
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(CONFDIR) \
	    $(DESTDIR)$(UNITDIR) $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(MANDIR)/man8
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
	$(INSTALL) -m 0644 $(MAN5:man/%=$(STAGE)/%) $(DESTDIR)$(MANDIR)/man5/
	$(INSTALL) -m 0644 $(MAN8:man/%=$(STAGE)/%) $(DESTDIR)$(MANDIR)/man8/

uninstall: install-stage
	rm -f $(DESTDIR)$(BINDIR)/backfills.fcgi $(DESTDIR)$(BINDIR)/backfillctl \
	    $(DESTDIR)$(BINDIR)/backfills-exec
	rm -f $(UNITS:%=$(DESTDIR)$(UNITDIR)/%)
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
	@EXTRA_PKGS=mandoc scripts/deps.sh
	mandoc -T lint -W warning $(MAN5) $(MAN8)

install-test: all
	MAKE="$(MAKE)" sh tests/deploy/test_install.sh

deploy-test: all
	@EXTRA_PKGS="apache2-bin libapache2-mod-fcgid" scripts/deps.sh
	FCGI_BIN=$(FCGI_BIN) CTL_BIN=$(CTL_BIN) python3 tests/deploy/test_apache.py

deploy-check:
	@$(MAKE) --no-print-directory man-lint
	@$(MAKE) --no-print-directory install-test
	@$(MAKE) --no-print-directory deploy-test
