# Build of the core library, the Apache module and the tests.
#   make            build/libmdcore.a, build/mod_md.so and build/a2md
#   make install    the module, mods-available/md_ng.{load,conf}, a2md (mk/install.mk)
#   make deb        the Debian package libapache2-mod-md-ng (mk/install.mk)
#   make test       everything, unit tests, end-to-end tests
#   make test-unit  cmocka tests of the core
#   make test-helgrind  the renewal worker threads (md_workers.c) under
#                   valgrind's helgrind: any data race fails
#   make test-e2e   pytest end-to-end tests (real Apache + pebble)
#   make demo       get a certificate from a local pebble and show it
#   make WERROR=0   build without -Werror
#   make testhooks  the test build: build/testhooks/mod_md.so with the crash
#                   hook (MD_TEST_CRASH_AT, src/core/md_testhook.h) for the
#                   e2e crash tests; build/mod_md.so never has it
#   make fuzz, make asan: see mk/fuzz.mk

CC         ?= gcc
APXS       ?= apxs
PKG_CONFIG ?= pkg-config
PYTHON     ?= /usr/bin/python3
WERROR     ?= 1
TESTHOOKS  ?= 0

ifeq ($(TESTHOOKS),1)
BUILD := build/testhooks
else
BUILD := build
endif
PKGS  := apr-1 apr-util-1 openssl libcurl jansson libpq

DEP_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS))
DEP_LIBS   := $(shell $(PKG_CONFIG) --libs $(PKGS))
HTTPD_INC  := $(shell $(APXS) -q INCLUDEDIR)

WARN := -Wall -Wextra -Wshadow -Wconversion -Wstrict-prototypes -Wmissing-prototypes \
        -Wformat=2 -Wpointer-arith -Wcast-qual -Wundef
ifeq ($(WERROR),1)
WARN += -Werror
endif
# Header dependencies: every compile writes a .d file next to its output
# (-MMD, with empty rules for the headers, -MP, so a removed header does not
# break the build); the .d files of every object set are included below and
# in mk/*.mk. No rule lists headers itself: editing one header rebuilds only
# what includes it.
DEPFLAGS := -MMD -MP

CFLAGS_COMMON := -std=c11 -g -O2 -fPIC -fstack-protector-strong $(WARN) \
                 -DOPENSSL_API_COMPAT=30000 -DOPENSSL_NO_DEPRECATED $(DEP_CFLAGS) -Isrc/core
ifeq ($(TESTHOOKS),1)
CFLAGS_COMMON += -DMD_TESTHOOKS
endif
# The core must not see httpd's headers (STYLE §1).
CORE_CFLAGS := $(CFLAGS_COMMON)
GLUE_CFLAGS := $(CFLAGS_COMMON) -I$(HTTPD_INC)
# The builder's own flags come last (the Debian package passes dpkg-buildflags'
# hardening through CPPFLAGS, CFLAGS and LDFLAGS).
CORE_CFLAGS += $(CPPFLAGS) $(CFLAGS)
GLUE_CFLAGS += $(CPPFLAGS) $(CFLAGS)

