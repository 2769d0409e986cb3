# SPDX-License-Identifier: GPL-2.0-only
# aopgate: `make` builds everything, `make test` runs every test.
#
# Layout: user/agent/ is aopgated, user/cli/ is aopgate, user/lib/ is what
# both use. Each program links its own static library (its objects plus
# lib/'s), so neither carries the other's code. Packages: scripts/deps.sh.

BUILD     ?= build
CLANG     ?= clang
BPFTOOL   ?= bpftool
CC        ?= cc
AR        ?= ar
PREFIX    ?= /usr/local

ARCH      := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null)

PKGS      := libbpf libelf zlib openssl inih
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CLI_LIBS   := $(shell pkg-config --libs libbpf libelf zlib 2>/dev/null)
# The agent alone talks to systemd (sd_notify, socket activation) and
# serves HTTP (libmicrohttpd); the CLI links neither.
AGENT_PKGS := libsystemd libmicrohttpd
AGENT_PKG_CFLAGS := $(shell pkg-config --cflags $(AGENT_PKGS) 2>/dev/null)
AGENT_LIBS := $(shell pkg-config --libs $(AGENT_PKGS) 2>/dev/null)
# The CrowdSec bouncer alone speaks HTTP as a client and reads JSON.
BOUNCER_PKGS := libcurl jansson libmicrohttpd
BOUNCER_PKG_CFLAGS := $(shell pkg-config --cflags $(BOUNCER_PKGS) 2>/dev/null)
BOUNCER_LIBS := $(shell pkg-config --libs $(BOUNCER_PKGS) 2>/dev/null)

# The version has one source, VERSION; a build from a git checkout with a
# release tag (v1.2.3) says which commit it is.
AOP_VERSION := $(shell { [ -e .git ] && git describe --tags --match 'v[0-9]*' --dirty 2>/dev/null | sed 's/^v//'; } || true)
AOP_VERSION := $(if $(AOP_VERSION),$(AOP_VERSION),$(shell cat VERSION))

# CFLAGS, CPPFLAGS and LDFLAGS are the user's; what the code needs to build
# at all is added after them, so `make CFLAGS=-O0` cannot drop it.
CFLAGS    ?= -O2 -g
AOP_CFLAGS   := -std=gnu11 -Wall -Wextra -Werror -MMD -MP
AOP_CPPFLAGS := -D_GNU_SOURCE -Iinclude -Iuser/lib -I$(BUILD)
ALL_CFLAGS    = $(CPPFLAGS) $(AOP_CPPFLAGS) $(CFLAGS) $(AOP_CFLAGS) $(PKG_CFLAGS) $(AGENT_PKG_CFLAGS)

# make SANITIZE=1 builds with ASan and UBSan (into its own BUILD: see
# test-sanitize); SANITIZE=fuzz also instruments for libFuzzer (make fuzz).
ifeq ($(SANITIZE),1)
AOP_CFLAGS  += -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
AOP_LDFLAGS := -fsanitize=address,undefined
endif
ifeq ($(SANITIZE),fuzz)
AOP_CFLAGS  += -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all \
	       -fno-omit-frame-pointer
AOP_LDFLAGS := -fsanitize=address,undefined
endif

# The BPF objects build against the kernel's uapi headers (linux-libc-dev),
# not the build host's BTF, so the same source gives the same object.
BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) \
	      -Wall -Werror -MMD -MP -Iinclude \
	      $(if $(MULTIARCH),-idirafter /usr/include/$(MULTIARCH))

