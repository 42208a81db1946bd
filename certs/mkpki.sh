#!/usr/bin/env bash
# Demo mutual-TLS PKI for the attestor and verifier, made at run time with the
# openssl CLI. Throwaway keys for tests and demos: never commit the output.
#
#   certs/mkpki.sh [--force] [--san ROLE=NAME]... DIR
#
# --san verifier=verifier.example.org (or attestor=host1.example.org,
# operator=alice, or an IP address) makes NAME the only subjectAltName of
# that role's certificate:
# the TLS identity the other side sees (an attestor's verifier_identity, the
# verifier's enrolment binding) and the name a client dialling NAME checks,
# so that two real hosts need no server_name. With any --san the PKI is one
# for real hosts: only the CA and the verifier's, attestor's and operator's
# pairs (and attestor2's when it has a --san), none of the test material
# below; a role without --san keeps its demo names.
#
# DIR receives (without --san; with one, only the first four pairs, and
# attestor2's when it has a --san):
#   ca.pem, ca.key               the CA both sides trust
#   verifier.pem, verifier.key   SAN DNS:verifier, DNS:localhost, IP:127.0.0.1; CN verifier
#                                (with --san verifier=NAME: NAME alone, CN NAME)
#   attestor.pem, attestor.key   SAN DNS:attestor, DNS:localhost, IP:127.0.0.1; CN attestor
#                                (with --san attestor=NAME: NAME alone, CN NAME)
#   operator.pem, operator.key   SAN DNS:operator, ...; CN operator: a client of the
#                                verifier's Admin service ([admin] operators = operator)
#   attestor2.pem, attestor2.key a second attestor identity from the same CA
#   other-ca.pem, other-ca.key   an unrelated CA
#   rogue.pem, rogue.key         a client+server cert from other-ca (must be refused)
# The first SAN is the peer identity the RPC layer reports, so it names the role;
# localhost and 127.0.0.1 let either side serve on loopback. EC P-256 keys, 0600.
# --force over a directory of the demo set leaves the files this run does
# not write (with --san: attestor2, other-ca, rogue) where they are.
# Existing files are never overwritten unless --force is given.
set -euo pipefail

force=0
declare -A san=()
usage() { echo "usage: $0 [--force] [--san verifier|attestor|attestor2|operator=NAME]... DIR" >&2; exit 2; }
while [ $# -gt 1 ]; do
	case $1 in
	--force) force=1; shift ;;
	--san)
		[ $# -gt 2 ] || usage
		role=${2%%=*} name=${2#*=}
		case $role in verifier | attestor | attestor2 | operator) ;; *) usage ;; esac
		[[ $name =~ ^[A-Za-z0-9.:-]+$ ]] || { echo "mkpki: --san $2: not a host name or address" >&2; exit 2; }
		san[$role]=$name
		shift 2
		;;
	*) usage ;;
	esac
done
if [ $# -ne 1 ] || [ -z "$1" ]; then usage; fi
dir=$1
command -v openssl >/dev/null 2>&1 || { echo "mkpki: openssl not found" >&2; exit 1; }

if [ ${#san[@]} -eq 0 ]; then
	outputs=(ca.pem ca.key verifier.pem verifier.key attestor.pem attestor.key operator.pem operator.key
		attestor2.pem attestor2.key other-ca.pem other-ca.key rogue.pem rogue.key)
else
	outputs=(ca.pem ca.key verifier.pem verifier.key attestor.pem attestor.key operator.pem operator.key)
	[ -z "${san[attestor2]:-}" ] || outputs+=(attestor2.pem attestor2.key)
fi
mkdir -p "$dir"
if [ "$force" -eq 0 ]; then
	for f in "${outputs[@]}"; do
		if [ -e "$dir/$f" ]; then
			echo "mkpki: $dir/$f exists; refusing to overwrite (use --force)" >&2
			exit 1
		fi
	done
fi

# Build everything in a private scratch dir, then move into place: a failure
# half-way leaves DIR as it was.
umask 077
tmp=$(mktemp -d "$dir/.mkpki.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

days=825

newkey() { # FILE
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
		-pkeyopt ec_param_enc:named_curve -out "$1" 2>/dev/null
}

mkca() { # NAME CN
	newkey "$tmp/$1.key"
	openssl req -new -x509 -key "$tmp/$1.key" -sha256 -days "$days" \
		-subj "/O=attest demo/CN=$2" \
		-addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" \
		-addext "subjectKeyIdentifier=hash" \
		-out "$tmp/$1.pem"
}

mkleaf() { # NAME CN CA
	local name=$1 cn=$2 ca=$3 alt="DNS:$2,DNS:localhost,IP:127.0.0.1" first
	if [ -n "${san[$1]:-}" ]; then
		first=DNS:${san[$1]}
		# an address (IPv4 or IPv6) is an IP entry
		[[ ${san[$1]} =~ ^[0-9.]+$|: ]] && first=IP:${san[$1]}
		alt=$first
		cn=${san[$1]}
	fi
	newkey "$tmp/$name.key"
	openssl req -new -key "$tmp/$name.key" -subj "/O=attest demo/CN=$cn" \
		-out "$tmp/$name.csr"
	cat >"$tmp/$name.ext" <<EOF
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth,clientAuth
subjectAltName = $alt
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
	openssl x509 -req -in "$tmp/$name.csr" -CA "$tmp/$ca.pem" -CAkey "$tmp/$ca.key" \
		-set_serial "0x$(openssl rand -hex 16)" -sha256 -days "$days" \
		-extfile "$tmp/$name.ext" -out "$tmp/$name.pem" 2>/dev/null
	openssl verify -CAfile "$tmp/$ca.pem" "$tmp/$name.pem" >/dev/null
}

mkca ca "attest demo CA"
mkleaf verifier verifier ca
mkleaf attestor attestor ca
mkleaf operator operator ca
if [[ " ${outputs[*]} " == *" attestor2.pem "* ]]; then mkleaf attestor2 attestor2 ca; fi
if [[ " ${outputs[*]} " == *" rogue.pem "* ]]; then
	mkca other-ca "unrelated CA"
	mkleaf rogue attestor other-ca
fi

for f in "${outputs[@]}"; do
	case $f in
	*.key) chmod 0600 "$tmp/$f" ;;
	*) chmod 0644 "$tmp/$f" ;;
	esac
	mv -f "$tmp/$f" "$dir/$f"
done
echo "mkpki: wrote ${outputs[*]} to $dir"
