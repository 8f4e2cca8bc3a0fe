#!/usr/bin/env bash
# Generates the test CA, a localhost server certificate it signs, and DKIM keys into DIR.
# Idempotent and locked: concurrent test processes share one CA.
set -euo pipefail
dir=${1:?usage: make-certs.sh DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
exec 9>"$dir/.lock"
flock 9
[ -f "$dir/complete" ] && exit 0
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
rm -f server.csr ext.cnf ca.srl
touch complete
