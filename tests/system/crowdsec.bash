# SPDX-License-Identifier: GPL-2.0-only
# Two origins sharing bans through CrowdSec, on top of the agent's lab:
#
#   origin A ($LAB_O)  10.77.0.1 on $LAB_IF_O, the gate, an agent, and the
#                      CrowdSec Local API (with its log agent reading A's
#                      aopgated log) on 10.77.9.1:8081
#   origin B ($LAB_B)  10.77.1.1 on ${LAB}b0, the gate, an agent
#   client  ($LAB_C)   10.77.0.2 to A, and to B from the same address
#   A <-> B            10.77.9.1/30 - 10.77.9.2/30, ungated: B's bouncer
#                      reaches the LAPI over it
#
# Each origin runs aopgate-bouncer against its own pin root. CrowdSec runs
# from a configuration in the lab's directory (SQLite there, no Central
# API, the parser and scenario of dist/crowdsec/); the namespaces have no
# route off this machine, so nothing it does can leave it.

load agent

ORIGIN_B4=10.77.1.1
LAPI_ADDR=10.77.9.1
LAPI_PORT=8081

# cs_lab_up: the agent's lab, origin B, the A-B link, and a puller-free
# agent configuration for both origins (the stranger's refusals are not
# penalized at A before CrowdSec has seen five of them).
cs_lab_up() {
	lab_up
	LAB_B=${LAB}b
	PIN_B=/sys/fs/bpf/aopgate-test-$LAB_B
	lab_pin_root "$PIN_B"
	lab_netns "$LAB_B"
	lab_veth "$LAB_B" "${LAB}b0" "$LAB_C" "${LAB}c1"
	lab_addr "$LAB_B" "${LAB}b0" $ORIGIN_B4/24
	# The client reaches B from its one address, so a ban of it at A is
	# a ban of the same source at B.
	ip -n "$LAB_C" route add $ORIGIN_B4/32 dev "${LAB}c1" src $CLIENT4
	ip -n "$LAB_B" route add $CLIENT4/32 dev "${LAB}b0"
	lab_veth "$LAB_O" "${LAB}ab" "$LAB_B" "${LAB}ba"
	lab_addr "$LAB_O" "${LAB}ab" $LAPI_ADDR/30
	lab_addr "$LAB_B" "${LAB}ba" 10.77.9.2/30
	in_b ethtool -K "${LAB}b0" gro on >/dev/null 2>&1 || true
	in_client ethtool -K "${LAB}c1" gro on >/dev/null 2>&1 || true
	agent_conf "penalty_after = 50"
	sed -e "s|^pin_root = .*|pin_root = $PIN_B|" "$LAB_DIR/aopgate.conf" >"$LAB_DIR/aopgate-b.conf"
}

in_b() { lab_in "$LAB_B" "$@"; }

# gate_b ARGS...: the CLI against origin B's pin root.
gate_b() { in_b "$AOPGATE" --pin-root "$PIN_B" "$@"; }

# counter_b NAME: the packets of one of B's gate counters.
counter_b() {
	gate_b status --json | jq -r --arg n "$1" '.counters[$n].packets'
}

# origins_up: both gates and both agents (A with its nginx upstream).
origins_up() {
	agent_up
	gate_b attach -i "${LAB}b0" --gate-ports 443 --backend-ports 8080 -m native
	spawn agent-b "$LAB_B" "$AOPGATED" -c "$LAB_DIR/aopgate-b.conf"
	lab_wait_listen "$LAB_B" 443 5 || fail "origin B's agent does not listen on 443"
}

# cscli ARGS...: cscli against the lab's CrowdSec, in A where the LAPI is.
cscli_lab() { in_origin cscli -c "$CS/config.yaml" "$@"; }

# cs_decisions ARGS...: cscli decisions ARGS (add, delete), its output to cscli.log.
cs_decisions() { cscli_lab decisions "$@" >>"$LAB_DIR/cscli.log" 2>&1; }