BPF_SRCS  := $(wildcard bpf/*.bpf.c)
BPF_OBJS  := $(patsubst bpf/%.bpf.c,$(BUILD)/%.bpf.o,$(BPF_SRCS))

objs = $(patsubst user/%.c,$(BUILD)/%.o,$(filter-out $(2),$(wildcard user/$(1)/*.c)))
LIB_OBJS   := $(call objs,lib)
AGENT_OBJS := $(call objs,agent,user/agent/aopgated.c)
CLI_OBJS   := $(call objs,cli,user/cli/aopgate.c)
AGENT_LIB  := $(BUILD)/libaopgate-agent.a
CLI_LIB    := $(BUILD)/libaopgate-cli.a
# The bouncer logs as the agent does: it links the agent's log.o, nothing more.
BOUNCER_OBJS := $(call objs,bouncer,user/bouncer/bouncer.c) $(BUILD)/agent/log.o
BOUNCER_LIB  := $(BUILD)/libaopgate-bouncer.a
BINS       := $(BUILD)/aopgate $(BUILD)/aopgated $(BUILD)/aopgate-bouncer

# Unit tests of the agent's modules link the agent's library; the gate's
# packet tests load the program through the skeleton and the CLI's library.
UNIT_SRCS   := $(wildcard tests/unit/test_*.c)
UNIT_BINS   := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
GATE_TESTS  := $(filter $(BUILD)/tests/test_gate%,$(UNIT_BINS))
BOUNCER_TESTS := $(filter $(BUILD)/tests/test_bouncer%,$(UNIT_BINS))
AGENT_TESTS := $(filter-out $(GATE_TESTS) $(BOUNCER_TESTS),$(UNIT_BINS))

BENCH_BINS := $(BUILD)/tests/xdp_cost $(BUILD)/tests/tlsload $(BUILD)/tests/upstream \
	      $(BUILD)/tests/xdpflood

.PHONY: FORCE all deps test test-unit test-system test-sanitize fuzz fuzz-bins bench clean \
	install demo demo-down uninstall deb
.DELETE_ON_ERROR:

all: $(BINS) $(BPF_OBJS) $(UNIT_BINS) $(BENCH_BINS)

# Installs missing build and test packages (scripts/deps.sh); not a
# prerequisite of building, so a build never runs apt-get.
deps:
	@scripts/deps.sh

$(BUILD)/%.bpf.o: bpf/%.bpf.c
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(BPFTOOL) gen skeleton $< > $@

$(BUILD)/%.o: user/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

# Rewritten only when the version changes, so a build stays incremental.
$(BUILD)/version.h: FORCE
	@mkdir -p $(@D)
	@t=$@.$$$$.tmp; echo '#define AOPGATE_VERSION "$(AOP_VERSION)"' >$$t; \
		cmp -s $$t $@ && rm -f $$t || mv $$t $@

$(BUILD)/agent/aopgated.o $(BUILD)/agent/metrics.o $(BUILD)/cli/aopgate.o \
	$(BUILD)/bouncer/bouncer.o $(BUILD)/bouncer/lapi.o: $(BUILD)/version.h

$(BUILD)/bouncer/%.o: user/bouncer/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(BOUNCER_PKG_CFLAGS) -Iuser/agent -c $< -o $@

# Only the loader and the packet tests include the skeleton.
$(BUILD)/cli/attach.o: $(BUILD)/gate.skel.h

$(AGENT_LIB): $(AGENT_OBJS) $(LIB_OBJS)
$(CLI_LIB): $(CLI_OBJS) $(LIB_OBJS)
$(BOUNCER_LIB): $(BOUNCER_OBJS) $(LIB_OBJS)
$(AGENT_LIB) $(CLI_LIB) $(BOUNCER_LIB):
	rm -f $@ && $(AR) rcs $@ $^

$(BUILD)/aopgated: $(BUILD)/agent/aopgated.o $(AGENT_LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) $(AOP_LDFLAGS) $^ $(PKG_LIBS) $(AGENT_LIBS) -o $@

$(BUILD)/aopgate: $(BUILD)/cli/aopgate.o $(CLI_LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) $(AOP_LDFLAGS) $^ $(CLI_LIBS) -o $@

$(BUILD)/aopgate-bouncer: $(BUILD)/bouncer/bouncer.o $(BOUNCER_LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) $(AOP_LDFLAGS) $^ $(PKG_LIBS) $(BOUNCER_LIBS) -lpthread -o $@

$(BUILD)/tests/%.o: tests/unit/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Iuser/agent -Iuser/bouncer -Itests/unit -c $< -o $@

$(BUILD)/tests/%.o: tests/bench/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Itests/unit -I$(BUILD)/tests -c $< -o $@

$(GATE_TESTS:%=%.o) $(BUILD)/tests/xdp_cost.o: $(BUILD)/gate.skel.h
$(BUILD)/tests/xdp_cost.o: $(BUILD)/empty.skel.h $(BUILD)/tests/gate_warm.skel.h
$(BUILD)/tests/xdpflood.o: $(BUILD)/tests/xdpflood.skel.h

$(AGENT_TESTS): %: %.o $(AGENT_LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) $(AOP_LDFLAGS) $^ $(PKG_LIBS) $(AGENT_LIBS) -o $@

$(BOUNCER_TESTS): %: %.o $(BOUNCER_LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) $(AOP_LDFLAGS) $^ $(PKG_LIBS) $(BOUNCER_LIBS) -lpthread -o $@

$(GATE_TESTS) $(BUILD)/tests/xdp_cost: %: %.o $(CLI_LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) $(AOP_LDFLAGS) $^ $(CLI_LIBS) -o $@

$(BUILD)/tests/tlsload $(BUILD)/tests/upstream: %: %.o
	$(CC) $(CFLAGS) $(LDFLAGS) $(AOP_LDFLAGS) $^ $(PKG_LIBS) -lpthread -lm -o $@

$(BUILD)/tests/xdpflood: %: %.o
	$(CC) $(CFLAGS) $(LDFLAGS) $(AOP_LDFLAGS) $^ $(CLI_LIBS) -o $@

# libFuzzer harnesses (tests/fuzz/), built by make fuzz with clang.
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))

$(BUILD)/fuzz/%.o: tests/fuzz/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Iuser/agent -Itests/unit -c $< -o $@

# The gate's harness loads the program through the skeleton, as the packet tests do.
$(BUILD)/fuzz/fuzz_gate.o: $(BUILD)/gate.skel.h

$(FUZZ_BINS): %: %.o $(AGENT_LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -fsanitize=fuzzer $(AOP_LDFLAGS) $^ $(PKG_LIBS) $(AGENT_LIBS) -o $@

# gate_warm.bpf.c includes bpf/gate.bpf.c; -MMD tracks that.
$(BUILD)/tests/xdpflood.bpf.o $(BUILD)/tests/gate_warm.bpf.o: $(BUILD)/tests/%.bpf.o: \
		tests/bench/%.bpf.c
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/tests/xdpflood.skel.h: $(BUILD)/tests/xdpflood.bpf.o
	$(BPFTOOL) gen skeleton $< name xdpflood_bpf > $@

$(BUILD)/tests/gate_warm.skel.h: $(BUILD)/tests/gate_warm.bpf.o
	$(BPFTOOL) gen skeleton $< name gate_warm_bpf > $@

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# Unit and packet-level tests, then system tests; one summary line at the end.
test: all
	@scripts/run-tests.sh $(BUILD) $(UNIT_BINS)

test-unit: all
	@scripts/run-tests.sh --unit-only $(BUILD) $(UNIT_BINS)

test-system: all
	@scripts/run-tests.sh --system-only $(BUILD)

# The unit tests and the agent's system tests once more, built with ASan
# and UBSan (in build-san); any report fails the test that caused it.
SAN_BUILD ?= build-san
test-sanitize:
	@$(MAKE) -s SANITIZE=1 BUILD=$(SAN_BUILD) all
	@scripts/run-tests.sh --sanitized $(SAN_BUILD) $(patsubst $(BUILD)/%,$(SAN_BUILD)/%,$(UNIT_BINS))

# Each libFuzzer harness for FUZZ_SECONDS (60) from its committed corpus
# (tests/fuzz/corpus/NAME), with ASan and UBSan; a finding fails it.
# FUZZ=gate runs only the harnesses whose name contains "gate".
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ ?=
fuzz:
	@$(MAKE) -s CC=clang SANITIZE=fuzz BUILD=$(FUZZ_BUILD) fuzz-bins
	@scripts/run-fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ)

fuzz-bins: $(FUZZ_BINS)

# Benchmarks (tests/bench/run): every part, or some with BENCH="xdp flood".
# Parts: xdp flood reject handshake relay siege. Bench-only packages:
# scripts/deps.sh --bench. `make test` runs a smoke version of each.
BENCH ?= xdp flood reject handshake relay siege

bench: all
	@scripts/deps.sh --bench
	@tests/bench/run --build $(BUILD) $(BENCH)

clean:
	rm -rf $(BUILD)

# A namespace lab that shows the gate at work; `make demo-down` removes it.
demo: all
	@scripts/demo.sh up

demo-down:
	@scripts/demo.sh down

SBINDIR   ?= $(PREFIX)/sbin
LIBDIR    ?= $(PREFIX)/lib
DATADIR   ?= $(PREFIX)/share
MANDIR    ?= $(DATADIR)/man
SYSCONFDIR ?= /etc
UNITDIR   ?= $(LIBDIR)/systemd/system
SYSUSERSDIR ?= $(LIBDIR)/sysusers.d
UNIT_INS  := $(wildcard dist/systemd/*.in)
UNITS     := $(notdir $(UNIT_INS:.in=))

# Installs under $(DESTDIR)$(PREFIX); the example configuration goes to
# $(SYSCONFDIR)/aopgate as *.example so an existing one is never replaced.
# Units are written at install time, so they name this PREFIX's paths. The
# BPF program is inside aopgate (its skeleton), so no object is installed.
install: $(BINS)
	install -d $(DESTDIR)$(SBINDIR) \
		$(DESTDIR)$(DATADIR)/aopgate $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(SYSCONFDIR)/aopgate $(DESTDIR)$(SYSUSERSDIR)
	install -m 0755 $(BINS) $(DESTDIR)$(SBINDIR)/
	install -m 0644 dist/sysusers.d/aopgate.conf $(DESTDIR)$(SYSUSERSDIR)/aopgate.conf
	install -m 0644 data/cloudflare-origin-pull-ca.pem data/cloudflare-ips.txt \
		$(DESTDIR)$(DATADIR)/aopgate/
	install -m 0644 $(wildcard man/*.8) $(DESTDIR)$(MANDIR)/man8/
	$(if $(wildcard man/*.5),install -m 0644 $(wildcard man/*.5) $(DESTDIR)$(MANDIR)/man5/)
	for u in $(UNIT_INS); do \
		sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' $$u \
			> $(DESTDIR)$(UNITDIR)/$$(basename $$u .in) || exit 1; \
	done
	$(if $(wildcard dist/aopgate.conf.example),install -m 0644 dist/aopgate.conf.example \
		$(DESTDIR)$(SYSCONFDIR)/aopgate/aopgate.conf.example)
	install -m 0644 dist/aopgate-bouncer.conf.example \
		$(DESTDIR)$(SYSCONFDIR)/aopgate/bouncer.conf.example
	for d in parsers/s00-raw parsers/s01-parse scenarios acquis.d; do \
		install -d $(DESTDIR)$(DATADIR)/aopgate/crowdsec/$$d && \
		install -m 0644 dist/crowdsec/$$d/*.yaml $(DESTDIR)$(DATADIR)/aopgate/crowdsec/$$d/ || exit 1; \
	done

# The Debian package (debian/), written to the parent directory as
# aopgate_VERSION_ARCH.deb; tests/system/deb.bats builds, installs and
# purges it.
deb:
	dpkg-buildpackage -us -uc -b

# Removes what install wrote, and the directories named for aopgate once
# empty (an operator's aopgate.conf keeps $(SYSCONFDIR)/aopgate); shared
# directories such as sbin/ and man8/ stay, as with any package.
uninstall:
	rm -f $(addprefix $(DESTDIR)$(SBINDIR)/,$(notdir $(BINS))) \
		$(addprefix $(DESTDIR)$(UNITDIR)/,$(UNITS)) \
		$(DESTDIR)$(SYSUSERSDIR)/aopgate.conf \
		$(addprefix $(DESTDIR)$(MANDIR)/man8/,$(notdir $(wildcard man/*.8))) \
		$(addprefix $(DESTDIR)$(MANDIR)/man5/,$(notdir $(wildcard man/*.5))) \
		$(DESTDIR)$(SYSCONFDIR)/aopgate/aopgate.conf.example \
		$(DESTDIR)$(SYSCONFDIR)/aopgate/bouncer.conf.example
	rm -rf $(DESTDIR)$(DATADIR)/aopgate
	rmdir --ignore-fail-on-non-empty $(DESTDIR)$(SYSCONFDIR)/aopgate 2>/dev/null || true
