# Installation (make install, make uninstall) and the Debian package (make deb).
# Included by the Makefile; uses its BUILD, MODULE and APXS.
#
#   make install [DESTDIR=/tmp/stage] [PREFIX=/usr/local]
#   make deb                  build-deb/libapache2-mod-md-ng_<version>_<arch>.deb
#
# The stock apache2 package owns mod_md.so and mods-available/md.load, so ours
# are installed under names of their own (Debian's scheme for mod_<x>.so):
#
#   $(MODULEDIR)/mod_md_ng.so                 apxs -q LIBEXECDIR
#   $(APACHE_CONFDIR)/mods-available/md_ng.load, md_ng.conf
#                                             apxs -q SYSCONFDIR
#   $(BINDIR)/a2md                            $(PREFIX)/bin, when src/cli/ exists
#   $(MANDIR)/man1/a2md.1                     $(PREFIX)/share/man, when docs/a2md.1 exists
#
# The module still loads as md_module (drop-in), so `a2enmod md_ng` conflicts
# with the stock `md`: see packaging/md_ng.load.in and the README.
# Every directory variable can be set on the command line; DESTDIR is prepended
# to all of them but not written into md_ng.load's LoadModule path.

PREFIX         ?= /usr/local
BINDIR         ?= $(PREFIX)/bin
MANDIR         ?= $(PREFIX)/share/man
# recursive (=) so that apxs is only asked when a rule needs the value
MODULEDIR      ?= $(shell $(APXS) -q LIBEXECDIR)
APACHE_CONFDIR ?= $(shell $(APXS) -q SYSCONFDIR)
MODS_AVAILABLE ?= $(APACHE_CONFDIR)/mods-available
INSTALL        ?= install

# The names we install under (see above); lintian expects the package name
# libapache2-mod-<x> and the files mod_<x>.so, <x>.load, <x>.conf.
INSTALL_MODULE := mod_md_ng.so
MODS_NAME      := md_ng
DEB_PACKAGE    := libapache2-mod-md-ng

A2MD_BIN := $(BUILD)/a2md
A2MD_MAN := docs/a2md.1
# a2md is built by its own rule in the Makefile once src/cli/ has sources.
HAVE_A2MD := $(if $(wildcard src/cli/*.c),yes)

.PHONY: install uninstall deb clean-deb

install: $(MODULE) $(if $(HAVE_A2MD),$(A2MD_BIN))
	$(INSTALL) -d -m 0755 "$(DESTDIR)$(MODULEDIR)" "$(DESTDIR)$(MODS_AVAILABLE)"
	$(INSTALL) -m 0644 $(MODULE) "$(DESTDIR)$(MODULEDIR)/$(INSTALL_MODULE)"
	sed 's|@MODULE_PATH@|$(MODULEDIR)/$(INSTALL_MODULE)|' packaging/$(MODS_NAME).load.in \
	    > "$(DESTDIR)$(MODS_AVAILABLE)/$(MODS_NAME).load"
	chmod 0644 "$(DESTDIR)$(MODS_AVAILABLE)/$(MODS_NAME).load"
	$(INSTALL) -m 0644 packaging/$(MODS_NAME).conf "$(DESTDIR)$(MODS_AVAILABLE)/$(MODS_NAME).conf"
ifneq ($(HAVE_A2MD),)
	$(INSTALL) -d -m 0755 "$(DESTDIR)$(BINDIR)"
	$(INSTALL) -m 0755 $(A2MD_BIN) "$(DESTDIR)$(BINDIR)/a2md"
endif
ifneq ($(wildcard $(A2MD_MAN)),)
	$(INSTALL) -d -m 0755 "$(DESTDIR)$(MANDIR)/man1"
	$(INSTALL) -m 0644 $(A2MD_MAN) "$(DESTDIR)$(MANDIR)/man1/a2md.1"
endif

# Leaves mods-enabled alone: `a2dismod md_ng` first if it is enabled.
uninstall:
	rm -f "$(DESTDIR)$(MODULEDIR)/$(INSTALL_MODULE)" \
	      "$(DESTDIR)$(MODS_AVAILABLE)/$(MODS_NAME).load" \
	      "$(DESTDIR)$(MODS_AVAILABLE)/$(MODS_NAME).conf" \
	      "$(DESTDIR)$(BINDIR)/a2md" "$(DESTDIR)$(MANDIR)/man1/a2md.1"

# --- Debian package ---------------------------------------------------------
# dpkg-buildpackage runs debian/rules, whose clean step is `make clean`, so the
# package is built from a copy of the source tree in $(DEB_OUT)/src, never in
# this tree's build/, and without this make's variables (MAKEFLAGS), so that
# `make deb DEB_OUT=x` cannot reach into the package build's own `make clean`.
# The .deb, .buildinfo and .changes land in $(DEB_OUT).
# lintian (when installed) checks the result; a warning fails the build
# (debian/*.lintian-overrides explains the few we accept).
DEB_OUT     ?= build-deb
DEB_VERSION  = $(shell dpkg-parsechangelog -l debian/changelog -S Version)
MD_VERSION   = $(shell sed -n 's/^\#define MD_VERSION *"\(.*\)"/\1/p' src/core/md_version.h)
DEB_SRC      = $(DEB_OUT)/src/mod-md-ng-$(DEB_VERSION)
LINTIAN     ?= lintian

deb:
	@test -n "$(DEB_OUT)" || { echo "make deb: DEB_OUT is empty" >&2; exit 1; }
	@for t in dpkg-buildpackage dpkg-parsechangelog dh dh_apache2 fakeroot; do \
	  command -v $$t >/dev/null || { echo "make deb: $$t is missing (bash scripts/install-deps.sh)" >&2; exit 1; }; done
	@test "$(DEB_VERSION)" = "$(MD_VERSION)" || { \
	  echo "make deb: debian/changelog says $(DEB_VERSION), src/core/md_version.h $(MD_VERSION)" >&2; exit 1; }
	rm -rf $(DEB_OUT)
	mkdir -p $(DEB_SRC)
	tar -cf - --exclude=./$(BUILD) --exclude=./build-deb --exclude=./$(DEB_OUT) --exclude=./.git \
	    --exclude=__pycache__ --exclude=.pytest_cache . | tar -xf - -C $(DEB_SRC)
	cd $(DEB_SRC) && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL dpkg-buildpackage -b -us -uc -Jauto
	mv $(DEB_OUT)/src/*.deb $(DEB_OUT)/src/*.buildinfo $(DEB_OUT)/src/*.changes $(DEB_OUT)/
	@if command -v $(LINTIAN) >/dev/null; then \
	  echo "$(LINTIAN) $(DEB_OUT)/*.changes"; \
	  $(LINTIAN) --info --display-info --fail-on error,warning $(DEB_OUT)/*.changes; \
	else echo "make deb: lintian not installed, package not checked" >&2; fi
	@ls -l $(DEB_OUT)/*.deb

# Not part of `make clean`: DEB_OUT may be a directory of the caller's.
clean-deb:
	rm -rf $(DEB_OUT)
