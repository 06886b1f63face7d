#!/usr/bin/env bash
# Every certificate the local runs make (demo, tests, bench, chaos, the stack's
# broker), in one place. For this machine only: nothing here is a production CA.
#
#   scripts/certificate.sh self-signed CERT KEY [DAYS]
#       an EC P-256 certificate for localhost and 127.0.0.1 (DAYS: 2), as the
#       services' HTTPS and TCP+TLS listeners use; its own CA file for clients
#   scripts/certificate.sh chain DIR
#       in DIR (unless there already): a CA (ca.pem, ca.key) and, signed by it, a
#       server certificate naming localhost only (server.pem, server.key: a client
#       connecting to 127.0.0.1 fails host-name verification, as tests check) and a
#       client certificate (client.pem, client.key); keys readable by the owner only
set -euo pipefail

die() { printf 'certificate: error: %s\n' "$*" >&2; exit 1; }

self_signed() {
  [ $# -ge 2 ] && [ $# -le 3 ] || die "usage: certificate.sh self-signed CERT KEY [DAYS]"
  mkdir -p "$(dirname "$1")" "$(dirname "$2")"
  (umask 077; openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$2" -out "$1" \
    -days "${3:-2}" -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1") >/dev/null 2>&1 \
    || die "openssl could not make $1"
  chmod 644 "$1"
}

chain() {
  [ $# -eq 1 ] || die "usage: certificate.sh chain DIR"
  local t="$1"
  [ -s "$t/server.pem" ] && [ -s "$t/client.pem" ] && return 0
  mkdir -p "$t"
  (
    cd "$t"
    umask 077
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -keyout ca.key -out ca.pem -subj "/CN=pipeline stack CA" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
    for name in server client; do
      openssl req -newkey rsa:2048 -nodes -keyout "$name.key" -out "$name.csr" -subj "/CN=$name"
      if [ "$name" = server ]; then
        printf 'subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n' >"$name.ext"
      else
        printf 'extendedKeyUsage=clientAuth\n' >"$name.ext"
      fi
      openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 \
        -extfile "$name.ext" -out "$name.pem"
      rm -f "$name.csr" "$name.ext"
    done
    chmod 644 ca.pem server.pem client.pem
  ) >/dev/null 2>&1 || die "could not make the certificates in $t"
}

case "${1:-}" in
  self-signed) shift; self_signed "$@" ;;
  chain) shift; chain "$@" ;;
  *) die "usage: certificate.sh self-signed CERT KEY [DAYS] | chain DIR" ;;
esac
