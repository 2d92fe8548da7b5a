# vmm — build, test, sanitize, fuzz, cover, bench.
#
# Sources are found by directory, so adding a module is adding a file:
#   core/ devices/ devices/*/ machine/ kvm/ sim/  -> $(BUILD)/libvmm.a
#   programs/NAME_main.c                  -> $(BUILD)/NAME  (vmm, vmm-replay)
#   tests/unit/test_*.c                   -> $(BUILD)/tests/test_*  (cmocka)
#   tests/bench/bench_*.c                 -> $(BUILD)/bench/bench_*
#   tests/bench/kvm_floor.c               -> $(BUILD)/bench/kvm-floor
#   fuzz/fuzz_*.c                         -> build/fuzz/fuzz_*  (clang libFuzzer)
# Variants live in their own directories: build/ (default), build/asan
# (SAN=1), build/cov (COV=1).

BUILD ?= build
CC ?= gcc
ifeq ($(origin CC),default)
CC := gcc
endif

WARN := -Wall -Wextra -Werror -Wformat=2 -Wmissing-prototypes \
	-Wstrict-prototypes -Wsign-compare -Wshadow -Wno-format-nonliteral
CFLAGS_BASE := -std=gnu11 -O2 -g -D_GNU_SOURCE -I. -pthread $(WARN)
ifeq ($(SAN),1)
CFLAGS_BASE += -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer -O1
LDFLAGS_SAN := -fsanitize=address,undefined
endif
ifeq ($(COV),1)
# -O0 changes what gcc can prove (format-truncation and friends); the
# default build already holds the code to -Werror, so coverage does not.
CFLAGS_BASE := $(filter-out -O2,$(CFLAGS_BASE)) -O0 --coverage -Wno-error
LDFLAGS_SAN := --coverage
endif
# The programs are static PIEs (Debian ships libc.a, libfdt.a and
# libseccomp.a): no dynamic loader, no shared-library pages, so start-up
# and peak RSS are measured on vmm itself (make bench; issue 10).
# Sanitizer and coverage builds stay dynamic; STATIC=0 opts out.
STATIC ?= 1
ifeq ($(STATIC)$(SAN)$(COV),1)
LDFLAGS_PROG := -static-pie
endif
CFLAGS ?=
ALL_CFLAGS := $(CFLAGS_BASE) $(CFLAGS)
LDLIBS := -lfdt -lseccomp -lutil -lpthread -lm
TEST_LDLIBS := -lcmocka

