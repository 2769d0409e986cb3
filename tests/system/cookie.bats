#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# SYN cookies answered by the gate, on by default where the kernel side is
# ready: at tc, and in native XDP (XDP_TX) with its tc companion handing
# the listener the request socket. In both, real clients (curl, and curl
# with its certificate through the agent) connect through the cookie path
# with their TCP options kept, and spoofed SYN floods (hping3 in the
# client ns, forging sources, bounded in count and time) neither stop a
# puller nor fill pending.

load agent

setup_file() {
	export PKI=$BATS_FILE_TMPDIR/pki
	pki_make "$PKI"
}

setup() {
	lab_up
	# blob: a transfer long enough to look at; page: one pull. Without an
	# agent a flow stays pending, under the gate's budget for a handshake
	# (pending_packets), which a 4 MB answer's ACKs can exceed.
	dd if=/dev/zero of="$LAB_DIR/blob" bs=1M count=4 status=none
	head -c 1024 /dev/zero >"$LAB_DIR/page"
}

teardown() { lab_down; }

# origin_http: a plain HTTP server on 443 in the origin ns serving $LAB_DIR.
origin_http() {
	spawn http "$LAB_O" timeout 120 python3 -m http.server 443 --bind :: --directory "$LAB_DIR"
	wait_port 443
}

# cookies_on MODE: attach in MODE (tc or native) with syncookies on. At tc
# attach finds the kernel side ready and turns them on by itself. Native
# XDP brings its tc companion, but on a veth attach leaves cookies off:
# XDP_TX reaches the peer only while the peer runs XDP itself (a NIC puts
# the frame on the wire), so the client's end gets a pass program first
# and the operator's set turns them on.
cookies_on() {
	if [ "$1" = tc ]; then
		run gate_attach -m tc
		assert_success
		assert_output --partial "syncookies: on: the default; kernel side ready"
		return
	fi
	run gate_attach -m "$1"
	assert_success
	assert_output --partial "syncookies: off: the default for native XDP on a veth"
	assert_output --partial "tc companion on $LAB_IF_O"
	gate status | grep -E "^attached .* native .*tc companion link id [0-9]+"
	lab_xdp_pass "$LAB_C" "$LAB_IF_C" "$AOPGATE_BUILD/empty.bpf.o"
	gate set syncookies on
}

# pulls N: N one-request pulls of the 1 KB page from the client ns;
# prints how many succeeded.
# Each failure's curl exit status and time go to PULL_FAILS.
pulls() {
	local ok=0 rc
	for _ in $(seq "$1"); do
		rc=0
		in_client curl -s -o /dev/null -m 3 -w '%{time_connect} %{time_total}' \
			"http://$ORIGIN4:443/page" >"$LAB_DIR/pull.out" || rc=$?
		if [ "$rc" -eq 0 ]; then
			ok=$((ok + 1))
		else
			echo "curl exit $rc, connect/total $(cat "$LAB_DIR/pull.out") s" >>"$LAB_DIR/pull.fails"
		fi
	done
	echo "$ok"
}

# pull_fails: what pulls recorded of its failures, and the counters that
# tell where a connection was lost.
pull_fails() {
	cat "$LAB_DIR/pull.fails" 2>/dev/null || true
	# Every counter that moved, so a pull that failed shows where it went.
	gate status --json | jq -r '[.counters | to_entries[] | select(.value.packets > 0) |
		"\(.key) \(.value.packets)"] | join("; ")'
}

# The behaviours, each run for both attachments (MODE: native or tc).

# curl_keeps_wscale MODE
curl_keeps_wscale() {
	origin_http
	cookies_on "$1"
	spawn curl "$LAB_C" timeout 20 curl -sS -o /dev/null --limit-rate 100k "http://$ORIGIN4:443/blob"
	local out=
	# 4 MB at 100 KB/s: the connection lives long enough to be looked at.
	for _ in $(seq 100); do
		out=$(in_origin ss -Htin state established "sport = :443")
		[[ $out == *wscale* ]] && break
		sleep 0.1
	done
	echo "$out"
	# wscale:SND,RCV: the client's scale, and the 7 the cookie announced.
	[[ $out =~ wscale:[0-9]+,7 ]] || fail "no window scaling on the origin's socket: $out; $(gate status | grep -E "syncookie|pass-|drop-")"
	[ "$(counter syncookie-sent)" -ge 1 ]
	[ "$(counter syncookie-ok)" -ge 1 ]
	[ "$(counter pass-syn)" -eq 0 ]
}

# forged_flood_puller MODE
forged_flood_puller() {
	origin_http
	cookies_on "$1"
	# 20,000 SYNs at most, 10 s at most, all with the puller's source.
	spawn flood "$LAB_C" timeout 10 hping3 -q -S -p 443 -a "$CLIENT4" -i u200 -c 20000 "$ORIGIN4"
	local ok
	ok=$(pulls 100)
	lab_stop "$LAB_SPAWNED"
	echo "pulls: $ok/100, syncookie-sent $(counter syncookie-sent)"
	pull_fails
	[ "$ok" -ge 99 ]
	[ "$(counter syncookie-sent)" -ge 1000 ]
	[ "$(counter drop-ratelimit)" -eq 0 ]
	[ "$(counter drop-budget)" -eq 0 ]
}

