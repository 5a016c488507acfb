# kansoku build. `make` builds build/kansokud and build/kansoku; `make check` runs every test;
# `make bench` runs the benchmarks; `make install DESTDIR=... PREFIX=...`. V=1 shows the commands.
# One test: `make unit T=test_config`, `make live K='rotation and not gzip'` (tests/README.md).
# `make SANITIZE=1 ...` builds with ASan+UBSan into build-san; `make lint`: cppcheck, clang-tidy, layers.

# a target whose recipe fails leaves no half-written file behind
.DELETE_ON_ERROR:
# keep the unit-test objects make sees as intermediate: `make unit` would rebuild them every time
.SECONDARY:

VERSION := 0.1.0

CLANG ?= clang
CC ?= gcc
BPFTOOL ?= bpftool
CLANG_FORMAT ?= clang-format
PKG_CONFIG ?= pkg-config
ARCH ?= $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
SYSCONFDIR ?= /etc
UNITDIR ?= /lib/systemd/system
DESTDIR ?=

ifeq ($(SANITIZE),1)
BUILD ?= build-san
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
endif
BUILD ?= build
VMLINUX_DIR := bpf/vmlinux/$(ARCH)
# The BPF programs are CO-RE against one vmlinux.h per architecture: only x86 is generated so far.
ifeq ($(wildcard $(VMLINUX_DIR)/vmlinux.h),)
ifneq ($(filter-out clean format format-check check-layers,$(or $(MAKECMDGOALS),all)),)
$(error ARCH=$(ARCH): no $(VMLINUX_DIR)/vmlinux.h; kansoku is only built for x86 so far (a port needs \
	`bpftool btf dump file /sys/kernel/btf/vmlinux format c > $(VMLINUX_DIR)/vmlinux.h` on that arch))
endif
endif

CFLAGS ?= -O2 -g
KS_CFLAGS := $(CFLAGS) -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-missing-field-initializers \
	-Wmissing-prototypes -fstack-protector-strong -D_FORTIFY_SOURCE=2 -D_GNU_SOURCE -DKS_VERSION='"$(VERSION)"' \
	-Iinclude -Iuser -I$(BUILD) -MMD -MP $(SAN_FLAGS)
LDFLAGS ?=
KS_LDFLAGS := $(LDFLAGS) -Wl,-z,relro,-z,now $(SAN_FLAGS)
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror -I$(VMLINUX_DIR) -Iinclude -MMD -MP

DAEMON_LIBS := -lbpf -lelf -lz -ldeflate -lyaml -ljson-c -lpcre2-8 -lcurl -lssl -lcrypto -lrelp -lpthread
CLI_LIBS := -ljson-c

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_SRCS))
SKEL := $(BUILD)/kansoku.skel.h

