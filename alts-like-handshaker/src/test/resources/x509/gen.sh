#!/bin/sh
# Regenerates the X.509 test fixtures (run in this directory). EC P-256 everywhere, 10 years.
#   sh gen.sh        everything: both CAs, every leaf and key
#   sh gen.sh leafs  re-issues the leafs of ca.pem from the kept ca.key and leaf keys (new
#                    extension profiles without changing the CA or any key)
set -e
ec() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key"; }
# Leaf extension profiles: $1 = extendedKeyUsage (or "none"), $2 = subjectAltName (or "none"),
# $3 = basicConstraints CA flag (TRUE for the "CA as a leaf" fixture).
profile() {
  printf 'basicConstraints=critical,CA:%s\n' "${3:-FALSE}" > leaf.ext
  if [ "${3:-FALSE}" = TRUE ]; then
    printf 'keyUsage=critical,digitalSignature,keyCertSign\n' >> leaf.ext
  else
    printf 'keyUsage=critical,digitalSignature\n' >> leaf.ext
  fi
  [ "$1" = none ] || printf 'extendedKeyUsage=%s\n' "$1" >> leaf.ext
  [ "$2" = none ] || printf 'subjectAltName=%s\n' "$2" >> leaf.ext
}
# issue NAME ISSUER EKU SAN [CA]: a leaf NAME.pem for NAME.key (made if missing), CN=NAME.
issue() {
  [ -f "$1.key" ] || ec "$1"
  profile "$3" "$4" "$5"
  openssl req -new -key "$1.key" -subj "/O=grpc-lean test/CN=$1" -out "$1.csr"
  openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -sha256 \
    -days 3650 -extfile leaf.ext -out "$1.pem"
}
# issue_sized NAME BYTES: a leaf of ca.pem (serverAuth and clientAuth, the server's names) whose
# DER is exactly BYTES long, padded with OUs and re-signed until the ECDSA signature's DER
# length lands there. For handshake messages of an exact size (a length field of 790 reads as
# 16 03 00 00, the start of a TLS record).
issue_sized() {
  [ -f "$1.key" ] || ec "$1"
  profile serverAuth,clientAuth "$SERVER_NAMES"
  pad=1
  while :; do
    for try in 1 2 3 4 5 6; do
      ou=""
      left=$pad
      while [ "$left" -gt 0 ]; do
        n=$((left > 60 ? 60 : left))
        ou="$ou/OU=$(printf "%${n}s" | tr ' ' p)"
        left=$((left - n))
      done
      openssl req -new -key "$1.key" -subj "/O=grpc-lean test$ou/CN=$1" -out "$1.csr"
      openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -sha256 \
        -days 3650 -extfile leaf.ext -out "$1.pem" 2>/dev/null
      size=$(openssl x509 -in "$1.pem" -outform DER | wc -c)
      [ "$size" -eq "$2" ] && return 0
      [ "$size" -gt "$2" ] && break
    done
    [ "$size" -gt "$(($2 + 2))" ] && { echo "cannot reach $2 bytes for $1" >&2; exit 1; }
    pad=$((pad + 1))
  done
}
SERVER_NAMES="DNS:localhost,DNS:server.test,IP:127.0.0.1,IP:::1"
leafs() {
  # The server: names for the tests' targets, serverAuth only.
  issue server ca serverAuth "$SERVER_NAMES"
  # The client: clientAuth only, no names (a server does not match it against anything).
  issue client ca clientAuth none
  # Another service of the same CA: serverAuth, but for another name.
  issue other-service ca serverAuth "DNS:other.test"
  # A wildcard server certificate.
  issue wildcard ca serverAuth "DNS:*.wild.test"
  # Right names, but no extendedKeyUsage at all.
  issue no-eku ca none "$SERVER_NAMES"
  # Right names and purposes, but a CA certificate used as a leaf.
  issue ca-leaf ca serverAuth,clientAuth "$SERVER_NAMES" TRUE
  # Both purposes (a peer that is client and server of the same service), no names.
  issue both ca serverAuth,clientAuth "$SERVER_NAMES"
  # A ServerInit (150 + 2 + 642 bytes) and a ClientFinished (107 + 2 + 685 bytes) of 794 bytes,
  # length field 790.
  issue_sized len790-server 642
  issue_sized len790-client 685
}
if [ "$1" = leafs ]; then
  leafs
  rm -f *.csr *.srl leaf.ext
  exit 0
fi
ec ca
openssl req -x509 -new -key ca.key -sha256 -days 3650 -subj "/O=grpc-lean test/CN=test CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out ca.pem
ec other-ca
openssl req -x509 -new -key other-ca.key -sha256 -days 3650 -subj "/O=grpc-lean test/CN=other CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out other-ca.pem
rm -f server.key client.key other-service.key wildcard.key no-eku.key ca-leaf.key both.key
leafs
issue stranger other-ca serverAuth,clientAuth "$SERVER_NAMES"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.key
issue rsa ca serverAuth,clientAuth "$SERVER_NAMES"
rm -f *.csr *.srl leaf.ext other-ca.key rsa.key
