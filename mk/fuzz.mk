# --- fuzzing and sanitizer builds (included by the Makefile) -----------------
#   make fuzz FUZZ_SECONDS=N   build every test/fuzz/fuzz_<name>.c with libFuzzer
#                              (clang, ASan+UBSan) and run each for N seconds;
#                              non-zero exit on any crash, leak or timeout
#   make fuzz-build            only build them (build/fuzz/fuzz_<name>)
#   make asan                  core, module, a2md (if src/cli exists) and unit
#                              tests with ASan+UBSan (gcc) in build/asan/
#   make asan-test-unit        the unit tests of that build
#   make asan-test-e2e         the e2e suite with Apache loading the ASan module
#                              and the ASan a2md (E2E_TESTS= picks files or other
#                              pytest arguments)
# Separate build directories: nothing here touches build/ of `make all`.

comma        := ,
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_BUILD   := $(BUILD)/fuzz
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# -O1: fast enough to fuzz, still readable stack traces.
FUZZ_CFLAGS  := $(filter-out -O2,$(CORE_CFLAGS)) -O1 $(FUZZ_SAN)
FUZZ_CORE_OBJ := $(CORE_SRC:src/core/%.c=$(FUZZ_BUILD)/core/%.o)
FUZZ_LIBCORE := $(FUZZ_BUILD)/libmdcore.a
FUZZ_SRC     := $(sort $(wildcard test/fuzz/fuzz_*.c))
FUZZ_BIN     := $(FUZZ_SRC:test/fuzz/%.c=$(FUZZ_BUILD)/%)

ASAN_CC      ?= $(CC)
ASAN_BUILD   := $(BUILD)/asan
ASAN_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
ASAN_CORE_CFLAGS := $(filter-out -O2,$(CORE_CFLAGS)) -O1 $(ASAN_SAN)
ASAN_GLUE_CFLAGS := $(filter-out -O2,$(GLUE_CFLAGS)) -O1 $(ASAN_SAN)
ASAN_CORE_OBJ := $(CORE_SRC:src/core/%.c=$(ASAN_BUILD)/core/%.o)
ASAN_GLUE_OBJ := $(GLUE_SRC:src/glue/%.c=$(ASAN_BUILD)/glue/%.o)
ASAN_LIBCORE := $(ASAN_BUILD)/libmdcore.a
ASAN_MODULE  := $(ASAN_BUILD)/mod_md.so
# Exports as the Makefile's module (only md_module), when it says which.
ASAN_MODULE_LDFLAGS := $(if $(MODULE_EXPORTS),-Wl$(comma)--version-script=$(MODULE_EXPORTS))
ASAN_UNIT_BIN := $(UNIT_SRC:test/unit/%.c=$(ASAN_BUILD)/test/%)
ASAN_UNIT_OBJ := $(ASAN_UNIT_BIN:=.o)
ASAN_FIXTURE_OBJ := $(FIXTURE_SRC:test/unit/%.c=$(ASAN_BUILD)/test/%.o)
# a2md (src/cli, as the Makefile builds it: a library of all but main).
ASAN_CLI_OBJ := $(CLI_SRC:src/cli/%.c=$(ASAN_BUILD)/cli/%.o)
ASAN_CLI_LIB := $(ASAN_BUILD)/liba2md.a
ASAN_CLI     := $(if $(CLI_SRC),$(ASAN_BUILD)/a2md)
# Reports go to stderr and fail the run; leaks count as errors.
ASAN_ENV     := ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1 \
                UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
E2E_TESTS    ?= test/e2e

.PHONY: fuzz fuzz-build asan asan-test-unit asan-test-e2e

# --- libFuzzer targets ---
$(FUZZ_BUILD)/core/%.o: src/core/%.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(DEPFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_LIBCORE): $(FUZZ_CORE_OBJ)
	rm -f $@
	ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: test/fuzz/fuzz_%.c $(FUZZ_LIBCORE)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(DEPFLAGS) -fsanitize=fuzzer -Itest/fuzz $< -o $@ $(FUZZ_LIBCORE) \
	    $(DEP_LIBS)

fuzz-build: $(FUZZ_BIN)

fuzz: fuzz-build
	bash test/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_BIN)

