'use strict';
// polymailer's Nodemailer-compatible transport against real servers.

const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const { captureServer, smtpSink, dkimVerify, certs } = require('../../tests/servers/harness.js');
const nodemailer = require('..');

const running = [];
after(() => running.forEach((s) => s.stop()));
async function capture(...args) {
  const s = await captureServer(args);
  running.push(s);
  return s;
}
async function sink(...args) {
  const s = await smtpSink(args);
  running.push(s);
  return s;
}
const ca = () => fs.readFileSync(path.join(certs(), 'ca.pem'));
const header = (data, name) => (new RegExp(`^${name}: (.*)$`, 'mi').exec(data.toString()) || [])[1];

test('the reference snippet, callback form', async () => {
  const srv = await capture('--starttls', '--user', 'user@example.com:yourpassword');
  // Only the require line and the connection settings differ from the reference (plus the CA).
  let transporter = nodemailer.createTransport({
    host: 'localhost',
    port: srv.port,
    secure: false,
    auth: { user: 'user@example.com', pass: 'yourpassword' },
    tls: { ca: ca() },
  });
  let mailOptions = {
    from: '"Your Name" <user@example.com>',
    to: 'receiver@example.com',
    subject: 'Hello from Node.js',
    text: 'This is a test email sent using Nodemailer.',
  };
  const info = await new Promise((resolve, reject) =>
    transporter.sendMail(mailOptions, (err, info) => (err ? reject(err) : resolve(info)))
  );
  assert.match(info.response, /^250 /);
  assert.deepEqual(info.accepted, ['receiver@example.com']);
  assert.deepEqual(info.envelope, { from: 'user@example.com', to: ['receiver@example.com'] });
  const [got] = await srv.waitFor(1);
  assert.equal(got.meta.tls, true);
  assert.equal(got.meta.auth, 'user@example.com');
  assert.equal(header(got.data, 'Subject'), 'Hello from Node.js');
  assert.equal(header(got.data, 'Message-ID'), info.messageId);
});

test('Promise form, cc/bcc, envelope and Bcc hidden', async () => {
  const srv = await capture();
  const t = nodemailer.createTransport({ host: '127.0.0.1', port: srv.port, ignoreTLS: true });
  const info = await t.sendMail({
    from: { name: 'Ann', address: 'ann@example.com' },
    to: ['b@example.com, c@example.com'],
    cc: 'Carol <carol@example.com>',
    bcc: [{ address: 'hidden@example.com' }, 'B@example.com'],
    replyTo: 'replies@example.com',
    subject: 'promise',
    text: 'x',
  });
  assert.deepEqual(info.envelope.to, ['b@example.com', 'c@example.com', 'carol@example.com', 'hidden@example.com']);
  const [got] = await srv.waitFor(1);
  assert.deepEqual(got.meta.rcpt_tos, info.envelope.to);
  assert.ok(!got.data.toString().includes('hidden@'));
  assert.equal(header(got.data, 'Reply-To'), 'replies@example.com');
});

test('envelope values are checked as given: no substituted sender or recipient, nothing sent', async () => {
  const srv = await capture();
  const t = nodemailer.createTransport({ host: '127.0.0.1', port: srv.port, ignoreTLS: true });
  const base = { from: 'a@example.com', to: 'b@example.com', subject: 'x', text: 'x' };
  const smuggle = 'victim@example.com>\r\n.\r\nMAIL FROM:<smuggle@evil.example>\r\nRCPT TO:<evil@evil.example';
  const bad = [
    { envelope: { from: smuggle, to: 'b@example.com' } },
    { envelope: { from: 'a@example.com', to: smuggle } },
    { envelope: { from: 'victim@example.com> <smuggle@evil.example>', to: 'b@example.com' } },
    { envelope: { from: 'a@example.com', to: ['b@example.com> <smuggle@evil.example>'] } },
    { envelope: { from: 'a@example.com\0', to: 'b@example.com' } },
    { from: '<a@example.com> , <c@example.com>' },
  ];
  for (const extra of bad) {
    await assert.rejects(t.sendMail({ ...base, ...extra }), (err) => {
      assert.ok(['EENVELOPE', 'EMESSAGE'].includes(err.code), `${err.code} ${err.message}`);
      assert.equal(err.kind, 'invalid_input', err.message);
      return true;
    });
  }
  assert.equal((await srv.waitFor(0)).length, 0);
  // Quoted display names with commas survive in envelope.to.
  const info = await t.sendMail({ ...base, envelope: { from: 'Ann <a@example.com>', to: '"Doe, J" <j@example.com>, k@example.com' } });
  assert.deepEqual(info.envelope, { from: 'a@example.com', to: ['j@example.com', 'k@example.com'] });
  const [got] = await srv.waitFor(1);
  assert.deepEqual(got.meta.rcpt_tos, ['j@example.com', 'k@example.com']);
  assert.equal(got.meta.mail_from, 'a@example.com');
});

