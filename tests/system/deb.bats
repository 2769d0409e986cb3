#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# The Debian package (debian/): built from a copy of the tree with
# dpkg-buildpackage, checked by lintian, installed, used and purged on this
# host as an operator would.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

TOP=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)

# The tree's files, without build outputs: what git tracks (and new files
# it does not ignore) in a checkout, everything but build*/ otherwise.
tree_files() {
	if git -C "$TOP" rev-parse --git-dir >/dev/null 2>&1; then
		git -C "$TOP" ls-files -co --exclude-standard
	else
		(cd "$TOP" && find . -path './build*' -prune -o -type f -print)
	fi
}

setup_file() {
	export DEB_DIR=$BATS_FILE_TMPDIR/deb
	mkdir -p "$DEB_DIR/aopgate"
	tree_files | grep -v '^build' | tar -C "$TOP" -cf - -T - | tar -C "$DEB_DIR/aopgate" -xf -
	# TMPDIR: the tools' scratch files (debhelper's, lintian's) go with the test's.
	export TMPDIR=$BATS_FILE_TMPDIR
	(cd "$DEB_DIR/aopgate" && dpkg-buildpackage -us -uc -b) >"$DEB_DIR/build.log" 2>&1 ||
		{ tail -30 "$DEB_DIR/build.log" >&3; return 1; }
	export DEB=$DEB_DIR/aopgate_$(cat "$TOP/VERSION")_$(dpkg --print-architecture).deb
}

# The install tests change the host: they run only where no aopgate package
# is installed already, and put back the user they may have created.
setup() {
	PRESENT_USER=0
	getent passwd aopgate >/dev/null && PRESENT_USER=1
	WORK=$(mktemp -d "${BATS_TMPDIR:-/tmp}/aopgate-deb.XXXXXX")
}

teardown() {
	if [ -n "${INSTALLED:-}" ]; then
		dpkg --purge aopgate >/dev/null 2>&1 || true
		[ "$PRESENT_USER" -eq 1 ] || userdel aopgate 2>/dev/null || true
	fi
	rm -rf "$WORK"
}

install_deb() {
	if dpkg-query -W -f='${Status}' aopgate 2>/dev/null | grep -q 'ok installed'; then
		skip "an aopgate package is already installed on this host; this test installs and purges its own"
	fi
	INSTALLED=1
	run dpkg -i "$DEB"
	assert_success
}

@test "dpkg-buildpackage builds aopgate_VERSION.deb, and the changelog's version is VERSION" {
	[ -f "$DEB" ] || fail "no $DEB: $(ls "$DEB_DIR")"
	run dpkg-parsechangelog -l "$TOP/debian/changelog" -S Version
	assert_output "$(cat "$TOP/VERSION")"
	run dpkg-deb -f "$DEB" Package Version
	assert_output "Package: aopgate
Version: $(cat "$TOP/VERSION")"
}

@test "lintian finds no error and no warning in the package" {
	run lintian --fail-on error,warning "$DEB"
	assert_success
	refute_output --regexp '^[EW]: '
}

@test "the package holds the binaries, units, sysusers file, man pages, data and example, and no BPF object" {
	run dpkg-deb -c "$DEB"
	for f in usr/sbin/aopgate usr/sbin/aopgated \
		usr/lib/systemd/system/aopgated.service usr/lib/systemd/system/aopgate@.service \
		usr/lib/sysusers.d/aopgate.conf \
		usr/share/man/man8/aopgate.8.gz usr/share/man/man8/aopgated.8.gz \
		usr/share/man/man5/aopgate.conf.5.gz \
		usr/share/aopgate/cloudflare-origin-pull-ca.pem usr/share/aopgate/cloudflare-ips.txt \
		etc/aopgate/aopgate.conf.example; do
		assert_output --partial "./$f"
	done
	refute_output --partial ".bpf.o"
	run dpkg-deb -f "$DEB" Depends
	assert_output --partial "libbpf1"
	assert_output --partial "libssl3"
}

@test "installed, the package creates the aopgate user, its example passes aopgated -t, and purge removes it all" {
	install_deb
	run getent passwd aopgate
	assert_success
	run aopgate --version
	assert_output "aopgate $(cat "$TOP/VERSION")"
	# Installing neither enables nor starts a unit: both need the operator.
	run systemctl is-enabled aopgated.service
	refute_output enabled
	# The example as an operator fills it in: the origin's certificate and
	# key where it names them (here in a directory of the test's).
	chmod 0755 "$WORK"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj /CN=origin.example -keyout "$WORK/origin.key" -out "$WORK/origin.pem" 2>/dev/null
	chmod 0600 "$WORK/origin.key"
	sed -e "s|/etc/aopgate/origin|$WORK/origin|" /etc/aopgate/aopgate.conf.example >"$WORK/aopgate.conf"
	run aopgated -t -c "$WORK/aopgate.conf"
	assert_success
	[ -f /usr/share/man/man5/aopgate.conf.5.gz ] || fail "aopgate.conf(5) is not installed"

	run dpkg --purge aopgate
	assert_success
	for f in /usr/sbin/aopgate /usr/sbin/aopgated /usr/lib/systemd/system/aopgated.service \
		/etc/aopgate/aopgate.conf.example /usr/share/aopgate; do
		[ ! -e "$f" ] || fail "$f is still there after purge"
	done
}
