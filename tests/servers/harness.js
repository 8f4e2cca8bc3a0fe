'use strict';
// Starts the shared real test servers from Node's tests and reads what they received
// (the JavaScript mirror of harness.py). Servers are stopped by PID.

const { spawn, spawnSync } = require('child_process');
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');
const readline = require('readline');

const HERE = __dirname;
const ROOT = path.resolve(HERE, '..', '..');
const CERTS = path.join(ROOT, 'tests', '.state', 'certs');
const PYTHON = process.env.POLYMAILER_PYTHON || path.join(ROOT, '.venv', 'bin', 'python');
const SMTP_SINK = process.env.SMTP_SINK || '/usr/sbin/smtp-sink';

function certs() {
  const r = spawnSync(path.join(HERE, 'make-certs.sh'), [CERTS], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('make-certs.sh failed');
  return CERTS;
}

async function captureServer(args = []) {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'pm-capture-'));
  const child = spawn(PYTHON, [path.join(HERE, 'capture_server.py'), '--outdir', outdir, '--certs', certs(), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise((resolve) => readline.createInterface({ input: child.stdout }).once('line', resolve));
  if (!line.startsWith('READY ')) throw new Error(`capture server did not start: ${line}`);
  const port = Number(line.split(' ')[1]);
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
    port,
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
    stop() {
      child.kill('SIGTERM');
      fs.rmSync(outdir, { recursive: true, force: true });
    },
  };
}

function freePort() {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function smtpSink(args = []) {
  const port = await freePort();
  const child = spawn(SMTP_SINK, ['-u', 'nobody', ...args, `127.0.0.1:${port}`, '256'], { stdio: 'ignore' });
  const deadline = Date.now() + 10000;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) break;
    if (Date.now() > deadline) throw new Error('smtp-sink did not start');
    await new Promise((r) => setTimeout(r, 20));
  }
  return { port, stop: () => child.kill('SIGTERM') };
}

function dkimVerify(eml, record) {
  const r = spawnSync(PYTHON, [path.join(ROOT, 'tests', 'tools', 'dkim_verify.py'), eml, record], { encoding: 'utf8' });
  return { ok: r.status === 0, output: r.stdout + r.stderr };
}

module.exports = { certs, captureServer, smtpSink, dkimVerify, CERTS, ROOT };