test('html, attachments and an inline cid image arrive intact', async () => {
  const srv = await capture();
  const t = nodemailer.createTransport({ host: '127.0.0.1', port: srv.port, ignoreTLS: true });
  const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 3, 255]);
  const file = path.join(require('os').tmpdir(), `pm-node-${process.pid}.txt`);
  fs.writeFileSync(file, 'from a file\n');
  await t.sendMail({
    from: 'a@example.com',
    to: 'b@example.com',
    subject: 'mime',
    text: 'plain',
    html: '<p>Logo: <img src="cid:logo@x"></p>',
    attachments: [
      { filename: 'notes.txt', content: 'hello attachment' },
      { filename: 'data.bin', content: 'AAEC/w==', encoding: 'base64', contentType: 'application/octet-stream' },
      { path: file },
      { filename: 'logo.png', content: png, cid: 'logo@x' },
    ],
  });
  fs.unlinkSync(file);
  const text = (await srv.waitFor(1))[0].data.toString();
  for (const needle of [
    'multipart/mixed',
    'multipart/related',
    'multipart/alternative',
    'Content-ID: <logo@x>',
    'filename=notes.txt',
    'filename=data.bin',
    'AAEC/w==',
    png.toString('base64'),
    `filename=pm-node-${process.pid}.txt`,
  ]) {
    assert.ok(text.includes(needle), `missing ${needle}`);
  }
});

/** The decoded body of the MIME part whose headers name `filename`. */
function part(data, filename) {
  const text = data.toString('latin1');
  const at = text.indexOf(`filename=${filename}`);
  assert.ok(at >= 0, `no part ${filename}`);
  const headStart = text.lastIndexOf('\r\n--', at);
  const start = text.indexOf('\r\n\r\n', at) + 4;
  const body = text.slice(start, text.indexOf('\r\n--', start));
  const head = text.slice(headStart, start);
  return /Content-Transfer-Encoding: base64/i.test(head) ? Buffer.from(body, 'base64') : Buffer.from(body, 'latin1');
}

