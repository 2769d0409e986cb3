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

.PHONY: all deps test test-unit test-system clean install
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

clean:
	rm -rf $(BUILD)
