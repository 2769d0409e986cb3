# SPDX-License-Identifier: GPL-2.0-only
# aopgate: `make` builds everything, `make test` runs every test.

BUILD     ?= build
CLANG     ?= clang
BPFTOOL   ?= bpftool
CC        ?= cc
PREFIX    ?= /usr/local
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux

ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')

PKGS      := libbpf libelf zlib openssl inih
# Recursive (=): evaluated after the deps target has installed pkg-config files.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   = $(shell pkg-config --libs $(PKGS))

CFLAGS    ?= -O2 -g
CFLAGS    += -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE
CPPFLAGS  += -Iinclude -Iuser -I$(BUILD)
BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) \
	      -Wall -Werror -Iinclude -I$(BUILD)

BPF_SRCS  := $(wildcard bpf/*.bpf.c)
BPF_OBJS  := $(patsubst bpf/%.bpf.c,$(BUILD)/%.bpf.o,$(BPF_SRCS))
SKELS     := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))

MAINS     := user/aopgate.c user/aopgated.c
LIB_SRCS  := $(filter-out $(MAINS),$(wildcard user/*.c))
LIB_OBJS  := $(patsubst user/%.c,$(BUILD)/user/%.o,$(LIB_SRCS))
BINS      := $(patsubst user/%.c,$(BUILD)/%,$(wildcard $(MAINS)))

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))

.PHONY: all deps test test-unit test-system bench clean install demo demo-down uninstall
.DELETE_ON_ERROR:

all: $(BINS) $(BPF_OBJS) $(UNIT_BINS)

# Installs missing build/test packages; a no-op when all are present.
deps:
	@scripts/deps.sh

$(BUILD)/.dir:
	@mkdir -p $(BUILD)/user $(BUILD)/tests && touch $@

$(BUILD)/vmlinux.h: | deps $(BUILD)/.dir
	$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@

$(BUILD)/%.bpf.o: bpf/%.bpf.c include/aopgate.h $(BUILD)/vmlinux.h | deps
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(BPFTOOL) gen skeleton $< > $@

$(BUILD)/user/%.o: user/%.c $(wildcard user/*.h) include/aopgate.h $(SKELS) | deps $(BUILD)/.dir
	$(CC) $(CPPFLAGS) $(CFLAGS) $(PKG_CFLAGS) -c $< -o $@

$(BUILD)/libaopgate.a: $(LIB_OBJS)
	rm -f $@ && ar rcs $@ $^

$(BINS): $(BUILD)/%: user/%.c $(BUILD)/libaopgate.a | deps
	$(CC) $(CPPFLAGS) $(CFLAGS) $(PKG_CFLAGS) $< $(BUILD)/libaopgate.a $(PKG_LIBS) -o $@

$(UNIT_BINS): $(BUILD)/tests/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(BUILD)/libaopgate.a $(SKELS) | deps $(BUILD)/.dir
	$(CC) $(CPPFLAGS) -Itests/unit $(CFLAGS) $(PKG_CFLAGS) $< $(BUILD)/libaopgate.a $(PKG_LIBS) -o $@

# Unit and packet-level tests, then system tests; one summary line at the end.
test: all
	@scripts/run-tests.sh $(BUILD) $(UNIT_BINS)

test-unit: all
	@scripts/run-tests.sh --unit-only $(BUILD) $(UNIT_BINS)

test-system: all
	@scripts/run-tests.sh --system-only $(BUILD)

# Benchmarks (tests/bench/run): every part, or some with BENCH="xdp flood".
# Parts: xdp flood reject handshake relay siege. Bench-only packages:
# scripts/deps.sh --bench. `make test` runs a smoke version of each.
BENCH      ?= xdp flood reject handshake relay siege
BENCH_BINS := $(BUILD)/tests/xdp_cost $(BUILD)/tests/tlsload $(BUILD)/tests/upstream \
	      $(BUILD)/tests/xdpflood

all: $(BENCH_BINS)

bench: all
	@scripts/deps.sh --bench
	@tests/bench/run --build $(BUILD) $(BENCH)

$(BUILD)/tests/xdp_cost: tests/bench/xdp_cost.c $(wildcard tests/unit/*.h) $(BUILD)/libaopgate.a $(SKELS) | deps $(BUILD)/.dir
	$(CC) $(CPPFLAGS) -Itests/unit $(CFLAGS) $(PKG_CFLAGS) $< $(BUILD)/libaopgate.a $(PKG_LIBS) -o $@

$(BUILD)/tests/tlsload $(BUILD)/tests/upstream: $(BUILD)/tests/%: tests/bench/%.c | deps $(BUILD)/.dir
	$(CC) $(CFLAGS) $(PKG_CFLAGS) $< $(PKG_LIBS) -lpthread -lm -o $@

$(BUILD)/tests/xdpflood.bpf.o: tests/bench/xdpflood.bpf.c $(BUILD)/vmlinux.h | deps $(BUILD)/.dir
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/tests/xdpflood.skel.h: $(BUILD)/tests/xdpflood.bpf.o
	$(BPFTOOL) gen skeleton $< name xdpflood_bpf > $@

$(BUILD)/tests/xdpflood: tests/bench/xdpflood.c $(BUILD)/tests/xdpflood.skel.h tests/unit/frame.h | deps
	$(CC) $(CPPFLAGS) -I$(BUILD)/tests -Itests/unit $(CFLAGS) $(PKG_CFLAGS) $< $(PKG_LIBS) -o $@

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
UNIT_INS  := $(wildcard dist/systemd/*.in)
UNITS     := $(notdir $(UNIT_INS:.in=))

# Installs under $(DESTDIR)$(PREFIX); the example configuration goes to
# $(SYSCONFDIR)/aopgate as *.example so an existing one is never replaced.
# Units are written at install time, so they name this PREFIX's paths.
install: $(BINS) $(BPF_OBJS)
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(LIBDIR)/aopgate \
		$(DESTDIR)$(DATADIR)/aopgate $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(SYSCONFDIR)/aopgate
	install -m 0755 $(BINS) $(DESTDIR)$(SBINDIR)/
	install -m 0644 $(BUILD)/gate.bpf.o $(DESTDIR)$(LIBDIR)/aopgate/
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

uninstall:
	rm -f $(addprefix $(DESTDIR)$(SBINDIR)/,$(notdir $(BINS))) \
		$(addprefix $(DESTDIR)$(UNITDIR)/,$(UNITS)) \
		$(addprefix $(DESTDIR)$(MANDIR)/man8/,$(notdir $(wildcard man/*.8))) \
		$(addprefix $(DESTDIR)$(MANDIR)/man5/,$(notdir $(wildcard man/*.5))) \
		$(DESTDIR)$(SYSCONFDIR)/aopgate/aopgate.conf.example
	rm -rf $(DESTDIR)$(LIBDIR)/aopgate $(DESTDIR)$(DATADIR)/aopgate