test('streams, { path } bodies and data: URIs are read as Nodemailer reads them', async () => {
  const srv = await capture();
  const t = nodemailer.createTransport({ host: '127.0.0.1', port: srv.port, ignoreTLS: true });
  const dir = fs.mkdtempSync(path.join(require('os').tmpdir(), 'pm-node-src-'));
  const big = Buffer.alloc(1_000_003);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7) % 251;
  fs.writeFileSync(path.join(dir, 'big.bin'), big);
  fs.writeFileSync(path.join(dir, 'page.html'), '<p>html from a file</p>');
  const { PassThrough } = require('stream');
  await t.sendMail({
    from: 'a@example.com',
    to: 'b@example.com',
    subject: 'sources',
    text: new PassThrough().end('text from a stream'),
    html: { path: path.join(dir, 'page.html') },
    attachments: [
      { filename: 'big.bin', content: fs.createReadStream(path.join(dir, 'big.bin')) },
      { filename: 'piped.bin', content: new PassThrough().end(Buffer.from([0, 1, 2, 255])) },
      { filename: 'hello.txt', path: 'data:text/plain;base64,aGVsbG8gd29ybGQ=' },
    ],
  });
  const data = (await srv.waitFor(1))[0].data;
  const text = data.toString();
  assert.ok(text.includes('text from a stream'), text.slice(0, 2000));
  assert.ok(text.includes('<p>html from a file</p>'));
  assert.ok(part(data, 'big.bin').equals(big), 'file stream arrived altered');
  assert.deepEqual([...part(data, 'piped.bin')], [0, 1, 2, 255]);
  assert.equal(part(data, 'hello.txt').toString(), 'hello world');
  // An unreachable URL, a missing file: a clear EMESSAGE, nothing sent.
  for (const mail of [
    { html: { path: 'http://127.0.0.2/x.html' } },
    { attachments: [{ filename: 'x', href: 'https://127.0.0.2/x' }] },
    { text: { path: path.join(dir, 'missing.txt') } },
  ]) {
    await assert.rejects(t.sendMail({ from: 'a@example.com', to: 'b@example.com', ...mail }), (e) => e.code === 'EMESSAGE');
  }
  assert.equal((await srv.waitFor(1)).length, 1);
  fs.rmSync(dir, { recursive: true });
});

test('partial refusal is in info.rejected', async () => {
  const srv = await capture('--refuse', 'no@example.com');
  const t = nodemailer.createTransport({ host: '127.0.0.1', port: srv.port, ignoreTLS: true });
  const info = await t.sendMail({ from: 'a@example.com', to: 'ok@example.com, no@example.com', text: 'x' });
  assert.deepEqual(info.accepted, ['ok@example.com']);
  assert.deepEqual(info.rejected, ['no@example.com']);
  assert.equal(info.rejectedErrors[0].responseCode, 550);
  assert.deepEqual((await srv.waitFor(1))[0].meta.rcpt_tos, ['ok@example.com']);
});

async function failure(options, mail = {}) {
  const t = nodemailer.createTransport(options);
  try {
    await t.sendMail({ from: 'a@example.com', to: 'b@example.com', subject: 's', text: 't', ...mail });
  } catch (err) {
    return err;
  }
  assert.fail('no error');
}

test('each error code comes from a real fault', async () => {
  const auth = await capture('--starttls', '--user', 'u:right');
  let err = await failure({ host: 'localhost', port: auth.port, auth: { user: 'u', pass: 'wrong' }, tls: { ca: ca() } });
  assert.equal(err.code, 'EAUTH');
  assert.equal(err.responseCode, 535);
  assert.equal(err.command, 'AUTH');
  assert.ok(!err.message.includes('wrong'));

  err = await failure({ host: 'localhost', port: auth.port });
  assert.equal(err.code, 'ETLS', err.message);

  const refusedSender = await sink('-f', 'mail');
  err = await failure({ host: '127.0.0.1', port: refusedSender.port, ignoreTLS: true });
  assert.equal(err.code, 'EENVELOPE');
  assert.equal(err.command, 'MAIL FROM');

  const refusedAll = await capture('--refuse', 'b@example.com');
  err = await failure({ host: '127.0.0.1', port: refusedAll.port, ignoreTLS: true });
  assert.equal(err.code, 'EENVELOPE');
  assert.deepEqual(err.rejected, ['b@example.com']);
  assert.equal(err.responseCode, 550);
  assert.deepEqual(
    err.rejectedErrors.map((r) => [r.recipient, r.responseCode]),
    [['b@example.com', 550]]
  );

  const closing = await sink('-Q', 'mail');
  err = await failure({ host: '127.0.0.1', port: closing.port, ignoreTLS: true });
  assert.equal(err.responseCode, 421);
  assert.equal(err.transient, true);

  const dropping = await sink('-q', '.');
  err = await failure({ host: '127.0.0.1', port: dropping.port, ignoreTLS: true });
  // The server closed the connection mid-DATA: Nodemailer's ECONNECTION (retry code checks it).
  assert.equal(err.code, 'ECONNECTION', err.message);
  assert.equal(err.message, 'Connection closed unexpectedly');
  assert.ok(err.detail, 'the engine account is kept');
  assert.equal(err.command, 'DATA');

  const slow = await sink('-p', '-W', 'mail:5');
  const start = Date.now();
  err = await failure({ host: '127.0.0.1', port: slow.port, ignoreTLS: true, socketTimeout: 500 });
  assert.equal(err.code, 'ETIMEDOUT');
  assert.ok(Date.now() - start < 4000);

  err = await failure({ host: '127.0.0.1', port: 1, ignoreTLS: true });
  assert.equal(err.code, 'ECONNECTION');

  err = await failure({ host: '127.0.0.1', port: refusedAll.port }, { subject: 'x\r\nBcc: evil@example.com' });
  assert.equal(err.code, 'EMESSAGE');
  err = await failure({ host: '127.0.0.1', port: refusedAll.port }, { to: 'not-an-address' });
  assert.ok(['EENVELOPE', 'EMESSAGE'].includes(err.code), err.code);
});