# forged_flood_mtls MODE: the same flood against the puller that matters,
# one with its certificate, through the agent; its first pull makes it
# verified and in good standing before the flood starts.
forged_flood_mtls() {
	cookies_on "$1"
	agent_files
	origin_up
	agent_start
	fetch edge1
	# 4,000 SYNs/s, 120,000 at most, 30 s at most, all with the puller's
	# source; still running when the 100 pulls (about 10 s) end.
	spawn flood "$LAB_C" timeout 30 hping3 -q -S -p 443 -a "$CLIENT4" -i u250 -c 120000 "$ORIGIN4"
	local flood=$LAB_SPAWNED ok=0 sent
	for _ in $(seq 100); do
		fetch edge1 >/dev/null 2>&1 && ok=$((ok + 1))
	done
	sent=$(counter syncookie-sent)
	kill -0 "$flood" || fail "the flood ended before the pulls did"
	lab_stop "$flood"
	echo "mTLS pulls: $ok/100, syncookie-sent $sent, drop-ratelimit $(counter drop-ratelimit)"
	grep -E "event=(refused|close)" "$LAB_DIR/agent.log" | tail -5 || true
	[ "$ok" -ge 99 ]
	[ "$sent" -ge 1000 ]
	[ "$(counter drop-ratelimit)" -eq 0 ]
	[ "$(counter drop-penalty)" -eq 0 ]
}

# random_flood_pending MODE
random_flood_pending() {
	origin_http
	cookies_on "$1"
	# 20,000 SYNs at most, 10 s at most, every one from another address.
	in_client timeout 10 hping3 -q -S -p 443 --rand-source -i u100 -c 20000 "$ORIGIN4" || true
	local pend
	pend=$(gate status --json | jq -r '.maps.pending.entries + .maps.pending4.entries')
	echo "pending after the flood: $pend, syncookie-sent $(counter syncookie-sent)"
	[ "$pend" -eq 0 ]
	[ "$(counter syncookie-sent)" -ge 1000 ]
	[ "$(pulls 3)" -eq 3 ]
	[ "$(gate status --json | jq -r '.maps.pending.entries + .maps.pending4.entries')" -ge 1 ]
}

# auto_mode MODE
auto_mode() {
	origin_http
	cookies_on "$1"
	gate set syncookies auto
	gate set syncookie_rate 200
	# Below the rate: the SYNs take the path without cookies.
	[ "$(pulls 5)" -eq 5 ]
	echo "below: pass-syn $(counter pass-syn), syncookie-sent $(counter syncookie-sent)"
	[ "$(counter pass-syn)" -ge 5 ]
	[ "$(counter syncookie-sent)" -eq 0 ]
	# Above it: 5,000 random-source SYNs at most, 10 s at most, ~1,000/s.
	spawn flood "$LAB_C" timeout 10 hping3 -q -S -p 443 --rand-source -i u1000 -c 5000 "$ORIGIN4"
	for _ in $(seq 50); do
		[ "$(counter syncookie-sent)" -ge 1 ] && break
		sleep 0.1
	done
	local ok ok_before
	ok_before=$(counter syncookie-ok)
	ok=$(pulls 20)
	lab_stop "$LAB_SPAWNED"
	echo "above: pulls $ok/20, syncookie-sent $(counter syncookie-sent), syncookie-ok $ok_before -> $(counter syncookie-ok)"
	[ "$ok" -eq 20 ]
	[ "$(counter syncookie-sent)" -ge 200 ]
	# The puller's own connections went through the cookie path.
	[ "$(counter syncookie-ok)" -ge $((ok_before + 20)) ]
}

@test "a curl client connects through the cookie path and its transfer keeps window scaling (-m native)" { curl_keeps_wscale native; }
@test "a curl client connects through the cookie path and its transfer keeps window scaling (-m tc)" { curl_keeps_wscale tc; }
@test "a flood forged with the puller's address does not stop the puller (-m native)" { forged_flood_puller native; }
@test "a flood forged with the puller's address does not stop the puller (-m tc)" { forged_flood_puller tc; }
@test "a puller with its certificate keeps 99 of 100 pulls through the agent under a flood forged with its address (-m native)" { forged_flood_mtls native; }
@test "a puller with its certificate keeps 99 of 100 pulls through the agent under a flood forged with its address (-m tc)" { forged_flood_mtls tc; }
@test "a random-source SYN flood leaves pending empty and a new puller still connects (-m native)" { random_flood_pending native; }
@test "a random-source SYN flood leaves pending empty and a new puller still connects (-m tc)" { random_flood_pending tc; }

@test "syncookies auto: below syncookie_rate SYNs take the normal path, above it cookies, and a puller connects in both (-m native)" { auto_mode native; }
@test "syncookies auto: below syncookie_rate SYNs take the normal path, above it cookies, and a puller connects in both (-m tc)" { auto_mode tc; }

@test "a client with its certificate gets the origin's answer through the agent over a tc gate with cookies on" {
	agent_up tc
	gate status | grep -E "^syncookies +on"
	run fetch edge1
	assert_success
	assert_output "hello $CLIENT4"
	run fetch edge1 --v6
	assert_success
	assert_output "hello $CLIENT6"
	echo "syncookie-ok $(counter syncookie-ok), pass-verified $(counter pass-verified)"
	[ "$(counter syncookie-ok)" -ge 2 ]
	[ "$(counter pass-syn)" -eq 0 ]
	[ "$(counter pass-verified)" -ge 1 ]
}
