#!/usr/bin/env bash
# make dist: the packages as each ecosystem installs them, in dist/, each checked:
# - Python: an abi3 wheel linked for manylinux2014 (glibc 2.17) with zig, and an sdist;
#   `auditwheel show` prints the tag; the wheel is installed in a fresh venv, imported, and
#   sends a message to a capture server; the console script runs.
# - Node: the napi-rs layout: `polymailer` (JS, types, loader) whose optionalDependencies name
#   `polymailer-linux-x64-gnu` (the .node file); both tarballs installed offline into an empty
#   project send a message; without the platform package, require() names the platform.
# - PHP: polymailer.so (and `make php-phpize` checks the PECL/PIE route).
# DIST_SDIST_CHECK=1 also installs the sdist in a fresh venv (a full Rust build, minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
rm -rf dist && mkdir -p dist
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
.venv/bin/pip install -q ziglang auditwheel
PATH=$root/.venv/bin:$PATH .venv/bin/maturin build --release -q --zig --compatibility manylinux2014 \
  -m bindings-python/Cargo.toml -o dist
.venv/bin/maturin sdist -m bindings-python/Cargo.toml -o dist >/dev/null 2>&1
.venv/bin/auditwheel show dist/*.whl | grep -A1 "consistent with"

scratch=$(mktemp -d)
server_log=$scratch/capture.out
trap 'exec 3>&-; rm -rf "$scratch"' EXIT
# A capture server for the install checks; it stops when fd 3 closes.
exec 3> >(.venv/bin/python tests/servers/spawn.py capture > "$server_log")
for _ in $(seq 100); do [ -s "$server_log" ] && break; sleep 0.05; done
port=$(awk '{print $2}' "$server_log")

python3 -m venv "$scratch/venv"
"$scratch/venv/bin/pip" install -q dist/*.whl
"$scratch/venv/bin/python" - "$port" <<'PY'
import sys
import polymailer
r = polymailer.Mailer("127.0.0.1", int(sys.argv[1]), security="none").send(
    polymailer.Message(from_="dist@example.com", to="rcpt@example.com", subject="from the wheel", text="hi"))
print("wheel: installed, imported, sent:", r.code)
PY
"$scratch/venv/bin/polymailer" --version
if [ "${DIST_SDIST_CHECK:-0}" = 1 ]; then
  python3 -m venv "$scratch/sdist-venv"
  "$scratch/sdist-venv/bin/pip" install -q dist/polymailer-"$version".tar.gz
  "$scratch/sdist-venv/bin/python" -c "import polymailer; print('sdist: built and imported', polymailer.__version__)"
fi

# Node: stage the main package with optionalDependencies (as `napi prepublish` writes them) and
# the platform package with the binary; pack both.
stage=$scratch/npm
mkdir -p "$stage/main" "$stage/linux-x64-gnu"
cp bindings-node/{index.js,index.d.ts,native.js,native.d.ts,README.md} "$stage/main/"
node -e '
const fs = require("fs");
const p = JSON.parse(fs.readFileSync("bindings-node/package.json", "utf8"));
delete p.devDependencies; delete p.scripts;
p.files = ["index.js", "index.d.ts", "native.js", "native.d.ts", "README.md"];
p.optionalDependencies = { "polymailer-linux-x64-gnu": p.version };
fs.writeFileSync(process.argv[1] + "/main/package.json", JSON.stringify(p, null, 2) + "\n");
' "$stage"
cp bindings-node/npm/linux-x64-gnu/{package.json,README.md} bindings-node/polymailer.linux-x64-gnu.node "$stage/linux-x64-gnu/"
(cd "$stage/main" && npm pack -q --pack-destination "$root/dist" >/dev/null)
(cd "$stage/linux-x64-gnu" && npm pack -q --pack-destination "$root/dist" >/dev/null)
ls -l dist/*.tgz | awk '{print "npm:", $5, $NF}'
app=$scratch/app
mkdir -p "$app" && (cd "$app" && npm init -y >/dev/null)
(cd "$app" && npm install --offline --no-audit --no-fund -q "$root/dist/polymailer-linux-x64-gnu-$version.tgz" "$root/dist/polymailer-$version.tgz" >/dev/null)
(cd "$app" && node -e '
const nodemailer = require("polymailer");
nodemailer.createTransport({ host: "127.0.0.1", port: Number(process.argv[1]), ignoreTLS: true })
  .sendMail({ from: "dist@example.com", to: "rcpt@example.com", subject: "from the npm packages", text: "hi" })
  .then((info) => console.log("npm: installed offline, sent:", info.response));
' "$port")
bare=$scratch/bare
mkdir -p "$bare" && (cd "$bare" && npm init -y >/dev/null && npm install --offline --omit=optional --no-audit --no-fund -q "$root/dist/polymailer-$version.tgz" >/dev/null)
(cd "$bare" && node -e 'try { require("polymailer"); process.exit(1) } catch (e) { console.log("npm without the platform package:", e.code, "-", e.message.split(":")[0]) }')

install -m 0755 target/release/libpolymailer.so dist/polymailer.so
ls dist
