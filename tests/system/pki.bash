# SPDX-License-Identifier: GPL-2.0-only
# A test PKI made with the openssl CLI, plain bash so the system tests and
# the benchmarks share it: an edge CA and another CA, the origin's server
# certificate, and client certificates for each refusal reason, issued
# through `openssl ca` so that dates and revocation (a CRL) are real.

# pki_make DIR: CAs, the server certificate and the client certificates
# each test uses, through `openssl ca` so dates and revocation are real.
pki_make() {
	local d=$1
	mkdir -p "$d" && cd "$d" || return 1
	_ca edge "Edge CA"
	_ca other "Other CA"
	_leaf edge server origin.test "subjectAltName=DNS:origin.test,DNS:pinned.test,DNS:other.test,DNS:tls.test,DNS:nowhere.test,IP:127.0.0.1
extendedKeyUsage=serverAuth"
	_leaf edge edge1 edge-1 "subjectAltName=URI:spiffe://example.net/edge/pop1
extendedKeyUsage=clientAuth"
	_leaf edge edge2 edge-2 "subjectAltName=URI:spiffe://example.net/edge/pop2
extendedKeyUsage=clientAuth"
	_leaf edge stranger stranger "extendedKeyUsage=clientAuth"
	_leaf edge srvonly srvonly "subjectAltName=URI:spiffe://example.net/edge/x
extendedKeyUsage=serverAuth"
	_leaf edge expired expired "subjectAltName=URI:spiffe://example.net/edge/old
extendedKeyUsage=clientAuth" 20200101000000Z 20200201000000Z
	_leaf edge future future "subjectAltName=URI:spiffe://example.net/edge/new
extendedKeyUsage=clientAuth" 20990101000000Z 20990201000000Z
	_leaf edge revoked revoked "subjectAltName=URI:spiffe://example.net/edge/rev
extendedKeyUsage=clientAuth"
	_leaf edge later later "subjectAltName=URI:spiffe://example.net/edge/later
extendedKeyUsage=clientAuth"
	_leaf other outsider outsider "subjectAltName=URI:spiffe://example.net/edge/out
extendedKeyUsage=clientAuth"
	_leaf edge agentup agent-upstream "extendedKeyUsage=clientAuth"
	_ca_cmd edge -revoke revoked.pem
	_ca_cmd edge -gencrl -out edge.crl
	cp edge.crl edge-before.crl
	cat edge.pem other.pem >both.pem
	cd - >/dev/null
}

_ca() {
	mkdir -p "ca-$1"
	: >"ca-$1/index.txt"
	echo 1000 >"ca-$1/serial"
	echo 1000 >"ca-$1/crlnumber"
	cat >"ca-$1/ca.cnf" <<-EOC
	[ca]
	default_ca = this
	[this]
	dir = $PWD/ca-$1
	database = \$dir/index.txt
	serial = \$dir/serial
	crlnumber = \$dir/crlnumber
	new_certs_dir = \$dir
	certificate = $PWD/$1.pem
	private_key = $PWD/$1.key
	default_md = sha256
	default_days = 30
	default_crl_days = 7
	policy = any
	unique_subject = no
	copy_extensions = none
	[any]
	commonName = supplied
	EOC
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
		-keyout "$1.key" -out "$1.pem" -subj "/CN=$2" 2>/dev/null
}

_ca_cmd() {
	local ca=$1
	shift
	openssl ca -batch -config "ca-$ca/ca.cnf" "$@" 2>/dev/null
}

# _leaf CA NAME CN EXTENSIONS [START END]
_leaf() {
	local dates=()
	[ -n "${5:-}" ] && dates=(-startdate "$5" -enddate "$6")
	printf '%s\n' "$4" >"$2.ext"
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$2.key" -out "$2.csr" -subj "/CN=$3" 2>/dev/null
	_ca_cmd "$1" -in "$2.csr" -out "$2.pem" -notext -extfile "$2.ext" "${dates[@]}"
}

# sha256_of CERT: the hex SHA-256 of a certificate's DER.
sha256_of() {
	openssl x509 -in "$1" -outform der | sha256sum | cut -d' ' -f1
}