# --- ASan + UBSan build ---
$(ASAN_BUILD)/core/%.o: src/core/%.c
	@mkdir -p $(@D)
	$(ASAN_CC) $(ASAN_CORE_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(ASAN_BUILD)/glue/%.o: src/glue/%.c
	@mkdir -p $(@D)
	$(ASAN_CC) $(ASAN_GLUE_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(ASAN_LIBCORE): $(ASAN_CORE_OBJ)
	rm -f $@
	ar rcs $@ $^

# Loaded by Apache only with the sanitizer runtime preloaded (see
# test/e2e/README.md, MD_E2E_ASAN).
$(ASAN_MODULE): $(ASAN_GLUE_OBJ) $(ASAN_LIBCORE) $(MODULE_EXPORTS)
	$(ASAN_CC) $(ASAN_SAN) -shared $(ASAN_MODULE_LDFLAGS) -o $@ $(ASAN_GLUE_OBJ) $(ASAN_LIBCORE) \
	    $(DEP_LIBS)

$(ASAN_BUILD)/test/%.o: test/unit/%.c
	@mkdir -p $(@D)
	$(ASAN_CC) $(ASAN_CORE_CFLAGS) $(DEPFLAGS) -Isrc/cli -Itest/unit -c $< -o $@

$(ASAN_BUILD)/test/%: $(ASAN_BUILD)/test/%.o $(ASAN_FIXTURE_OBJ) $(ASAN_LIBCORE)
	$(ASAN_CC) $(ASAN_SAN) -o $@ $< $(ASAN_FIXTURE_OBJ) $(ASAN_LIBCORE) $(DEP_LIBS) -lcmocka

.SECONDARY: $(ASAN_UNIT_OBJ) $(ASAN_FIXTURE_OBJ)

$(ASAN_BUILD)/cli/%.o: src/cli/%.c
	@mkdir -p $(@D)
	$(ASAN_CC) $(ASAN_CORE_CFLAGS) $(DEPFLAGS) -Isrc/cli -c $< -o $@

$(ASAN_CLI_LIB): $(filter-out $(ASAN_BUILD)/cli/a2md_main.o,$(ASAN_CLI_OBJ))
	rm -f $@
	ar rcs $@ $^

$(ASAN_BUILD)/a2md: $(ASAN_BUILD)/cli/a2md_main.o $(ASAN_CLI_LIB) $(ASAN_LIBCORE)
	$(ASAN_CC) $(ASAN_SAN) -o $@ $< $(ASAN_CLI_LIB) $(ASAN_LIBCORE) $(DEP_LIBS)

$(ASAN_BUILD)/test/test_a2md_%: $(ASAN_BUILD)/test/test_a2md_%.o $(ASAN_FIXTURE_OBJ) \
                                $(ASAN_CLI_LIB) $(ASAN_LIBCORE)
	$(ASAN_CC) $(ASAN_SAN) -o $@ $< $(ASAN_FIXTURE_OBJ) $(ASAN_CLI_LIB) $(ASAN_LIBCORE) \
	    $(DEP_LIBS) -lcmocka

asan: $(ASAN_LIBCORE) $(ASAN_MODULE) $(ASAN_UNIT_BIN) $(ASAN_CLI)

asan-test-unit: $(ASAN_UNIT_BIN)
	@set -e; for t in $(ASAN_UNIT_BIN); do echo "== $$t"; \
	  case $$t in *_pg) $(ASAN_ENV) $(PG_WRAP) $$t;; *) $(ASAN_ENV) $$t;; esac; done

# Header dependencies of every object set here (-MMD, see the Makefile).
-include $(FUZZ_CORE_OBJ:.o=.d) $(FUZZ_BIN:=.d) $(ASAN_CORE_OBJ:.o=.d) $(ASAN_GLUE_OBJ:.o=.d) \
         $(ASAN_CLI_OBJ:.o=.d) $(ASAN_UNIT_OBJ:.o=.d) $(ASAN_FIXTURE_OBJ:.o=.d)

asan-test-e2e: $(ASAN_MODULE) $(ASAN_CLI)
	MD_MODULE=$(abspath $(ASAN_MODULE)) MD_E2E_ASAN=1 \
	    $(if $(ASAN_CLI),MD_A2MD=$(abspath $(ASAN_CLI))) $(PYTHON) -m pytest -q $(E2E_TESTS)
