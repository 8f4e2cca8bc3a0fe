'use strict';
// The shared scenario corpus (tests/scenarios/*.json) through the Nodemailer-compatible API.

const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const { captureServer, smtpSink, certs, ROOT } = require('../../tests/servers/harness.js');
const nodemailer = require('..');

const DIR = path.join(ROOT, 'tests', 'scenarios');
const PYTHON = process.env.POLYMAILER_PYTHON || path.join(ROOT, '.venv', 'bin', 'python');

function content(a) {
  if (a.pattern) return Buffer.from(Array.from({ length: a.pattern.count }, (_, i) => i % 256));
  return Buffer.from(a.content, 'utf8');
}

// Bytes in memory, or (with "source": "file") a file given by path.
function source(a) {
  if (a.source !== 'file') return { content: content(a) };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pm-scn-'));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, a.filename);
  fs.writeFileSync(file, content(a));
  return { path: file };
}

function transport(t, port) {
  const options = { host: 'localhost', port, socketTimeout: 10000, greetingTimeout: 10000 };
  if (t.security === 'none') options.ignoreTLS = true;
  if (t.security === 'starttls') options.requireTLS = true;
  if (t.security === 'implicit') options.secure = true;
  if (t.ca) options.tls = { ca: fs.readFileSync(path.join(certs(), 'ca.pem')) };
  if (t.auth) options.auth = { user: t.auth.user, pass: t.auth.pass };
  if (t.dkim) {
    options.dkim = {
      domainName: t.dkim.domain,
      keySelector: t.dkim.selector,
      privateKey: fs.readFileSync(path.join(certs(), t.dkim.key), 'utf8'),
    };
  }
  return nodemailer.createTransport(options);
}

function mail(m) {
  return {
    from: m.from,
    to: m.to,
    cc: m.cc,
    bcc: m.bcc,
    replyTo: m.reply_to,
    subject: m.subject,
    text: m.text,
    html: m.html,
    headers: m.headers,
    attachments: (m.attachments || []).map((a) => ({
      filename: a.filename,
      ...source(a),
      contentType: a.content_type,
      cid: a.cid,
    })),
  };
}

const tally = { passed: 0, failed: 0 };
after(() => console.log(`scenarios: ${tally.passed} passed, ${tally.failed} failed`));

for (const file of fs.readdirSync(DIR).filter((f) => f.endsWith('.json')).sort()) {
  const scn = JSON.parse(fs.readFileSync(path.join(DIR, file), 'utf8'));
  test(`scenario ${scn.name}`, async () => {
    tally.failed++;
    const server = scn.server.kind === 'capture' ? await captureServer(scn.server.args) : await smtpSink(scn.server.args);
    try {
      const t = transport(scn.transport, server.port);
      let info;
      try {
        info = await t.sendMail(mail(scn.message));
      } catch (err) {
        assert.ok(scn.expect.error, `unexpected ${err.code}: ${err.message}`);
        assert.equal(err.kind, scn.expect.error, `${err.code}: ${err.message}`);
      }
      if (info) {
        assert.equal(scn.expect.error, undefined, `expected a ${scn.expect.error} error`);
        assert.deepEqual(info.rejected, scn.expect.rejected || []);
      }
      if (scn.server.kind === 'capture') {
        await server.waitFor(scn.expect.delivered ? 1 : 0);
        const outdir = server.outdir;
        const r = spawnSync(PYTHON, [path.join(DIR, 'check.py'), path.join(DIR, file), outdir], { encoding: 'utf8' });
        assert.equal(r.status, 0, r.stdout + r.stderr);
      }
      tally.failed--;
      tally.passed++;
    } finally {
      server.stop();
    }
  });
}
