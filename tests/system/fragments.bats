#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# IPv6 fragments against the gate on a real veth, with the origin's own
# reassembly behind it: fragmented TCP must not reach a GATE or BACKEND
# port, whatever protocol each fragment header names, while fragmented
# UDP to an unprotected port still arrives. The client's frames are
# crafted (tests/system/frag6.py); the origin's kernel counters say what
# its IPv6 reassembly, TCP and UDP saw.

load lab

setup() {
	lab_up
	gate_attach -m native
	MAC=$(in_origin ip -j link show "$LAB_IF_O" | jq -r '.[0].address')
}
teardown() { lab_down; }

# frag6 ARGS...: crafted fragments from the client to the origin, 5 s at most.
frag6() {
	in_client timeout 5 python3 "$BATS_TEST_DIRNAME/frag6.py" \
		"$LAB_IF_C" "$MAC" "$CLIENT6" "$ORIGIN6" "$@"
}

# snmp6 NAME: a counter of the origin's /proc/net/snmp6 (Ip6ReasmOKs, ...).
snmp6() {
	in_origin awk -v n="$1" '$1 == n { print $2 }' /proc/net/snmp6
}

# tcp_in NS: the segments TCP received in namespace NS (Tcp InSegs, both
# families).
tcp_in() {
	lab_in "$1" awk '$1 == "Tcp:" { if (!c) { for (i = 2; i <= NF; i++)
		if ($i == "InSegs") c = i } else print $c }' /proc/net/snmp
}

# seen: the packets the gate has counted, under every counter.
seen() {
	gate status --json | jq '[.counters[].packets] | add'
}

# wait_seen N: until the gate has counted N more packets than at
# `remember` (3 s), so the frames are known to have gone through it; then
# a moment for the origin's stack to finish with what passed.
wait_seen() {
	for _ in $(seq 30); do
		[ "$(seen)" -ge $((SEEN + $1)) ] && break
		sleep 0.1
	done
	[ "$(seen)" -ge $((SEEN + $1)) ] || fail "the gate counted $(($(seen) - SEEN)) packets, not $1"
	sleep 0.3
}

# no_connection PORT: no TCP socket on PORT in the origin ns but the listener.
no_connection() {
	run in_origin ss -Htna "sport = :$1"
	refute_output --regexp "SYN-RECV|ESTAB"
}

# remember: the counters the tests compare with afterwards.
remember() {
	REASM_REQ=$(snmp6 Ip6ReasmReqds)
	REASM_OK=$(snmp6 Ip6ReasmOKs)
	UDP_NOPORTS=$(snmp6 Udp6NoPorts)
	TCP_O=$(tcp_in "$LAB_O")
	TCP_C=$(tcp_in "$LAB_C")
	SEEN=$(seen)
}

# tcp_untouched: neither the origin's TCP nor the client's saw a segment
# since `remember` (no SYN in, no SYN-ACK or RST back).
tcp_untouched() {
	[ "$(tcp_in "$LAB_O")" -eq "$TCP_O" ] || fail "the origin's TCP got $(($(tcp_in "$LAB_O") - TCP_O)) segments"
	[ "$(tcp_in "$LAB_C")" -eq "$TCP_C" ] || fail "the client's TCP got $(($(tcp_in "$LAB_C") - TCP_C)) segments"
}

@test "IPv6: a SYN to a BACKEND port in two TCP fragments is dropped before reassembly" {
	listen 8080
	remember
	frag6 --l4 tcp --dport 8080 --count 3
	wait_seen 6
	[ "$(snmp6 Ip6ReasmReqds)" -eq "$REASM_REQ" ]
	[ "$(snmp6 Ip6ReasmOKs)" -eq "$REASM_OK" ]
	tcp_untouched
	no_connection 8080
	# The first fragment holds the TCP header: judged like any SYN to
	# 8080. The second holds none: dropped as a TCP fragment.
	[ "$(counter drop-backend)" -eq 3 ]
	[ "$(counter drop-fragment)" -eq 3 ]
}

# syn_to_gate_port_dropped: a SYN to 443 in two TCP fragments reaches
# neither reassembly nor TCP, whichever hook the gate is on.
syn_to_gate_port_dropped() {
	listen 443
	remember
	frag6 --l4 tcp --dport 443 --count 3
	wait_seen 6
	[ "$(snmp6 Ip6ReasmReqds)" -eq "$REASM_REQ" ]
	[ "$(snmp6 Ip6ReasmOKs)" -eq "$REASM_OK" ]
	tcp_untouched
	no_connection 443
	# Both fragments: the first, though it holds a SYN the gate would
	# admit whole, because a fragmented TCP segment is never completed.
	[ "$(counter drop-fragment)" -eq 6 ]
}

@test "IPv6: a SYN to a GATE port in two TCP fragments is dropped before reassembly" {
	syn_to_gate_port_dropped
}

@test "tc: a SYN to a GATE port in two IPv6 TCP fragments is dropped before reassembly" {
	gate detach -i "$LAB_IF_O"
	gate_attach -m tc
	syn_to_gate_port_dropped
}