# cs_up: CrowdSec's Local API and log agent in A, the dist/crowdsec/
# parser and scenario loaded from the files, A's aopgated log acquired;
# one bouncer key per origin in $CS/a.key and $CS/b.key.
cs_up() {
	local dist=$BATS_TEST_DIRNAME/../../dist/crowdsec
	CS=$LAB_DIR/cs
	mkdir -p "$CS/data" "$CS/parsers/s00-raw" "$CS/parsers/s01-parse" "$CS/scenarios"
	cp "$dist"/parsers/s00-raw/*.yaml "$CS/parsers/s00-raw/"
	cp "$dist"/parsers/s01-parse/*.yaml "$CS/parsers/s01-parse/"
	cp "$dist"/scenarios/*.yaml "$CS/scenarios/"
	ln -s /etc/crowdsec/patterns "$CS/patterns"
	echo 'simulation: off' >"$CS/simulation.yaml"
	cat >"$CS/acquis.yaml" <<-EOC
	filenames:
	  - $LAB_DIR/agent.log
	labels:
	  type: aopgated
	EOC
	# The stock profile, with bans short enough for a test to see them end.
	cat >"$CS/profiles.yaml" <<-EOC
	name: default_ip_remediation
	filters:
	 - Alert.Remediation == true && Alert.GetScope() == "Ip"
	decisions:
	 - type: ban
	   duration: ${CS_BAN:-2m}
	on_success: break
	EOC
	# No online_client: nothing is pushed to or pulled from the Central
	# API. The hub index is the package's, read only, for the local items.
	cat >"$CS/config.yaml" <<-EOC
	common:
	  daemonize: false
	  log_media: file
	  log_dir: $LAB_DIR/
	  log_level: info
	  working_dir: $CS
	config_paths:
	  config_dir: $CS/
	  data_dir: $CS/data/
	  simulation_path: $CS/simulation.yaml
	  hub_dir: /usr/share/crowdsec/hub/
	  index_path: /usr/share/crowdsec/hub/.index.json
	  notification_dir: $CS/notifications/
	  plugin_dir: /usr/lib/crowdsec/plugins/
	crowdsec_service:
	  acquisition_path: $CS/acquis.yaml
	  parser_routines: 1
	db_config:
	  type: sqlite
	  use_wal: false
	  db_path: $CS/data/crowdsec.db
	api:
	  client:
	    credentials_path: $CS/local_api_credentials.yaml
	  server:
	    listen_uri: $LAPI_ADDR:$LAPI_PORT
	    profiles_path: $CS/profiles.yaml
	prometheus:
	  enabled: false
	EOC
	cscli -c "$CS/config.yaml" machines add lab --auto -f "$CS/local_api_credentials.yaml" \
		>"$LAB_DIR/cscli.log" 2>&1 || fail "cscli machines add failed"
	sed -i "s|^url:.*|url: http://$LAPI_ADDR:$LAPI_PORT/|" "$CS/local_api_credentials.yaml"
	(umask 077
	 cscli -c "$CS/config.yaml" bouncers add origin-a -o raw >"$CS/a.key" 2>>"$LAB_DIR/cscli.log" &&
	 cscli -c "$CS/config.yaml" bouncers add origin-b -o raw >"$CS/b.key" 2>>"$LAB_DIR/cscli.log") ||
		fail "cscli bouncers add failed"
	cs_start
}

# cs_start: CrowdSec in A; waits until the LAPI listens and the log agent reads.
cs_start() {
	spawn crowdsec-out "$LAB_O" crowdsec -c "$CS/config.yaml"
	CS_PID=$LAB_SPAWNED
	lab_wait_listen "$LAB_O" $LAPI_PORT 20 || fail "the Local API does not listen"
	wait_for 20 grep -q "Starting processing data" "$LAB_DIR/crowdsec.log" ||
		fail "CrowdSec does not read the agent's log"
}

# bouncer_up NAME NS PIN KEY: aopgate-bouncer for one origin, pulling every second.
bouncer_up() {
	cat >"$LAB_DIR/$1.conf" <<-EOC
	[bouncer]
	crowdsec_lapi = http://$LAPI_ADDR:$LAPI_PORT
	crowdsec_key_file = $4
	crowdsec_interval = 1s
	pin_root = $3
	metrics = 127.0.0.1:9902
	log_level = debug
	${BOUNCER_EXTRA:-}
	EOC
	spawn "$1" "$2" "$AOPGATE_BUILD/aopgate-bouncer" -c "$LAB_DIR/$1.conf"
	echo "$LAB_SPAWNED" >"$LAB_DIR/$1.pid"
	wait_for 10 grep -q "event=start result=ok" "$LAB_DIR/$1.log" ||
		fail "$1 did not start"
}

# bouncers_up: one bouncer per origin.
bouncers_up() {
	bouncer_up bouncer-a "$LAB_O" "$PIN" "$CS/a.key"
	bouncer_up bouncer-b "$LAB_B" "$PIN_B" "$CS/b.key"
}

# wait_for SECONDS CMD...: until CMD succeeds, polling every 0.2 s.
wait_for() {
	local n=$(($1 * 5))
	shift
	for _ in $(seq "$n"); do
		"$@" && return 0
		sleep 0.2
	done
	return 1
}

# banned GATE_FN ADDR: ADDR is in that origin's deny list as a CrowdSec ban.
banned() {
	"$1" deny list --json | jq -e --arg s "$2" \
		'.[] | select(.source == $s and .kind == "crowdsec")' >/dev/null
}

# not_banned GATE_FN ADDR: no CrowdSec ban of ADDR at that origin.
not_banned() { ! banned "$@"; }

# banned_at_both ADDR: waits until both origins hold a CrowdSec ban of ADDR.
banned_at_both() {
	wait_for 10 banned gate "$1" || fail "no ban at A"
	wait_for 10 banned gate_b "$1" || fail "no ban at B"
}

# bouncer_metric NS NAME_AND_LABELS: one sample of a bouncer's /metrics.
bouncer_metric() {
	lab_in "$1" curl -s --max-time 3 http://127.0.0.1:9902/metrics |
		awk -v k="$2 " 'index($0, k) == 1 { print $2; exit }'
}

# syn_b: one connection attempt from the client to B's gate port; fails when dropped.
syn_b() {
	in_client timeout 3 socat -T 1 - "TCP:$ORIGIN_B4:443,connect-timeout=1" </dev/null
}