# The layers, bottom up (ci/check-layers.sh holds which may include which).
LIB_DIRS := core devices $(wildcard devices/*/) machine kvm sim
LIB_C := $(foreach d,$(LIB_DIRS),$(wildcard $(d:/=)/*.c))
MAIN_C := $(wildcard programs/*_main.c)
LIB_O := $(LIB_C:%.c=$(BUILD)/obj/%.o)
LIB := $(BUILD)/libvmm.a

PROGS := $(foreach m,$(MAIN_C),$(BUILD)/$(subst _,-,$(patsubst %_main.c,%,$(notdir $(m)))))
UNIT_C := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_C:tests/unit/%.c=$(BUILD)/tests/%)
BENCH_C := $(wildcard tests/bench/bench_*.c)
BENCH_BIN := $(BENCH_C:tests/bench/%.c=$(BUILD)/bench/%)
FUZZ_C := $(wildcard fuzz/fuzz_*.c)

.PHONY: all deps test test-unit test-integration check-asan coverage bench \
	fuzz fuzz-build run guest-images clean slow-test
.DEFAULT_GOAL := all
# Objects reached through pattern chains are not throw-away intermediates.
.SECONDARY:

# The bare-KVM floor bench_startup measures vmm against: libc only.
KVM_FLOOR := $(BUILD)/bench/kvm-floor

all: $(LIB) $(PROGS) $(UNIT_BIN) $(BENCH_BIN) $(KVM_FLOOR)

deps:
	@bash ci/deps.sh

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(LIB): $(LIB_O)
	@mkdir -p $(dir $@)
	@rm -f $@
	ar rcs $@ $^

# vmm_main.c -> vmm, vmm_replay_main.c -> vmm-replay (see PROGS).
define prog_rule
$(BUILD)/$(subst _,-,$(patsubst %_main.c,%,$(notdir $(1)))): $(BUILD)/obj/$(1:.c=.o) $(LIB)
	$$(CC) $$(LDFLAGS_SAN) $$(LDFLAGS_PROG) -pthread -o $$@ $$^ $$(LDLIBS)
endef
$(foreach m,$(MAIN_C),$(eval $(call prog_rule,$(m))))

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_SAN) -pthread -o $@ $^ $(TEST_LDLIBS) $(LDLIBS)

$(BUILD)/bench/%: $(BUILD)/obj/tests/bench/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_SAN) -pthread -o $@ $^ $(LDLIBS)

$(KVM_FLOOR): $(BUILD)/obj/tests/bench/kvm_floor.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_SAN) -o $@ $^

# guest-images/rules.mk adds the payloads (test guest, kernel, rootfs) as
# prerequisites of this target.
guest-images:
-include guest-images/rules.mk

# Debian's kernel is fetched with apt-get download (a few seconds) so the
# PVH boot and ACPI checks run here; without the Debian registry those
# tests print SKIP instead of failing the build.
test: deps
	@$(MAKE) --no-print-directory all guest-images
	@$(MAKE) --no-print-directory linux-images || \
		echo "SKIP: linux-images could not be built (no Debian registry?); Linux boot tests will skip"
	@bash ci/run-tests.sh $(BUILD)

test-unit: all
	@bash ci/run-tests.sh $(BUILD) unit

test-integration: all guest-images
	@bash ci/run-tests.sh $(BUILD) integration

slow-test: all guest-images
	@VMM_SLOW_TESTS=1 bash ci/run-tests.sh $(BUILD) integration

check-asan: deps
	@$(MAKE) --no-print-directory BUILD=build/asan SAN=1 all guest-images
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	 bash ci/run-tests.sh build/asan

coverage: deps
	@$(MAKE) --no-print-directory BUILD=build/cov COV=1 all guest-images
	@bash ci/coverage.sh build/cov

bench: all
	@bash ci/bench.sh $(BUILD)

# libFuzzer harnesses: the library is rebuilt with clang and sanitizers.
FUZZ_BUILD := build/fuzz
FUZZ_CFLAGS := -std=gnu11 -O1 -g -D_GNU_SOURCE -I. -pthread \
	-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer -Wall -Wextra -Werror -Wno-unused-parameter \
	-Wno-gnu-variable-sized-type-not-at-end
FUZZ_LIB_O := $(LIB_C:%.c=$(FUZZ_BUILD)/obj/%.o)
FUZZ_BIN := $(FUZZ_C:fuzz/%.c=$(FUZZ_BUILD)/%)
FUZZ_SECONDS ?= 10

$(FUZZ_BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@
$(FUZZ_BUILD)/libvmm.a: $(FUZZ_LIB_O)
	@rm -f $@
	ar rcs $@ $^
$(FUZZ_BUILD)/%: $(FUZZ_BUILD)/obj/fuzz/%.o $(FUZZ_BUILD)/libvmm.a
	clang -fsanitize=fuzzer,address,undefined -pthread -o $@ $^ $(LDLIBS)

fuzz-build: deps
	@$(MAKE) --no-print-directory $(FUZZ_BIN)

fuzz: fuzz-build
	@bash ci/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

run: deps
	@$(MAKE) --no-print-directory all guest-images
	@bash ci/run-default-vm.sh $(BUILD)

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj $(FUZZ_BUILD)/obj -name '*.d' 2>/dev/null)