@test "IPv6: with frag_pass on, a SYN to a GATE port in two TCP fragments reassembles and is answered" {
	# The counterpart of the tests above: what they find missing does
	# arrive when the gate lets fragments through.
	listen 443
	gate set frag_pass on
	remember
	frag6 --l4 tcp --dport 443 --count 3
	wait_seen 6
	[ "$(snmp6 Ip6ReasmOKs)" -eq $((REASM_OK + 3)) ]
	[ "$(tcp_in "$LAB_O")" -ge $((TCP_O + 3)) ]
	# The SYN-ACKs reach the client, whose TCP has no socket for them.
	[ "$(tcp_in "$LAB_C")" -ge $((TCP_C + 3)) ]
	# One tuple: the first SYN opens a pending flow, the others are its
	# retransmissions.
	[ "$(counter pass-syn)" -eq 1 ]
	[ "$(counter pass-pending)" -ge 2 ]
}

@test "IPv6: fragments naming UDP are reassembled as UDP, even with a TCP header to a BACKEND or GATE port in the second" {
	listen 8080
	listen 443
	remember
	# A UDP datagram to a closed port; the second fragment starts with a
	# SYN to 8080 (then 443), which the gate, finding no port in a
	# non-first fragment, passes as another protocol's.
	frag6 --l4 udp --dport 9998 --data 64 --split 32 --rest-tcp 8080
	frag6 --l4 udp --dport 9998 --data 64 --split 32 --rest-tcp 443
	wait_seen 4
	[ "$(snmp6 Ip6ReasmOKs)" -eq $((REASM_OK + 2)) ]
	[ "$(snmp6 Udp6NoPorts)" -eq $((UDP_NOPORTS + 2)) ]
	tcp_untouched
	no_connection 8080
	no_connection 443
	[ "$(counter pass-other)" -ge 4 ]
}

@test "IPv6: a TCP SYN in fragments naming UDP is dropped as UDP to a protected port" {
	listen 8080
	listen 443
	remember
	# The first fragment's header, read as UDP, is to 8080 (then 443):
	# UDP to a protected port is dropped, so nothing can reassemble.
	frag6 --l4 tcp --dport 8080 --nh-first 17 --nh-rest 17 --count 2
	frag6 --l4 tcp --dport 443 --nh-first 17 --nh-rest 17 --count 2
	wait_seen 8
	[ "$(snmp6 Ip6ReasmOKs)" -eq "$REASM_OK" ]
	tcp_untouched
	no_connection 8080
	no_connection 443
	[ "$(counter drop-non-tcp)" -eq 4 ]
}

@test "IPv6: a first fragment naming UDP and a second naming TCP do not reach TCP" {
	listen 8080
	remember
	frag6 --l4 udp --dport 9998 --data 64 --split 32 --rest-tcp 8080 --nh-rest 6 --count 2
	wait_seen 4
	[ "$(snmp6 Ip6ReasmOKs)" -eq "$REASM_OK" ]
	tcp_untouched
	no_connection 8080
	[ "$(counter drop-fragment)" -eq 2 ]
}

@test "IPv6: with frag_pass on, a datagram whose first fragment names UDP is UDP, whatever the second names" {
	# The origin takes the protocol from the first fragment: the second's
	# TCP header (to 8080) arrives as UDP payload, to a closed UDP port.
	listen 8080
	gate set frag_pass on
	remember
	frag6 --l4 udp --dport 9998 --data 64 --split 32 --rest-tcp 8080 --nh-rest 6 --count 2
	wait_seen 4
	[ "$(snmp6 Ip6ReasmOKs)" -eq $((REASM_OK + 2)) ]
	[ "$(snmp6 Udp6NoPorts)" -eq $((UDP_NOPORTS + 2)) ]
	tcp_untouched
	no_connection 8080
}

@test "IPv6: a first fragment naming TCP to a BACKEND port and a second naming UDP do not reach TCP" {
	listen 8080
	remember
	frag6 --l4 tcp --dport 8080 --nh-rest 17 --count 2
	wait_seen 4
	[ "$(snmp6 Ip6ReasmOKs)" -eq "$REASM_OK" ]
	tcp_untouched
	no_connection 8080
	[ "$(counter drop-backend)" -eq 2 ]
}

@test "IPv6: a first fragment naming TCP to a GATE port and a second naming UDP do not reach TCP" {
	# The second fragment passes, as a non-first fragment of UDP would; the
	# origin would complete the TCP segment with it, since its reassembly
	# takes the protocol from the first fragment alone. So the first
	# fragment of TCP to a GATE port is the one dropped, SYN or not.
	listen 443
	remember
	frag6 --l4 tcp --dport 443 --nh-rest 17 --count 2
	wait_seen 4
	[ "$(snmp6 Ip6ReasmOKs)" -eq "$REASM_OK" ]
	tcp_untouched
	no_connection 443
	[ "$(counter drop-fragment)" -eq 2 ]
	[ "$(counter pass-syn)" -eq 0 ]
}

@test "IPv6: a fragmented UDP datagram to an unprotected port is reassembled and received" {
	# The control for the tests above: crafted fragments do reach the
	# origin, reassemble and arrive.
	spawn udp-9999 "$LAB_O" timeout 20 socat -u UDP6-RECV:9999 -
	for _ in $(seq 50); do
		[[ $(in_origin ss -Hlun "sport = :9999") == *9999* ]] && break
		sleep 0.1
	done
	remember
	frag6 --l4 udp --dport 9999 --data 64 --split 32
	for _ in $(seq 30); do
		grep -q frag6- "$LAB_DIR/udp-9999.log" && break
		sleep 0.1
	done
	run cat "$LAB_DIR/udp-9999.log"
	assert_output --partial frag6-frag6-
	[ "$(snmp6 Ip6ReasmOKs)" -eq $((REASM_OK + 1)) ]
	tcp_untouched
}
