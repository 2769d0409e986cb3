#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# `make install` into a DESTDIR, and documentation that covers every verb
# and every directive.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

TOP=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
: "${AOPGATE_BUILD:=$TOP/build}"

setup() {
	DEST=$(mktemp -d "${BATS_TMPDIR:-/tmp}/aopgate-dest.XXXXXX")
}

teardown() {
	rm -rf "$DEST"
}

install_tree() {
	make -s -C "$TOP" BUILD="$AOPGATE_BUILD" install DESTDIR="$DEST" PREFIX=/usr >/dev/null
}

@test "make install puts binaries, data, man pages and units under DESTDIR, and no BPF object" {
	install_tree
	for f in usr/sbin/aopgate usr/sbin/aopgated; do
		[ -x "$DEST/$f" ] || fail "$f is missing or not executable"
	done
	for f in usr/share/aopgate/cloudflare-origin-pull-ca.pem \
		usr/share/aopgate/cloudflare-ips.txt \
		usr/share/man/man8/aopgate.8 usr/share/man/man8/aopgated.8 \
		usr/share/man/man5/aopgate.conf.5 \
		usr/lib/systemd/system/aopgate@.service \
		usr/lib/systemd/system/aopgated.service \
		usr/lib/sysusers.d/aopgate.conf \
		etc/aopgate/aopgate.conf.example; do
		[ -f "$DEST/$f" ] || fail "$f is missing"
	done
	run grep -h '^Exec' "$DEST"/usr/lib/systemd/system/*.service
	assert_output --partial "/usr/sbin/aopgate attach -i %i"
	assert_output --partial "/usr/sbin/aopgated -c /etc/aopgate/aopgate.conf"
	refute_output --partial "@"
	# The program travels inside aopgate (its skeleton): nothing loads a file.
	run find "$DEST" -name '*.bpf.o'
	assert_output ""
	run strings "$DEST/usr/sbin/aopgate"
	assert_output --partial "flow_key"
}

@test "make uninstall removes what make install put there" {
	install_tree
	make -s -C "$TOP" BUILD="$AOPGATE_BUILD" uninstall DESTDIR="$DEST" PREFIX=/usr >/dev/null
	run find "$DEST" -type f
	assert_output ""
	run find "$DEST" -mindepth 1 -name '*aopgate*'
	assert_output ""
}

@test "the example configuration passes aopgated -t once its files exist" {
	install_tree
	conf=$DEST/etc/aopgate/aopgate.conf.example
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj /CN=origin.example -keyout "$DEST/origin.key" -out "$DEST/origin.pem" 2>/dev/null
	sed -e "s|/etc/aopgate/origin|$DEST/origin|" \
		-e "s|/usr/share/aopgate|$DEST/usr/share/aopgate|" \
		-e "s|^user = .*||" "$conf" >"$DEST/test.conf"
	run "$AOPGATE_BUILD/aopgated" -t -c "$DEST/test.conf"
	assert_success
}

@test "every CLI verb and option is in aopgate(8)" {
	man=$TOP/man/aopgate.8
	for verb in $("$AOPGATE_BUILD/aopgate" --help | awk '/^  [a-z]+ /{print $1}'); do
		grep -q "^\.B aopgate $verb" "$man" || fail "verb $verb is not in aopgate(8)"
	done
	for opt in $("$AOPGATE_BUILD/aopgate" --help | grep -o -- '--[a-z-]*' | sort -u); do
		grep -q -- "${opt//-/\\\\-}" "$man" || fail "option $opt is not in aopgate(8)"
	done
}

@test "every runtime setting of aopgate --help is in aopgate(8)" {
	man=$TOP/man/aopgate.8
	n=0
	for key in $("$AOPGATE_BUILD/aopgate" --help | awk '/^Settings:/{s=1; next} s && /^    [a-z_]+ /{print $1}'); do
		grep -q "^\.B $key\b" "$man" || fail "setting $key is not in aopgate(8)"
		n=$((n + 1))
	done
	[ "$n" -ge 7 ]
}

@test "aopgate.conf(5) is the one aopgated -D man generates from the directive table" {
	run diff -u "$TOP/man/aopgate.conf.5" <("$AOPGATE_BUILD/aopgated" -D man)
	assert_success
}

@test "every configuration directive is in aopgate.conf(5)" {
	man=$TOP/man/aopgate.conf.5
	n=0
	for d in $("$AOPGATE_BUILD/aopgated" -D | awk '/^  [a-z_]+ /{print $1}'); do
		grep -q "^\.B $d\$" "$man" || fail "directive $d is not in aopgate.conf(5)"
		n=$((n + 1))
	done
	[ "$n" -gt 20 ]
}

@test "the systemd units pass systemd-analyze verify" {
	make -s -C "$TOP" BUILD="$AOPGATE_BUILD" install PREFIX="$DEST/usr" \
		SYSCONFDIR="$DEST/etc" >/dev/null
	units=$DEST/usr/lib/systemd/system
	cp "$units/aopgate@.service" "$units/aopgate@lo.service"
	run systemd-analyze verify --man=no "$units/aopgated.service" "$units/aopgate@lo.service"
	assert_success
	assert_output ""
}

@test "the sysusers.d file creates the aopgate system user" {
	install_tree
	run systemd-sysusers --root="$DEST" "$DEST/usr/lib/sysusers.d/aopgate.conf"
	assert_success
	run grep '^aopgate:' "$DEST/etc/passwd"
	assert_output --regexp '^aopgate:x:[0-9]+:[0-9]+:aopgate agent:/:/usr/sbin/nologin$'
}

@test "both units are hardened: systemd-analyze security --offline rates them OK, exposure 4.9 or less" {
	install_tree
	units=$DEST/usr/lib/systemd/system
	cp "$units/aopgate@.service" "$units/aopgate@eth0.service"
	for u in aopgated.service aopgate@eth0.service; do
		run systemd-analyze security --offline=yes --no-pager "$units/$u"
		line=$(grep 'Overall exposure level' <<<"$output")
		[[ $line =~ :\ ([0-9]+)\.([0-9])\ (OK|SAFE|PERFECT) ]] || fail "$u: $line"
		[ "${BASH_REMATCH[1]}${BASH_REMATCH[2]}" -le 49 ] || fail "$u: $line"
	done
	# The gate's maps stay reachable, and the agent tells systemd when it is ready.
	grep -q '^ReadWritePaths=/sys/fs/bpf$' "$units/aopgate@.service"
	grep -q '^SystemCallFilter=@system-service bpf$' "$units/aopgated.service"
	grep -q '^Type=notify$' "$units/aopgated.service"
}