test('a port/secure mismatch fails fast and says which setting to change', async () => {
  // secure: true against a STARTTLS server on its usual port 2525.
  const plain = await capture('--starttls', '--port', '2525');
  let start = Date.now();
  let err = await failure({ host: 'localhost', port: plain.port, secure: true, tls: { ca: ca() } });
  assert.equal(err.code, 'ETLS');
  assert.match(err.message, /secure: false/);
  assert.ok(Date.now() - start < 3000);
  // secure: false against implicit TLS on 465: no 2-minute wait for a greeting.
  const implicit = await capture('--implicit-tls', '--port', '465');
  start = Date.now();
  err = await failure({ host: 'localhost', port: implicit.port, secure: false, tls: { ca: ca() } });
  assert.equal(err.code, 'ETIMEDOUT');
  assert.match(err.message, /secure: true/);
  assert.ok(Date.now() - start < 8000);
  // And the matching settings work on both.
  const ok = await nodemailer
    .createTransport({ host: 'localhost', port: implicit.port, tls: { ca: ca() } })
    .sendMail({ from: 'a@example.com', to: 'b@example.com', text: 'x' });
  assert.match(ok.response, /^250/);
});

test("service: 'Mailgun' resolves host, port and secure without connecting", () => {
  assert.deepStrictEqual(nodemailer.wellKnown('Mailgun'), { description: 'Mailgun', host: 'smtp.mailgun.org', port: 465, secure: true });
  assert.equal(nodemailer.wellKnown('someone@GoogleMail.com').description, 'Gmail');
  assert.strictEqual(nodemailer.wellKnown('zzzzzz'), false);
  assert.equal(nodemailer.wellKnown('gmail').host, 'smtp.gmail.com');
  assert.equal(nodemailer.wellKnown('Google Mail').port, 465);
  assert.equal(nodemailer.wellKnown('brevo').host, 'smtp-relay.brevo.com');
  assert.equal(nodemailer.wellKnown('SES-EU-WEST-1').host, 'email-smtp.eu-west-1.amazonaws.com');
  const t = nodemailer.createTransport({ service: 'mailgun', auth: { user: 'u', pass: 'p' } });
  assert.equal(t.options.host, 'smtp.mailgun.org');
  assert.equal(t.options.secure, true);
  // Nodemailer's fallback: an unknown service leaves the given host and port in place.
  const own = nodemailer.createTransport({ service: 'NoSuchService', host: 'mx.example.test', port: 2525 });
  assert.equal(own.options.host, 'mx.example.test');
  assert.equal(own.options.port, 2525);
  assert.equal(nodemailer.wellKnown('GoogleMail.com').description, 'Gmail');
  assert.equal(nodemailer.wellKnown('seznam.cz').host, 'smtp.seznam.cz');
  assert.equal(nodemailer.wellKnown('Proton').port, 587);
});

