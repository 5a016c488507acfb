# kansoku build. `make` builds build/kansokud and build/kansoku; `make check` runs every test;
# `make bench` runs the benchmarks; `make install DESTDIR=... PREFIX=...`. V=1 shows the commands.

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

BUILD ?= build
VMLINUX_DIR := bpf/vmlinux/$(ARCH)

CFLAGS ?= -O2 -g
KS_CFLAGS := $(CFLAGS) -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-missing-field-initializers \
	-fstack-protector-strong -D_FORTIFY_SOURCE=2 -D_GNU_SOURCE -DKS_VERSION='"$(VERSION)"' \
	-Iinclude -Iuser -I$(BUILD) -MMD -MP
LDFLAGS ?=
KS_LDFLAGS := $(LDFLAGS) -Wl,-z,relro,-z,now
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror -I$(VMLINUX_DIR) -Iinclude -MMD -MP

DAEMON_LIBS := -lbpf -lelf -lz -lyaml -ljson-c -lcurl -lssl -lcrypto -lrelp -lpthread
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
USER_DIRS := lib config host model pipeline sensors posture outputs daemon
CORE_SRCS := $(filter-out user/daemon/kansokud.c,$(foreach d,$(USER_DIRS),$(wildcard user/$(d)/*.c)))
# The built-in posture catalog is data compiled in (catalog_data.S .incbin's it).
CORE_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(CORE_SRCS)) $(BUILD)/user/posture/catalog_data.o
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
BENCH_BINS := $(BUILD)/bench/workload

.PHONY: all clean install check unit unit-bins test-helpers live bench kmatrix format format-check deps run \
	rules-bench fuzz fuzz-short
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
	$(Q)$(CC) $(KS_LDFLAGS) -o $@ $^

$(BUILD)/bpf:
	$(Q)mkdir -p $@

# Installs what the daemon needs (Debian 12 packages); used by the README's two commands and CI.
deps:
	$(Q)./tests/install-deps.sh

unit-bins: $(UNIT_BINS)
test-helpers: $(TEST_HELPERS)

# Unit and live tests, one summary line. Live tests need root.
check: all $(UNIT_BINS) $(TEST_HELPERS)
	$(Q)./tests/run-all.sh

# The daemon in the foreground on the documented default config.
run: all
	$(Q)./$(BUILD)/kansokud --config packaging/kansoku.yaml

bench: all $(BENCH_BINS)
	$(Q)./bench/run.sh

# Engine alone: recorded events through the default ruleset and 1,000 generated rules.
rules-bench: $(BUILD)/bench/rules_bench
	$(Q)./$(BUILD)/bench/rules_bench packaging/rules/default.yaml tests/fixtures/rules/events.ndjson

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
NET_OUTPUT_OBJS := $(addprefix $(BUILD)/user/outputs/,netout.o syslog.o relp.o http.o)
STATIC_LIBS := -lbpf -lelf -lz -lyaml -ljson-c -lpthread
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
