#!/bin/sh
# Regenerates the X.509 test fixtures (run in this directory). EC P-256 everywhere, 10 years.
set -e
ec() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key"; }
ext() { printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n' > leaf.ext; }
ec ca
openssl req -x509 -new -key ca.key -sha256 -days 3650 -subj "/O=grpc-lean test/CN=test CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out ca.pem
ec other-ca
openssl req -x509 -new -key other-ca.key -sha256 -days 3650 -subj "/O=grpc-lean test/CN=other CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out other-ca.pem
ext
for name in client server; do
  ec $name
  openssl req -new -key $name.key -subj "/O=grpc-lean test/CN=$name" -out $name.csr
  openssl x509 -req -in $name.csr -CA ca.pem -CAkey ca.key -CAcreateserial -sha256 -days 3650 \
    -extfile leaf.ext -out $name.pem
done
ec stranger
openssl req -new -key stranger.key -subj "/O=grpc-lean test/CN=stranger" -out stranger.csr
openssl x509 -req -in stranger.csr -CA other-ca.pem -CAkey other-ca.key -CAcreateserial -sha256 \
  -days 3650 -extfile leaf.ext -out stranger.pem
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.key
openssl req -new -key rsa.key -subj "/O=grpc-lean test/CN=rsa" -out rsa.csr
openssl x509 -req -in rsa.csr -CA ca.pem -CAkey ca.key -CAcreateserial -sha256 -days 3650 \
  -extfile leaf.ext -out rsa.pem
rm -f *.csr *.srl leaf.ext other-ca.key rsa.key