CORE_SRC  := $(sort $(wildcard src/core/*.c))
ifneq ($(TESTHOOKS),1)
CORE_SRC  := $(filter-out src/core/md_testhook.c,$(CORE_SRC))
endif
GLUE_SRC  := $(sort $(wildcard src/glue/*.c))
CORE_OBJ  := $(CORE_SRC:src/core/%.c=$(BUILD)/core/%.o)
GLUE_OBJ  := $(GLUE_SRC:src/glue/%.c=$(BUILD)/glue/%.o)
UNIT_SRC  := $(sort $(wildcard test/unit/test_*.c))
UNIT_BIN  := $(UNIT_SRC:test/unit/%.c=$(BUILD)/test/%)
UNIT_OBJ  := $(UNIT_BIN:=.o)
# Helpers every unit test links: mock CA, temp stores, test certificates.
FIXTURE_SRC := $(sort $(wildcard test/unit/fixtures/*.c))
FIXTURE_OBJ := $(FIXTURE_SRC:test/unit/%.c=$(BUILD)/test/%.o)

LIBCORE := $(BUILD)/libmdcore.a
MODULE  := $(BUILD)/mod_md.so
A2MD    := $(BUILD)/a2md

.PHONY: all test test-unit test-e2e demo clean deps bench testhooks test-helgrind check
all: $(LIBCORE) $(MODULE) $(A2MD)

$(BUILD)/core/%.o: src/core/%.c
	@mkdir -p $(@D)
	$(CC) $(CORE_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(BUILD)/glue/%.o: src/glue/%.c
	@mkdir -p $(@D)
	$(CC) $(GLUE_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(LIBCORE): $(CORE_OBJ)
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $^

# httpd resolves ap_* and apr symbols at load time; we link our deps.
# Only md_module is exported (src/glue/mod_md.exports): the core's and the
# glue's other symbols stay local, so they can never clash with another
# module's or a library's (check: nm -D --defined-only build/mod_md.so).
MODULE_EXPORTS := src/glue/mod_md.exports
$(MODULE): $(GLUE_OBJ) $(LIBCORE) $(MODULE_EXPORTS)
	$(CC) -shared $(LDFLAGS) -Wl,--version-script=$(MODULE_EXPORTS) -o $@ $(GLUE_OBJ) $(LIBCORE) $(DEP_LIBS)

# Unit tests and their fixtures (test/unit/fixtures/) compile to objects of
# their own, so that a changed header recompiles only the tests including it.
$(BUILD)/test/%.o: test/unit/%.c
	@mkdir -p $(@D)
	$(CC) $(CORE_CFLAGS) $(DEPFLAGS) -Isrc/cli -Itest/unit -c $< -o $@

$(BUILD)/test/%: $(BUILD)/test/%.o $(FIXTURE_OBJ) $(LIBCORE)
	$(CC) $(LDFLAGS) -o $@ $< $(FIXTURE_OBJ) $(LIBCORE) $(DEP_LIBS) -lcmocka

.SECONDARY: $(UNIT_OBJ) $(FIXTURE_OBJ)

# --- a2md: the command line (src/cli), on the core only, never httpd -----------
CLI_SRC     := $(sort $(wildcard src/cli/*.c))
CLI_OBJ     := $(CLI_SRC:src/cli/%.c=$(BUILD)/cli/%.o)
# Everything but main, for the unit tests of the command line.
CLI_LIB     := $(BUILD)/liba2md.a
CLI_LIB_OBJ := $(filter-out $(BUILD)/cli/a2md_main.o,$(CLI_OBJ))

$(BUILD)/cli/%.o: src/cli/%.c
	@mkdir -p $(@D)
	$(CC) $(CORE_CFLAGS) $(DEPFLAGS) -Isrc/cli -c $< -o $@

$(CLI_LIB): $(CLI_LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(A2MD): $(BUILD)/cli/a2md_main.o $(CLI_LIB) $(LIBCORE)
	$(CC) $(LDFLAGS) -o $@ $(BUILD)/cli/a2md_main.o $(CLI_LIB) $(LIBCORE) $(DEP_LIBS)

# Unit tests of the command line link its library too.
$(BUILD)/test/test_a2md_%: $(BUILD)/test/test_a2md_%.o $(FIXTURE_OBJ) $(CLI_LIB) $(LIBCORE)
	$(CC) $(LDFLAGS) -o $@ $< $(FIXTURE_OBJ) $(CLI_LIB) $(LIBCORE) $(DEP_LIBS) -lcmocka

-include $(CLI_OBJ:.o=.d)
# --- end of a2md ---------------------------------------------------------------

deps:
	bash scripts/install-deps.sh

# Tests of the PostgreSQL store (*_pg) get a real server of their own,
# started around them by the e2e harness's helper.
PG_WRAP := $(PYTHON) test/e2e/mdtest/postgres.py run --

test-unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; \
	  case $$t in *_pg) $(PG_WRAP) $$t;; *) $$t;; esac; done

# Threads share nothing but what a mutex guards (issue 11, finding 5).
HELGRIND_TESTS := $(BUILD)/test/test_md_workers
test-helgrind: $(HELGRIND_TESTS)
	@set -e; for t in $(HELGRIND_TESTS); do echo "== helgrind $$t"; \
	    valgrind --tool=helgrind --error-exitcode=1 -q \
	        --suppressions=test/unit/helgrind.supp $$t; done

# The e2e crash tests load this one (test/e2e/mdtest: crash_hook_module_path).
testhooks:
	$(MAKE) TESTHOOKS=1 build/testhooks/mod_md.so

# The e2e files run in parallel, E2E_JOBS at a time (pytest-xdist; the
# tests mostly wait for CAs and restarts): each worker has its own temp dir,
# ports and pebble, and runs whole files (test/e2e/conftest.py).
# E2E_JOBS=0 runs them one by one in one process.
E2E_JOBS ?= 4
test-e2e: all testhooks
	$(PYTHON) -m pytest -v -n $(E2E_JOBS) --dist loadfile test/e2e

# Checks of the sources: no function in src/ over 80 lines (STYLE.md §1,
# issue 14); the long ones are listed. Last in make test, so that a long
# function does not hide what the tests say.
check:
	$(PYTHON) scripts/check-function-length.py src

test: all test-unit test-helgrind test-e2e check

demo: all
	$(PYTHON) scripts/demo.py

bench: all
	$(PYTHON) bench/run.py

# make install, make deb: see mk/install.mk.
include mk/install.mk

clean:
	rm -rf $(BUILD)

# Fuzzing (make fuzz) and the ASan+UBSan build (make asan): see mk/fuzz.mk.
include mk/fuzz.mk

-include $(CORE_OBJ:.o=.d) $(GLUE_OBJ:.o=.d) $(UNIT_OBJ:.o=.d) $(FIXTURE_OBJ:.o=.d)