test('parseConnectionUrl: the core parser, in the shape Nodemailer returns', async () => {
  const url = 'smtps://u%40x:p%3Aw@mail.example.com:2465/?pool=true&maxConnections=3&tls.rejectUnauthorized=false&x.y=1&name=me';
  assert.deepStrictEqual(nodemailer.parseConnectionUrl(url), {
    secure: true,
    host: 'mail.example.com',
    port: 2465,
    auth: { user: 'u@x', pass: 'p:w' },
    pool: true,
    maxConnections: 3,
    tls: { rejectUnauthorized: false },
    name: 'me',
  });
  assert.deepStrictEqual(nodemailer.parseConnectionUrl('smtp://[::1]'), { secure: false, host: '::1' });
  assert.throws(() => nodemailer.parseConnectionUrl('http://x'), (e) => e.kind === 'invalid_input');
  // As Nodemailer, a transport from a bad URL is made; it fails when used (nothing dialled).
  await assert.rejects(nodemailer.createTransport('ftp://x').verify(), (e) => e.kind === 'invalid_input');
});

test('DKIM signature verifies with dkimpy', async () => {
  const srv = await capture();
  const dir = certs();
  const t = nodemailer.createTransport({
    host: '127.0.0.1',
    port: srv.port,
    ignoreTLS: true,
    dkim: { domainName: 'example.com', keySelector: 'sel', privateKey: fs.readFileSync(path.join(dir, 'dkim-rsa.pkcs8.pem'), 'utf8') },
  });
  await t.sendMail({ from: 'a@example.com', to: 'b@example.com', subject: 'signed', html: '<b>signed</b>' });
  const [got] = await srv.waitFor(1);
  assert.ok(got.data.toString().startsWith('DKIM-Signature:'));
  const result = dkimVerify(got.eml, path.join(dir, 'dkim-rsa.txt'));
  assert.ok(result.ok, result.output);
  fs.writeFileSync(got.eml, got.data.toString().replace('signed</b>', 'forged</b>'));
  assert.equal(dkimVerify(got.eml, path.join(dir, 'dkim-rsa.txt')).ok, false);
});

test('streamTransport with dkim: the built message carries a signature dkimpy verifies', async () => {
  const dir = certs();
  const t = nodemailer.createTransport({
    streamTransport: true,
    buffer: true,
    dkim: { domainName: 'example.com', keySelector: 'sel', privateKey: fs.readFileSync(path.join(dir, 'dkim-rsa.pkcs8.pem'), 'utf8') },
  });
  const info = await t.sendMail({ from: 'a@example.com', to: 'b@example.com', subject: 'signed', text: 'streamed and signed' });
  assert.ok(info.message.toString().startsWith('DKIM-Signature:'));
  const eml = path.join(require('os').tmpdir(), `pm-stream-dkim-${process.pid}.eml`);
  try {
    fs.writeFileSync(eml, info.message);
    const result = dkimVerify(eml, path.join(dir, 'dkim-rsa.txt'));
    assert.ok(result.ok, result.output);
    fs.writeFileSync(eml, info.message.toString().replace('streamed and signed', 'streamed and forged'));
    assert.equal(dkimVerify(eml, path.join(dir, 'dkim-rsa.txt')).ok, false);
  } finally {
    fs.unlinkSync(eml);
  }
  const unsigned = await nodemailer.createTransport({ streamTransport: true, buffer: true }).sendMail({ from: 'a@example.com', to: 'b@example.com', text: 'x' });
  assert.ok(!unsigned.message.toString().includes('DKIM-Signature'));
});

test('a pool of 4 delivers 500 concurrent messages exactly once', async () => {
  const srv = await capture();
  const t = nodemailer.createTransport({
    host: '127.0.0.1',
    port: srv.port,
    ignoreTLS: true,
    pool: true,
    maxConnections: 4,
    maxMessages: Infinity,
  });
  let idle = 0;
  t.on('idle', () => idle++);
  const sends = [];
  for (let i = 0; i < 500; i++) sends.push(t.sendMail({ from: 'a@example.com', to: 'b@example.com', subject: `pool ${i}`, text: 'x' }));
  const infos = await Promise.all(sends);
  assert.equal(infos.length, 500);
  const got = await srv.waitFor(500);
  const subjects = new Set(got.map((g) => header(g.data, 'Subject')));
  assert.equal(subjects.size, 500);
  assert.equal(got.length, 500);
  assert.ok(new Set(got.map((g) => g.meta.session)).size <= 4);
  assert.ok(t.isIdle());
  await t.close();
  assert.ok(idle > 0);
});

