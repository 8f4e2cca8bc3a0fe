'use strict';
// Starts the shared real test servers from Node's tests and reads what they received
// through tests/servers/spawn.py, which stops them by PID.

const { spawn, spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const readline = require('readline');

const HERE = __dirname;
const ROOT = path.resolve(HERE, '..', '..');
const CERTS = path.join(ROOT, 'tests', '.state', 'certs');
const PYTHON = process.env.POLYMAILER_PYTHON || path.join(ROOT, '.venv', 'bin', 'python');

function certs() {
  const r = spawnSync(path.join(HERE, 'make-certs.sh'), [CERTS], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('make-certs.sh failed');
  return CERTS;
}

/** Starts a server through tests/servers/spawn.py ("READY port dir"); stop() closes its stdin. */
async function spawnServer(kind, args) {
  const child = spawn(PYTHON, [path.join(HERE, 'spawn.py'), kind, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const line = await new Promise((resolve) => readline.createInterface({ input: child.stdout }).once('line', resolve));
  const [word, port, dir] = String(line).split(' ');
  if (word !== 'READY') throw new Error(`${kind} server did not start: ${line}`);
  const stopped = new Promise((resolve) => child.once('exit', resolve));
  return { port: Number(port), dir, stop: () => (child.stdin.end(), stopped) };
}

const smtpSink = (args = []) => spawnServer('sink', args);
/** dnsmasq serving tests/dns/zone.conf; `dir` holds the zone's DKIM keys. */
const dnsServer = () => spawnServer('dns', []);

/** The capture server, or (kind 'postfix' / 'exim') a real MTA taking its flags. */
async function captureServer(args = [], kind = 'capture') {
  const server = await spawnServer(kind, args);
  const outdir = server.dir;
  const messages = () =>
    fs
      .readdirSync(outdir)
      .filter((n) => n.endsWith('.json'))
      .sort()
      .map((n) => {
        const base = path.join(outdir, n.slice(0, -5));
        return { meta: JSON.parse(fs.readFileSync(base + '.json', 'utf8')), data: fs.readFileSync(base + '.eml'), eml: base + '.eml' };
      });
  return {
    ...server,
    outdir,
    messages,
    async waitFor(n, timeoutMs = 10000) {
      // n = 0 ("nothing arrives") waits a settle time, so a late delivery is still seen.
      if (n === 0) {
        await new Promise((r) => setTimeout(r, Math.min(timeoutMs, 1000)));
        return messages();
      }
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const got = messages();
        if (got.length >= n || Date.now() > deadline) return got;
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
}

function dkimVerify(eml, record) {
  const r = spawnSync(PYTHON, [path.join(ROOT, 'tests', 'tools', 'dkim_verify.py'), eml, record], { encoding: 'utf8' });
  return { ok: r.status === 0, output: r.stdout + r.stderr };
}

module.exports = { certs, captureServer, smtpSink, dnsServer, dkimVerify, CERTS, ROOT };
