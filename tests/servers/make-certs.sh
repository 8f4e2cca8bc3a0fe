#!/usr/bin/env bash
# Generates the test CA, a localhost server certificate it signs, and DKIM keys into DIR.
# Idempotent and locked: concurrent test processes share one CA.
set -euo pipefail
dir=${1:?usage: make-certs.sh DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
exec 9>"$dir/.lock"
flock 9
if [ ! -f "$dir/dkim-extra-v1" ]; then
  # More DKIM keys for the DNS test zone (tests/dns/zone.conf): a second 2048-bit key (the
  # "published key is not the signing key" case) and weak ones.
  (cd "$dir" && for spec in other:2048 rsa1024:1024 rsa512:512; do
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:"${spec#*:}" -out "dkim-${spec%%:*}.pem" >/dev/null 2>&1
  done && touch dkim-extra-v1)
fi
[ -f "$dir/complete-v4" ] && exit 0
cd "$dir"
q() { "$@" >/dev/null 2>&1; }
q openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=polymailer test CA" \
  -keyout ca.key -out ca.pem -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
q openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout server.key -out server.csr
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' > ext.cnf
q openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 -out server.pem -extfile ext.cnf
q openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out dkim-rsa.pkcs8.pem
q openssl rsa -in dkim-rsa.pkcs8.pem -traditional -out dkim-rsa.pkcs1.pem
q openssl genpkey -algorithm ED25519 -out dkim-ed25519.pem
# DNS TXT records (p=) as a verifier would look them up.
p_rsa=$(openssl pkey -in dkim-rsa.pkcs8.pem -pubout -outform DER 2>/dev/null | base64 -w0)
p_ed=$(openssl pkey -in dkim-ed25519.pem -pubout -outform DER 2>/dev/null | tail -c 32 | base64 -w0)
echo "v=DKIM1; k=rsa; p=$p_rsa" > dkim-rsa.txt
echo "v=DKIM1; k=ed25519; p=$p_ed" > dkim-ed25519.txt
# Certificate shapes for the trust matrix (all for localhost / 127.0.0.1 unless named otherwise):
# selfsigned-ca: self-signed as most guides make it (openssl req -x509: CA:TRUE); snakeoil:
# self-signed CA:FALSE (Debian's ssl-cert); expired / expired-selfsigned: notAfter in the past;
# wronghost: CA-signed for other.example; untrusted: signed by a CA no client is given.
san='subjectAltName=DNS:localhost,IP:127.0.0.1'
q openssl req -x509 -key server.key -subj "/CN=localhost" -addext "$san" -days 3650 -out selfsigned-ca.pem
printf '%s\nbasicConstraints=CA:FALSE\n' "$san" > leaf.cnf
q openssl req -new -key server.key -subj "/CN=localhost" -out leaf.csr
q openssl x509 -req -in leaf.csr -signkey server.key -days 3650 -extfile leaf.cnf -out snakeoil.pem
q openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days -1 -extfile leaf.cnf -out expired.pem
printf '%s\nbasicConstraints=critical,CA:TRUE\n' "$san" > ca-self.cnf
q openssl x509 -req -in leaf.csr -signkey server.key -days -1 -extfile ca-self.cnf -out expired-selfsigned.pem
printf 'subjectAltName=DNS:other.example\nbasicConstraints=CA:FALSE\n' > other.cnf
q openssl req -new -key server.key -subj "/CN=other.example" -out other.csr
q openssl x509 -req -in other.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 -extfile other.cnf -out wronghost.pem
q openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=untrusted test CA" \
  -keyout untrusted-ca.key -out untrusted-ca.pem -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign
q openssl x509 -req -in leaf.csr -CA untrusted-ca.pem -CAkey untrusted-ca.key -CAcreateserial -days 3650 -extfile leaf.cnf -out untrusted.pem
# Mutual TLS: a client certificate the test CA signs (client.pem + client.key, and both in
# client-combined.pem as PHP's local_cert takes them); other.key belongs to no certificate.
q openssl req -newkey rsa:2048 -nodes -subj "/CN=polymailer client" -keyout client.key -out client.csr
printf 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n' > client.cnf
q openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 -extfile client.cnf -out client.pem
cat client.pem client.key > client-combined.pem
q openssl pkcs8 -topk8 -in client.key -v2 aes-256-cbc -passout "pass:key secret" -out client-encrypted.key
q openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out other.key
rm -f client.csr client.cnf
rm -f server.csr ext.cnf ca.srl leaf.cnf leaf.csr ca-self.cnf other.cnf other.csr untrusted-ca.srl
touch complete complete-v2 complete-v3 complete-v4