test('the event loop keeps running during a slow send; verify() works', async () => {
  const slow = await sink('-p', '-W', 'mail:1');
  const t = nodemailer.createTransport({ host: '127.0.0.1', port: slow.port, ignoreTLS: true });
  let ticks = 0;
  const timer = setInterval(() => ticks++, 10);
  await t.sendMail({ from: 'a@example.com', to: 'b@example.com', text: 'x' });
  clearInterval(timer);
  assert.ok(ticks > 20, `only ${ticks} ticks`);
  assert.equal(await t.verify(), true);
});

test('logger + debug log the SMTP traffic with secrets masked', async () => {
  const srv = await capture('--user', 'u:topsecret');
  const lines = [];
  const logger = {};
  for (const level of ['trace', 'debug', 'info', 'warn', 'error', 'fatal']) {
    logger[level] = (data, msg, ...args) => lines.push(`${level} ${require('util').format(msg, ...args)}`);
  }
  const t = nodemailer.createTransport({
    host: '127.0.0.1',
    port: srv.port,
    ignoreTLS: true,
    auth: { user: 'u', pass: 'topsecret' },
    logger,
    debug: true,
  });
  const info = await t.sendMail({ from: 'a@example.com', to: 'b@example.com', text: 'x' });
  const text = lines.join('\n');
  assert.match(text, /debug C: EHLO /);
  assert.match(text, /debug S: 250/);
  assert.match(text, /debug C: AUTH PLAIN \*\*\*\*/);
  assert.ok(text.includes(`info Message ${info.messageId} sent to <b@example.com>`), text);
  assert.ok(!text.includes('topsecret') && !text.includes(Buffer.from('\0u\0topsecret').toString('base64')));
});

test('a pending send keeps the process alive; an idle pooled transport does not', async () => {
  const srv = await capture();
  // A script that starts sends and never awaits them: node must not exit before they settle.
  const script = `
    const t = require(${JSON.stringify(path.resolve(__dirname, '..'))}).createTransport({ host: '127.0.0.1', port: ${srv.port}, ignoreTLS: true, pool: true });
    const big = 'x'.repeat(200000); // built on a runtime thread, not on the event loop
    t.sendMail({ from: 'a@example.com', to: 'b@example.com', subject: 'small', text: 'x' }).then((i) => console.log(i.response.slice(0, 3)));
    t.sendMail({ from: 'a@example.com', to: 'b@example.com', subject: 'large', text: big }).then((i) => {
      console.log(i.response.slice(0, 3));
      // Started once nothing is in flight: the loop is held again.
      setImmediate(() => t.sendMail({ from: 'a@example.com', to: 'b@example.com', subject: 'later', text: 'x' }).then((i) => console.log(i.response.slice(0, 3))));
    });`;
  const { spawnSync } = require('child_process');
  const started = Date.now();
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20000 });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), ['250', '250', '250']);
  assert.ok(Date.now() - started < 15000, 'exited once idle, without close()');
  const got = await srv.waitFor(3);
  assert.deepEqual(got.map((g) => header(g.data, 'Subject')).sort(), ['large', 'later', 'small']);
});