# Sources shared by the daemon and the unit tests (everything but main). One folder per stage of the
# pipeline (user/README.md); the CLI is apart.
USER_DIRS := lib config host model pipeline sensors posture rules detect outputs daemon
CORE_SRCS := $(filter-out user/daemon/kansokud.c,$(foreach d,$(USER_DIRS),$(wildcard user/$(d)/*.c)))
# The built-in posture catalog and detection rules are data compiled in (.incbin).
RULES_BUILTIN := $(sort $(wildcard packaging/rules/*.yaml))
CORE_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(CORE_SRCS)) $(BUILD)/user/posture/catalog_data.o \
	$(BUILD)/user/detect/rules_builtin.o
DAEMON_OBJS := $(BUILD)/user/daemon/kansokud.o $(CORE_OBJS)
CLI_SRCS := $(wildcard user/cli/*.c)
CLI_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(CLI_SRCS))

# The rule engine (docs/rules.md): self-contained, used by the CLI's `rules test`, its tests, fuzzer, bench.
RULES_SRCS := $(wildcard user/rules/*.c)
RULES_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(RULES_SRCS))
RULES_LIBS := -lyaml -lpcre2-8 -ljson-c
KS_CFLAGS += -Iuser
CLI_OBJS += $(RULES_OBJS)
CLI_LIBS += -lyaml -lpcre2-8
FUZZ_SECONDS ?= 180

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
TEST_HELPERS := $(BUILD)/tests/spawn_chain $(BUILD)/tests/proc_helper
BENCH_BINS := $(BUILD)/bench/workload $(BUILD)/bench/floor $(BUILD)/bench/rules_bench $(BUILD)/bench/sink_cost

.PHONY: all clean install check unit unit-bins test-helpers live bench kmatrix format format-check deps run \
	rules-bench encode-bench fuzz fuzz-short lint cppcheck clang-tidy check-layers compile_commands.json
all: $(BUILD)/kansokud $(BUILD)/kansoku

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c | $(BUILD)/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

# All BPF objects linked into one object, one skeleton.
$(BUILD)/kansoku.bpf.o: $(BPF_OBJS)
	$(call msg,LINK-BPF,$@)
	$(Q)$(BPFTOOL) gen object $@ $^

$(SKEL): $(BUILD)/kansoku.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name kansoku_bpf > $@.tmp && mv $@.tmp $@

# Everything in user/ may include the skeleton; make sure it exists first.
$(BUILD)/user/%.o: user/%.c | $(SKEL)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(KS_CFLAGS) -c $< -o $@

# One NUL-terminated text per built-in rule file, and a table of {name, text} ending in {0, 0}.
$(BUILD)/user/detect/rules_builtin.S: $(RULES_BUILTIN) Makefile
	$(Q)mkdir -p $(@D)
	$(Q){ printf '\t.section .rodata\n'; i=0; for f in $(RULES_BUILTIN); do \
		printf 'ks_rules_text_%d:\n\t.incbin "%s"\n\t.byte 0\nks_rules_name_%d:\n\t.asciz "builtin:%s"\n' \
			$$i "$$f" $$i "$${f##*/}"; i=$$((i + 1)); done; \
	  printf '\t.section .data.rel.ro\n\t.balign 8\n\t.global ks_rules_builtin\nks_rules_builtin:\n'; \
	  i=0; for f in $(RULES_BUILTIN); do printf '\t.quad ks_rules_name_%d, ks_rules_text_%d\n' $$i $$i; \
		i=$$((i + 1)); done; printf '\t.quad 0, 0\n\t.section .note.GNU-stack,"",@progbits\n'; } > $@.tmp
	$(Q)mv $@.tmp $@

$(BUILD)/user/detect/rules_builtin.o: $(BUILD)/user/detect/rules_builtin.S
	$(call msg,AS,$@)
	$(Q)$(CC) -c $< -o $@

$(BUILD)/user/posture/catalog_data.o: user/posture/catalog_data.S packaging/posture/catalog.yaml
	$(call msg,AS,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -c $< -o $@

$(BUILD)/tests/%.o: tests/%.c | $(SKEL)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(KS_CFLAGS) -Wno-unused-parameter -c $< -o $@

$(BUILD)/bench/%.o: bench/%.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(KS_CFLAGS) -c $< -o $@

$(BUILD)/kansokud: $(DAEMON_OBJS)
	$(call msg,LD,$@)
	$(Q)$(CC) $(KS_LDFLAGS) -o $@ $^ $(DAEMON_LIBS)

$(BUILD)/kansoku: $(CLI_OBJS)
	$(call msg,LD,$@)
	$(Q)$(CC) $(KS_LDFLAGS) -o $@ $^ $(CLI_LIBS)

$(BUILD)/tests/test_%: $(BUILD)/tests/unit/test_%.o $(CORE_OBJS)
	$(call msg,LD,$@)
	$(Q)$(CC) $(KS_LDFLAGS) -o $@ $^ $(DAEMON_LIBS) -lcmocka

# The rules tests link the engine alone: it depends on nothing else in user/. Its allocations are counted
# (--wrap) to show that evaluating an event allocates nothing.
$(BUILD)/tests/test_rules: $(BUILD)/tests/unit/test_rules.o $(RULES_OBJS)
	$(call msg,LD,$@)
	$(Q)$(CC) $(KS_LDFLAGS) -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc -o $@ $^ $(RULES_LIBS) -lcmocka

# The encoders' micro-benchmark runs the real sensors and encoders (bench/encode_bench.c).
$(BUILD)/bench/encode_bench: $(BUILD)/bench/encode_bench.o $(CORE_OBJS)
	$(call msg,LD,$@)
	$(Q)$(CC) $(KS_LDFLAGS) -o $@ $^ $(DAEMON_LIBS)

$(BUILD)/bench/rules_bench: $(BUILD)/bench/rules_bench.o $(RULES_OBJS)
	$(call msg,LD,$@)
	$(Q)$(CC) $(KS_LDFLAGS) -o $@ $^ $(RULES_LIBS)

# libFuzzer target for the rule loader and condition parser (clang only; ASan + UBSan).
$(BUILD)/fuzz/fuzz_rules: tests/fuzz/fuzz_rules.c $(RULES_SRCS)
	$(call msg,FUZZ-CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Iuser -Iinclude -o $@ $^ -lyaml -lpcre2-8 -ljson-c

$(BUILD)/tests/%: $(BUILD)/tests/live/%.o
	$(call msg,LD,$@)
	$(Q)$(CC) $(KS_LDFLAGS) -o $@ $^ -lpthread

$(BUILD)/bench/workload: $(BUILD)/bench/workload.o
	$(call msg,LD,$@)
	$(Q)$(CC) $(KS_LDFLAGS) -o $@ $^ -lpthread

$(BUILD)/bench/floor: $(BUILD)/bench/floor.o
	$(call msg,LD,$@)
	$(Q)$(CC) $(KS_LDFLAGS) -o $@ $^ -lbpf

# The file output's cost per byte alone: appending and compressing as rotation does (bench/sink_cost.c).
$(BUILD)/bench/sink_cost: $(BUILD)/bench/sink_cost.o
	$(call msg,LD,$@)
	$(Q)$(CC) $(KS_LDFLAGS) -o $@ $^ -ldeflate

$(BUILD)/bpf:
	$(Q)mkdir -p $@

# Installs what the daemon needs (Debian 12 packages); used by the README's two commands and CI.
deps:
	$(Q)./tests/install-deps.sh

unit-bins: $(UNIT_BINS)
test-helpers: $(TEST_HELPERS)

# Unit and live tests, one summary line. Live tests need root.
check: all $(UNIT_BINS) $(TEST_HELPERS)
	$(Q)BUILD=$(BUILD) ./tests/run-all.sh

# One unit suite (T=test_config or T=config) or all of them; selected live tests (K: a pytest -k expression).
UNIT_SEL := $(if $(T),$(BUILD)/tests/test_$(patsubst test_%,%,$(T)),$(UNIT_BINS))
ifneq ($(filter unit,$(MAKECMDGOALS)),)
$(if $(filter-out $(UNIT_BINS),$(UNIT_SEL)),$(error T=$(T): no such unit suite; one of: $(notdir $(UNIT_BINS))))
endif
unit: $(UNIT_SEL)
	$(Q)BUILD=$(BUILD) SUITES=unit UNIT="$(notdir $(UNIT_SEL))" ./tests/run-all.sh
live: all $(TEST_HELPERS)
	$(Q)BUILD=$(BUILD) SUITES=live LIVE_K="$(K)" ./tests/run-all.sh

# Static analysis, all clean: cppcheck (false positives in tests/lint/cppcheck.supp, each with its
# reason), clang-tidy (.clang-tidy), and the direction of includes between user/ folders.
LINT_SRCS = $(CORE_SRCS) user/daemon/kansokud.c $(CLI_SRCS) $(UNIT_SRCS) $(wildcard tests/live/*.c bench/*.c)
lint: check-layers cppcheck clang-tidy
check-layers:
	$(Q)./tests/check-layers.sh
cppcheck: $(SKEL)
	$(call msg,CPPCHECK,user tests bench)
	$(Q)cppcheck -q -j2 --std=c11 --enable=warning,portability,performance --inline-suppr --error-exitcode=1 \
		--suppressions-list=tests/lint/cppcheck.supp -D_GNU_SOURCE -DKS_VERSION='"0"' -Iinclude -Iuser \
		-I$(BUILD) $(LINT_SRCS)
# loader.c includes bpftool's generated skeleton, whose error path the analyzer reads as a leak.
TIDY_SKEL := user/sensors/loader.c
clang-tidy: $(SKEL) compile_commands.json
	$(call msg,TIDY,user tests bench)
	$(Q)printf '%s\n' $(filter-out $(TIDY_SKEL),$(LINT_SRCS)) | xargs -P2 -n4 clang-tidy -p . --quiet 2>/dev/null
	$(Q)clang-tidy -p . --quiet --checks=-clang-analyzer-unix.Malloc $(TIDY_SKEL) 2>/dev/null
# From what make would run, without building (clangd, clang-tidy, editors).
compile_commands.json:
	$(Q)$(MAKE) -s -n -B V=1 BUILD=$(BUILD) all unit-bins test-helpers $(BENCH_BINS) | ./tests/lint/compile_commands.py > $@.tmp
	$(Q)mv $@.tmp $@

# The daemon in the foreground on the documented default config.
run: all
	$(Q)./$(BUILD)/kansokud --config packaging/kansoku.yaml

bench: all $(BENCH_BINS)
	$(Q)./bench/run.sh

# Engine alone: recorded events through the default ruleset and 1,000 generated rules.
encode-bench: $(BUILD)/bench/encode_bench
	$(Q)./$(BUILD)/bench/encode_bench
rules-bench: $(BUILD)/bench/rules_bench
	$(Q)./$(BUILD)/bench/rules_bench packaging/rules tests/fixtures/rules/events.ndjson

# FUZZ_SECONDS=N (default 180); fuzz-short: 25 s, for the test runner. The corpus grows in build/, the
# small seed corpus stays in tests/fuzz/corpus.
fuzz: $(BUILD)/fuzz/fuzz_rules
	$(Q)mkdir -p $(BUILD)/fuzz/corpus
	$(Q)./$(BUILD)/fuzz/fuzz_rules -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -timeout=10 -rss_limit_mb=1024 \
		-dict=tests/fuzz/rules.dict $(BUILD)/fuzz/corpus tests/fuzz/corpus

fuzz-short: $(BUILD)/fuzz/fuzz_rules
	$(Q)./tests/fuzz/run-short.sh $(BUILD) 25

# the test runner's short fuzz run needs the target built
check: $(BUILD)/fuzz/fuzz_rules

# Static daemon and CLI for the kernel-matrix guests (a busybox initramfs has no shared libraries).
# Network outputs stay out: libcurl, OpenSSL and librelp have no complete static builds in Debian.
NET_OUTPUT_OBJS := $(addprefix $(BUILD)/user/outputs/,netout.o syslog.o relp.o http.o tls.o)
STATIC_LIBS := -lbpf -lelf -lz -ldeflate -lyaml -ljson-c -lpcre2-8 -lpthread
$(BUILD)/static/kansokud: $(filter-out $(NET_OUTPUT_OBJS),$(DAEMON_OBJS)) $(BUILD)/tests/kmatrix/net_outputs_none.o
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -static -o $@ $^ $(STATIC_LIBS)

$(BUILD)/static/kansoku: $(CLI_OBJS)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -static -o $@ $^ $(CLI_LIBS)

kmatrix: all
	$(Q)./tests/kmatrix/run.sh

format:
	$(Q)$(CLANG_FORMAT) -i $$(git ls-files '*.c' '*.h' | grep -v vmlinux)

format-check:
	$(Q)$(CLANG_FORMAT) --dry-run --Werror $$(git ls-files '*.c' '*.h' | grep -v vmlinux)

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(SYSCONFDIR)/kansoku $(DESTDIR)$(UNITDIR)
	install -m 0755 $(BUILD)/kansokud $(DESTDIR)$(SBINDIR)/kansokud
	install -m 0755 $(BUILD)/kansoku $(DESTDIR)$(BINDIR)/kansoku
	install -d $(DESTDIR)$(PREFIX)/share/kansoku
	install -m 0644 packaging/posture/catalog.yaml $(DESTDIR)$(PREFIX)/share/kansoku/catalog.yaml
	install -d $(DESTDIR)$(PREFIX)/share/kansoku/rules
	install -m 0644 packaging/rules/*.yaml $(DESTDIR)$(PREFIX)/share/kansoku/rules/
	test -e $(DESTDIR)$(SYSCONFDIR)/kansoku/kansoku.yaml || \
		install -m 0640 packaging/kansoku.yaml $(DESTDIR)$(SYSCONFDIR)/kansoku/kansoku.yaml
	sed 's|@SBINDIR@|$(SBINDIR)|g; s|@SYSCONFDIR@|$(SYSCONFDIR)|g' packaging/kansokud.service.in \
		> $(DESTDIR)$(UNITDIR)/kansokud.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/kansokud.service

clean:
	rm -rf $(BUILD)

-include $(wildcard $(BUILD)/bpf/*.d $(BUILD)/user/*/*.d $(BUILD)/tests/*/*.d $(BUILD)/bench/*.d)