// The trust matrix over implicit TLS: polymailer accepts exactly what Node's own TLS (OpenSSL,
// what Nodemailer uses) accepts with the same `ca` / `servername` / `rejectUnauthorized`.
const TRUST_CASES = [
  ['server', { ca: 'ca.pem' }, true],
  ['server', { ca: 'untrusted-ca.pem' }, false],
  ['selfsigned-ca', { ca: 'selfsigned-ca.pem' }, true],
  ['selfsigned-ca', { ca: 'selfsigned-ca.pem', servername: 'other.example' }, false],
  ['selfsigned-ca', { ca: 'ca.pem' }, false],
  ['snakeoil', { ca: 'snakeoil.pem' }, true],
  ['expired', { ca: 'ca.pem' }, false],
  ['expired', { ca: 'ca.pem', rejectUnauthorized: false }, true],
  ['expired-selfsigned', { ca: 'expired-selfsigned.pem' }, false],
  ['wronghost', { ca: 'ca.pem' }, false],
  ['untrusted', { ca: 'ca.pem' }, false],
];

test('TLS trust matrix matches Node TLS (OpenSSL) for each certificate shape', async () => {
  const tlsNode = require('tls');
  const servers = {};
  for (const [cert, opts, expected] of TRUST_CASES) {
    servers[cert] = servers[cert] || (await capture('--implicit-tls', '--cert', cert));
    const port = servers[cert].port;
    const tls = { ca: fs.readFileSync(path.join(certs(), opts.ca)), servername: opts.servername, rejectUnauthorized: opts.rejectUnauthorized };
    const openssl = await new Promise((resolve) => {
      const s = tlsNode.connect({ host: 'localhost', port, ...tls, servername: tls.servername || 'localhost' }, () => (s.end(), resolve(true)));
      s.on('error', () => resolve(false));
    });
    const ours = await nodemailer
      .createTransport({ host: 'localhost', port, secure: true, tls })
      .sendMail({ from: 'a@example.com', to: 'b@example.com', subject: `trust ${cert}`, text: 'x' })
      .then(
        () => true,
        (e) => (assert.equal(e.kind, 'tls', `${cert}: ${e.message}`), false)
      );
    assert.deepEqual([openssl, ours], [expected, expected], `${cert} ${JSON.stringify(opts)}`);
  }
  const delivered = Object.values(servers).reduce((n, s) => n + s.messages().length, 0);
  assert.equal(delivered, TRUST_CASES.filter((c) => c[2]).length);
});

test('client certificate (tls.cert / tls.key) for a server that requires one', async () => {
  const dir = certs();
  const srv = await capture('--starttls', '--client-ca', path.join(dir, 'ca.pem'));
  const base = { host: 'localhost', port: srv.port, requireTLS: true };
  const mail = { from: 'a@example.com', to: 'b@example.com', subject: 'mtls', text: 'x' };
  await assert.rejects(nodemailer.createTransport({ ...base, tls: { ca: ca() } }).sendMail(mail));
  const info = await nodemailer
    .createTransport({ ...base, tls: { ca: ca(), cert: fs.readFileSync(path.join(dir, 'client.pem')), key: fs.readFileSync(path.join(dir, 'client.key'), 'utf8') } })
    .sendMail(mail);
  assert.match(info.response, /^250/);
  assert.throws(
    () => nodemailer.createTransport({ ...base, tls: { ca: ca(), cert: fs.readFileSync(path.join(dir, 'client.pem')), key: fs.readFileSync(path.join(dir, 'other.key')) } }),
    (e) => e.kind === 'tls' && e.code === 'ETLS'
  );
  assert.throws(() => nodemailer.createTransport({ ...base, tls: { pfx: Buffer.from('x') } }), (e) => e.kind === 'tls');
  const encrypted = { ca: ca(), cert: fs.readFileSync(path.join(dir, 'client.pem')), key: fs.readFileSync(path.join(dir, 'client-encrypted.key')) };
  await nodemailer.createTransport({ ...base, tls: { ...encrypted, passphrase: 'key secret' } }).sendMail(mail);
  assert.throws(() => nodemailer.createTransport({ ...base, tls: { ...encrypted, passphrase: 'wrong' } }), (e) => e.kind === 'tls');
  const got = await srv.waitFor(2);
  assert.equal(got.length, 2);
  assert.equal(got[0].meta.client_cert, 'polymailer client');
});
