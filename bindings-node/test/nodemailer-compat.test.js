'use strict';
// Nodemailer behaviours of issue #18 against real servers: smtp-server (npm) on 127.0.0.1, a
// local OAuth2 token endpoint and a local HTTP CONNECT proxy. Every assertion is on what the
// server received or on the error's code/kind.

const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const http = require('http');
const net = require('net');
const { SMTPServer } = require('smtp-server');
const nodemailer = require('..');

const servers = [];
after(() => servers.forEach((s) => s.close()));

/** An smtp-server on an ephemeral port; `received` holds { session, from, to, data } per message. */
async function smtp(options = {}) {
  const received = [];
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    authOptional: true,
    logger: false,
    onData(stream, session, callback) {
      const chunks = [];
      stream.on('data', (c) => chunks.push(c));
      stream.on('end', () => {
        received.push({
          session: session.id,
          user: session.user,
          from: session.envelope.mailFrom.address,
          to: session.envelope.rcptTo.map((r) => r.address),
          data: Buffer.concat(chunks).toString(),
        });
        callback();
      });
    },
    ...options,
  });
  server.on('error', () => {}); // a client that refuses the certificate ends the session
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return { server, received, port: server.server.address().port };
}

const mail = (extra = {}) => ({ from: 'a@example.com', to: 'b@example.com', subject: 's', text: 'body', ...extra });
const perSession = (received) => Object.values(received.reduce((m, r) => ({ ...m, [r.session]: (m[r.session] || 0) + 1 }), {}));

test('streamTransport with buffer: the message as it would be sent, with list headers', async () => {
  const t = nodemailer.createTransport({ streamTransport: true, buffer: true });
  const info = await t.sendMail(mail({ bcc: 'c@example.com', list: { unsubscribe: { url: 'https://example.test/u', comment: 'ünsubscribe' }, id: 'mylist.example.test' } }));
  assert.ok(Buffer.isBuffer(info.message));
  const raw = info.message.toString();
  assert.deepEqual(info.envelope, { from: 'a@example.com', to: ['b@example.com', 'c@example.com'] });
  assert.match(raw, /^Message-ID: /m);
  assert.ok(raw.includes(`Message-ID: ${info.messageId}`));
  assert.ok(raw.includes('\r\nList-Unsubscribe: <https://example.test/u> (=?UTF-8?Q?=C3=BCnsubscribe?=)\r\n'), raw);
  assert.ok(raw.includes('\r\nList-ID: <mylist.example.test>\r\n'));
  // DEL can be neither quoted nor escaped: an encoded word.
  const del = await t.sendMail(mail({ list: { id: { url: 'mylist.example.test', comment: 'a\x7fb' } } }));
  assert.ok(del.message.toString().includes('List-ID: =?UTF-8?Q?a=7Fb?= <mylist.example.test>'));
  // newline: 'unix' gives LF line ends; without buffer, a stream.
  const unix = nodemailer.createTransport({ streamTransport: true, newline: 'unix' });
  const streamed = await unix.sendMail(mail());
  const chunks = [];
  for await (const c of streamed.message) chunks.push(c);
  const text = Buffer.concat(chunks).toString();
  assert.ok(!text.includes('\r\n') && text.includes('\nSubject: s\n'));
  // A CR/LF in a list comment is refused, nothing produced.
  await assert.rejects(t.sendMail(mail({ list: { help: { url: 'https://x.test/h', comment: 'x\r\nX-Injected: yes' } } })), (e) => e.kind === 'invalid_input');
});

test('getTestMessageUrl reads the trailing [STATUS MSGID] block', () => {
  assert.equal(nodemailer.getTestMessageUrl({ response: '250 Accepted [STATUS=new MSGID=abc.1]' }), 'https://ethereal.email/message/abc.1');
  assert.equal(nodemailer.getTestMessageUrl({ response: '250 OK [foo] [STATUS=new MSGID=abc]' }), 'https://ethereal.email/message/abc');
  for (const response of ['250 Accepted', '250 [STATUS=new MSGID=x] trailing', '[STATUS=new MSGID=x]y]', '[]', '250 [MSGID=abc]', '['.repeat(50000)]) {
    assert.equal(nodemailer.getTestMessageUrl({ response }), false, response.slice(0, 40));
  }
  assert.equal(nodemailer.getTestMessageUrl(false), false);
  assert.equal(typeof nodemailer.createTestAccount, 'function');
});

test('a connection URL without // is read as Nodemailer reads it', async () => {
  const srv = await smtp();
  const t = nodemailer.createTransport(`smtp:127.0.0.1:${srv.port}?ignoreTLS=true`);
  await t.sendMail(mail());
  assert.equal(srv.received.length, 1);
});

test('OAuth2: oauth2_provision_cb once, then a token refresh after expiry; no way to get a token is EAUTH', async () => {
  const srv = await smtp({
    authMethods: ['XOAUTH2'],
    authOptional: false,
    onAuth(auth, session, cb) {
      if (auth.method === 'XOAUTH2' && auth.username === 'u@example.com' && ['tok-1', 'tok-2'].includes(auth.accessToken)) return cb(null, { user: auth.accessToken });
      cb(null, { data: { status: '401', schemes: 'bearer', scope: 'x' } });
    },
  });
  const base = { host: '127.0.0.1', port: srv.port, ignoreTLS: true };
  // 1. provision callback: asked once, the token reused.
  const t = nodemailer.createTransport({ ...base, auth: { type: 'OAuth2', user: 'u@example.com' } });
  let asked = 0;
  t.set('oauth2_provision_cb', (user, renew, cb) => {
    asked++;
    cb(null, 'tok-1');
  });
  await t.sendMail(mail());
  await t.sendMail(mail());
  assert.equal(asked, 1);
  assert.deepEqual(srv.received.map((r) => r.user), ['tok-1', 'tok-1']);

  // 2. refresh token against a local token endpoint; an expired token is refreshed, 'token' emitted.
  let posted = null;
  const endpoint = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      posted = new URLSearchParams(body);
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ access_token: 'tok-2', expires_in: 3600 }));
    });
  });
  await new Promise((r) => endpoint.listen(0, '127.0.0.1', r));
  servers.push(endpoint);
  const r = nodemailer.createTransport({
    ...base,
    auth: { type: 'OAuth2', user: 'u@example.com', clientId: 'cid', clientSecret: 'sec', refreshToken: 'rt', accessToken: 'old', expires: Date.now() - 1000, accessUrl: `http://127.0.0.1:${endpoint.address().port}/token` },
  });
  const tokens = [];
  r.on('token', (tk) => tokens.push(tk));
  await r.sendMail(mail());
  assert.equal(posted.get('grant_type'), 'refresh_token');
  assert.equal(posted.get('refresh_token'), 'rt');
  assert.equal(posted.get('client_id'), 'cid');
  assert.deepEqual(tokens.map((x) => [x.user, x.accessToken]), [['u@example.com', 'tok-2']]);
  assert.equal(srv.received.at(-1).user, 'tok-2');

  // 3. nothing to get a token with: the send fails with EAUTH, nothing delivered; a token with
  // CR/LF is refused before the wire.
  const before = srv.received.length;
  const bad = nodemailer.createTransport({ ...base, auth: { type: 'OAuth2', user: 'u@example.com' } });
  bad.set('oauth2_provision_cb', (user, renew, cb) => cb(null, 'tok-1\r\nMAIL FROM:<evil@example.com>'));
  await assert.rejects(bad.sendMail(mail()), (e) => e.kind === 'invalid_input');
  const none = nodemailer.createTransport({ ...base, auth: { type: 'OAuth2', user: 'u@example.com' } });
  await assert.rejects(none.sendMail(mail()), (e) => e.code === 'EAUTH');
  assert.equal(srv.received.length, before);
});

test('forceAuth: credentials are used only when AUTH is offered, unless forced', async () => {
  const srv = await smtp({ disabledCommands: ['STARTTLS', 'AUTH'] });
  const base = { host: '127.0.0.1', port: srv.port, ignoreTLS: true, auth: { user: 'zzz', pass: 'p' } };
  await nodemailer.createTransport(base).sendMail(mail());
  assert.equal(srv.received.length, 1);
  await assert.rejects(nodemailer.createTransport({ ...base, forceAuth: true }).sendMail(mail()), (e) => e.code === 'EAUTH');
  assert.equal(srv.received.length, 1);
  // verify() with forceAuth and no credentials: fine where AUTH is not offered, ENOAUTH where it is.
  const noCreds = { host: '127.0.0.1', ignoreTLS: true, forceAuth: true };
  assert.equal(await nodemailer.createTransport({ ...noCreds, port: srv.port }).verify(), true);
  const offering = await smtp({ authMethods: ['PLAIN'] });
  await assert.rejects(nodemailer.createTransport({ ...noCreds, port: offering.port }).verify(), (e) => e.code === 'ENOAUTH');
  assert.equal(await nodemailer.createTransport({ ...noCreds, forceAuth: false, port: offering.port }).verify(), true);
});

test('getSocket and an HTTP CONNECT proxy carry the session; the real host still names the server', async () => {
  const srv = await smtp();
  let given = 0;
  const viaSocket = nodemailer.createTransport({
    host: 'smtp.example.test',
    port: 2525,
    ignoreTLS: true,
    getSocket(options, callback) {
      given++;
      assert.equal(options.host, 'smtp.example.test');
      const socket = net.connect(srv.port, '127.0.0.1', () => callback(null, { connection: socket }));
    },
  });
  await viaSocket.sendMail(mail());
  assert.equal(given, 1);
  assert.equal(srv.received.length, 1);

  const connects = [];
  const proxy = http.createServer();
  proxy.on('connect', (req, client) => {
    connects.push(req.url);
    const upstream = net.connect(srv.port, '127.0.0.1', () => {
      client.write('HTTP/1.1 200 Connection established\r\n\r\n');
      upstream.pipe(client);
      client.pipe(upstream);
    });
  });
  await new Promise((r) => proxy.listen(0, '127.0.0.1', r));
  servers.push(proxy);
  const viaProxy = nodemailer.createTransport({ host: 'smtp.example.test', port: 2525, ignoreTLS: true, proxy: `http://127.0.0.1:${proxy.address().port}` });
  await viaProxy.sendMail(mail());
  assert.deepEqual(connects, ['smtp.example.test:2525']);
  assert.equal(srv.received.length, 2);
  // Plain-text AUTH to the (remote) host behind the tunnel is still refused, nothing sent.
  assert.throws(
    () => nodemailer.createTransport({ host: 'smtp.example.test', port: 2525, ignoreTLS: true, auth: { user: 'u', pass: 'p' }, proxy: `http://127.0.0.1:${proxy.address().port}` }),
    (e) => e.kind === 'invalid_input'
  );
  assert.equal(srv.received.length, 2);
});

test('pool: first idle event, maxMessages counts what a reused connection sent, messages spread over connections', async () => {
  const srv = await smtp();
  const base = { host: '127.0.0.1', port: srv.port, ignoreTLS: true, pool: true };
  const idle = nodemailer.createTransport(base);
  await new Promise((resolve) => idle.once('idle', resolve));
  idle.close();

  const capped = nodemailer.createTransport({ ...base, maxConnections: 1, maxMessages: 5 });
  await capped.sendMail(mail()); // the connection is reused by the next batch
  await Promise.all(Array.from({ length: 22 }, () => capped.sendMail(mail())));
  await capped.close();
  const counts = perSession(srv.received);
  assert.equal(counts.reduce((a, b) => a + b, 0), 23);
  assert.ok(Math.max(...counts) <= 5, `a connection carried more than maxMessages: ${counts}`);

  srv.received.length = 0;
  const spread = nodemailer.createTransport({ ...base, maxConnections: 5 });
  await Promise.all(Array.from({ length: 100 }, () => spread.sendMail(mail())));
  await spread.close();
  const shares = perSession(srv.received);
  assert.equal(shares.length, 5);
  assert.ok(Math.min(...shares) >= 10, `uneven spread: ${shares}`);
});

test('pool close(): messages not yet handed to a connection fail, never sent', async () => {
  const srv = await smtp();
  const t = nodemailer.createTransport({ host: '127.0.0.1', port: srv.port, ignoreTLS: true, pool: true, maxConnections: 1 });
  const sends = Array.from({ length: 20 }, () => t.sendMail(mail()).then(() => 'sent', (e) => e));
  t.close();
  const outcomes = await Promise.all(sends);
  const failed = outcomes.filter((o) => o !== 'sent');
  assert.ok(failed.length > 0);
  assert.ok(failed.every((e) => e.code === 'ECONNECTION'));
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(srv.received.length, outcomes.length - failed.length);
});

test('lmtp: LHLO, and each recipient answered on its own', async () => {
  const srv = await smtp({
    lmtp: true,
    onRcptTo(address, session, cb) {
      cb();
    },
  });
  const t = nodemailer.createTransport({ host: '127.0.0.1', port: srv.port, ignoreTLS: true, lmtp: true });
  const info = await t.sendMail(mail({ to: ['b@example.com', 'c@example.com'] }));
  assert.deepEqual(info.accepted, ['b@example.com', 'c@example.com']);
  assert.equal(srv.received.length, 1);
});

test('tls.rejectUnauthorized false accepts an X.509 v1 certificate (smtp-server\'s own)', async () => {
  const srv = await smtp({ secure: true });
  const t = nodemailer.createTransport({ host: '127.0.0.1', port: srv.port, secure: true, tls: { rejectUnauthorized: false } });
  await t.sendMail(mail());
  assert.equal(srv.received.length, 1);
  // Verification on: refused, nothing sent.
  const strict = nodemailer.createTransport({ host: '127.0.0.1', port: srv.port, secure: true });
  await assert.rejects(strict.sendMail(mail()), (e) => e.code === 'ETLS');
  assert.equal(srv.received.length, 1);
});

test('the transport-plugin interface: SMTPTransport.send({ data, message })', async () => {
  const srv = await smtp();
  const { PassThrough } = require('stream');
  const builder = {
    getEnvelope: () => ({ from: 'a@example.com', to: ['b@example.com'] }),
    messageId: () => '<id@example.com>',
    createReadStream() {
      const s = new PassThrough();
      setImmediate(() => s.end('Subject: plugin\r\n\r\nline one\nline two\n'));
      return s;
    },
  };
  const t = new nodemailer.SMTPTransport({ host: '127.0.0.1', port: srv.port, ignoreTLS: true });
  assert.equal(t.name, 'SMTP');
  assert.equal(new nodemailer.SMTPPool({ host: '127.0.0.1' }).name, 'SMTP (pool)');
  const info = await new Promise((resolve, reject) => t.send({ data: {}, message: builder }, (e, i) => (e ? reject(e) : resolve(i))));
  assert.deepEqual(info.accepted, ['b@example.com']);
  assert.equal(srv.received[0].data, 'Subject: plugin\r\n\r\nline one\r\nline two\r\n');
  assert.equal(nodemailer.createTransport(t), t);
});

test('opportunisticTLS: a server that refuses STARTTLS is used in plain text; without it the send fails', async () => {
  const sessions = [];
  const server = net.createServer((socket) => {
    const seen = [];
    sessions.push(seen);
    let buf = '';
    let data = false;
    socket.write('220 scripted ESMTP\r\n');
    socket.on('data', (chunk) => {
      buf += chunk;
      let i;
      while ((i = buf.indexOf('\r\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (data) {
          if (line === '.') {
            data = false;
            socket.write('250 queued\r\n');
          }
          continue;
        }
        seen.push(line.split(' ')[0].toUpperCase());
        if (/^EHLO/i.test(line)) socket.write('250-scripted\r\n250 STARTTLS\r\n');
        else if (/^STARTTLS/i.test(line)) socket.write('454 4.7.0 TLS not available\r\n');
        else if (/^DATA/i.test(line)) {
          data = true;
          socket.write('354 go\r\n');
        } else if (/^QUIT/i.test(line)) socket.end('221 bye\r\n');
        else socket.write('250 ok\r\n');
      }
    });
    socket.on('error', () => {});
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  const base = { host: '127.0.0.1', port: server.address().port };
  await assert.rejects(nodemailer.createTransport(base).sendMail(mail()), (e) => e.code === 'ETLS' && e.responseCode === 454);
  assert.ok(!sessions[0].includes('MAIL'));
  const info = await nodemailer.createTransport({ ...base, opportunisticTLS: true }).sendMail(mail());
  assert.match(info.response, /^250 /);
  assert.deepEqual(sessions[1].slice(0, 5), ['EHLO', 'STARTTLS', 'MAIL', 'RCPT', 'DATA']);
});

test('without a pool each send closes its connection, a refused one too', async () => {
  let open = 0;
  const srv = await smtp({
    onConnect(session, cb) {
      open++;
      cb();
    },
    onClose() {
      open--;
    },
    onMailFrom(address, session, cb) {
      cb(address.address.startsWith('bad') ? new Error('sender refused') : null);
    },
  });
  const t = nodemailer.createTransport({ host: '127.0.0.1', port: srv.port, ignoreTLS: true });
  await t.sendMail(mail());
  await assert.rejects(t.sendMail(mail({ from: 'bad@example.com' })), (e) => e.code === 'EENVELOPE');
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(open, 0, 'a connection was left open');
  assert.equal(srv.received.length, 1);
});

test('jsonTransport: addresses as {name, address}, bodies and attachments resolved; disableFileAccess/UrlAccess refuse sources', async () => {
  const fs = require('fs');
  const os = require('os');
  const path = require('path');
  const file = path.join(os.tmpdir(), `pm-json-${process.pid}.txt`);
  fs.writeFileSync(file, 'file body');
  try {
    const t = nodemailer.createTransport({ jsonTransport: true });
    const info = await t.sendMail({
      from: '"Doe, Jane" <jane@example.com>',
      to: ['a@example.com, "B" <b@example.com>', { name: 'C', address: 'c@example.com' }],
      subject: 'json',
      text: { path: file },
      attachments: [{ filename: 'x.bin', content: Buffer.from([0, 1, 2]) }, { path: file }],
    });
    const m = JSON.parse(info.message);
    assert.deepEqual(m.from, { address: 'jane@example.com', name: 'Doe, Jane' });
    assert.deepEqual(m.to, [
      { address: 'a@example.com', name: '' },
      { address: 'b@example.com', name: 'B' },
      { address: 'c@example.com', name: 'C' },
    ]);
    assert.equal(m.text, 'file body');
    assert.deepEqual(m.attachments[0], { filename: 'x.bin', content: 'AAEC', contentType: 'application/octet-stream', encoding: 'base64' });
    assert.equal(Buffer.from(m.attachments[1].content, 'base64').toString(), 'file body');
    assert.equal(m.attachments[1].filename, path.basename(file));
    assert.equal(m.messageId, info.messageId);
    assert.deepEqual(info.envelope, { from: 'jane@example.com', to: ['a@example.com', 'b@example.com', 'c@example.com'] });
    await assert.rejects(
      t.sendMail({ from: 'a@example.com', to: 'b@example.com', text: 'x', envelope: { from: 'a@example.com>\r\nRCPT TO:<x@evil.example' } }),
      (e) => e.code !== undefined && !String(e.message).includes('\n'),
    );

    const locked = nodemailer.createTransport({ jsonTransport: true, disableFileAccess: true, disableUrlAccess: true });
    await assert.rejects(locked.sendMail({ from: 'a@example.com', to: 'b@example.com', attachments: [{ path: file }] }), { code: 'EFILEACCESS' });
    // A bare string is not an attachment form Nodemailer has: never opened as a path.
    await assert.rejects(locked.sendMail({ from: 'a@example.com', to: 'b@example.com', attachments: [file] }), { code: 'EMESSAGE', kind: 'invalid_input' });
    await assert.rejects(locked.sendMail({ from: 'a@example.com', to: 'b@example.com', html: { href: 'http://127.0.0.1:9/x' } }), { code: 'EURLACCESS' });
    const ok = await locked.sendMail({ from: 'a@example.com', to: 'b@example.com', text: 'inline', attachments: [{ path: 'data:text/plain;base64,aGk=' }] });
    assert.equal(JSON.parse(ok.message).attachments[0].content, 'aGk=');
  } finally {
    fs.unlinkSync(file);
  }
});

test('OAuth2 service account: an RS256 JWT assertion for the user is exchanged for the token', async () => {
  const crypto = require('crypto');
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const srv = await smtp({
    authMethods: ['XOAUTH2'],
    authOptional: false,
    onAuth(auth, session, cb) {
      if (auth.username === 'user@example.com' && auth.accessToken === 'svc-token') return cb(null, { user: auth.accessToken });
      cb(null, { data: { status: '401', schemes: 'bearer', scope: 'x' } });
    },
  });
  let claims = null;
  const endpoint = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const form = new URLSearchParams(body);
      const [h, p, s] = String(form.get('assertion')).split('.');
      const ok = form.get('grant_type') === 'urn:ietf:params:oauth:grant-type:jwt-bearer'
        && crypto.verify('RSA-SHA256', Buffer.from(`${h}.${p}`), publicKey, Buffer.from(s, 'base64url'));
      claims = JSON.parse(Buffer.from(p, 'base64url').toString());
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify(ok ? { access_token: 'svc-token', expires_in: 3600 } : { error: 'invalid_grant' }));
    });
  });
  await new Promise((r) => endpoint.listen(0, '127.0.0.1', r));
  servers.push(endpoint);
  const accessUrl = `http://127.0.0.1:${endpoint.address().port}/token`;
  const auth = { type: 'OAuth2', user: 'user@example.com', serviceClient: 'svc-123', privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }), accessUrl };
  const t = nodemailer.createTransport({ host: '127.0.0.1', port: srv.port, ignoreTLS: true, auth });
  await t.sendMail(mail());
  assert.equal(srv.received.at(-1).user, 'svc-token');
  assert.equal(claims.iss, 'svc-123');
  assert.equal(claims.sub, 'user@example.com');
  assert.equal(claims.aud, accessUrl);
  assert.equal(claims.scope, 'https://mail.google.com/');
  assert.equal(claims.exp - claims.iat, 300);
  // Another key: the endpoint refuses the assertion, the send fails with EAUTH, nothing sent.
  const before = srv.received.length;
  const other = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' });
  const wrong = nodemailer.createTransport({ host: '127.0.0.1', port: srv.port, ignoreTLS: true, auth: { ...auth, privateKey: other } });
  await assert.rejects(wrong.sendMail(mail()), (e) => e.code === 'EAUTH');
  assert.equal(srv.received.length, before);
});

test('href and http(s) paths are fetched (bounded); a failing URL is EMESSAGE and nothing is sent', async () => {
  const srv = await smtp();
  const web = http.createServer((req, res) => {
    if (req.url === '/body.html') return res.end('<p>fetched html</p>');
    if (req.url === '/file.bin?x=1') return res.end(Buffer.from([7, 8, 9]));
    res.statusCode = 404;
    res.end('no');
  });
  await new Promise((r) => web.listen(0, '127.0.0.1', r));
  servers.push(web);
  const base = `http://127.0.0.1:${web.address().port}`;
  const t = nodemailer.createTransport({ host: '127.0.0.1', port: srv.port, ignoreTLS: true });
  await t.sendMail(mail({ html: { href: `${base}/body.html` }, attachments: [{ path: `${base}/file.bin?x=1` }] }));
  const got = srv.received.at(-1).data;
  assert.ok(got.includes('<p>fetched html</p>'), got);
  assert.ok(got.includes('filename=file.bin'), got);
  // The fetched bytes, as 7bit (they are ASCII) or base64.
  assert.ok(got.includes('\x07\x08\x09') || got.includes(Buffer.from([7, 8, 9]).toString('base64')), got);
  const before = srv.received.length;
  await assert.rejects(t.sendMail(mail({ attachments: [{ href: `${base}/missing` }] })), (e) => e.code === 'EMESSAGE');
  await assert.rejects(t.sendMail(mail({ text: { href: 'ftp://127.0.0.1/x' } })), (e) => e.code === 'EMESSAGE');
  assert.equal(srv.received.length, before);
});

test('a connection URL with an impossible port: createTransport stands, verify and sendMail fail with the reason', async () => {
  const t = nodemailer.createTransport('smtp:user:pass@127.0.0.1:99999999');
  const vErr = await new Promise((resolve) => t.verify((err) => resolve(err)));
  assert.equal(vErr.kind, 'invalid_input');
  await assert.rejects(t.sendMail({ from: 'a@example.com', to: 'b@example.com', text: 'x' }), (e) => e.kind === 'invalid_input');
  // The same through `url:` in an options object.
  const u = nodemailer.createTransport({ url: 'smtp://127.0.0.1:99999999', logger: false });
  await assert.rejects(u.verify(), (e) => e.kind === 'invalid_input');
  assert.equal(u.isIdle(), true);
  u.close();
});

test("plugins: 'compile' edits mail.data before the build, 'stream' transforms the built message", async () => {
  const { received, port } = await smtp();
  const { Transform } = require('stream');
  const t = nodemailer.createTransport({ host: '127.0.0.1', port, ignoreTLS: true });
  // A template plugin (as nodemailer-express-handlebars does) and an async one after it.
  t.use('compile', (m, done) => {
    m.data.html = `<p>Hello ${m.data.context.name}</p>`;
    done();
  });
  t.use('compile', (m, done) =>
    setImmediate(() => {
      assert.equal(m.mailer, t);
      m.data.text = m.data.html.replace(/<[^>]+>/g, '');
      done();
    })
  );
  // A stream plugin that adds a header line in front of the message, and a processFunc.
  let seenEnvelope;
  t.use('stream', (m, done) => {
    seenEnvelope = m.message.getEnvelope();
    m.message.transform(
      () =>
        new Transform({
          transform(chunk, enc, cb) {
            if (!this.started) this.push('X-Plugin: stamped\r\n');
            this.started = true;
            cb(null, chunk);
          },
        })
    );
    m.message.processFunc((input) => input.pipe(new Transform({ transform: (c, e, cb) => cb(null, Buffer.from(c.toString().replace(/Hello/g, 'Howdy'))) })));
    done();
  });
  const info = await t.sendMail(mail({ text: undefined, context: { name: 'Ann' } }));
  assert.deepEqual(seenEnvelope, { from: 'a@example.com', to: ['b@example.com'] });
  assert.deepEqual(info.envelope, seenEnvelope);
  assert.equal(received.length, 1);
  assert.match(received[0].data, /^X-Plugin: stamped\r\n/);
  assert.match(received[0].data, /Howdy Ann/);
  assert.doesNotMatch(received[0].data, /Hello Ann/);
  assert.match(received[0].data, new RegExp(`Message-ID: ${info.messageId.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, 'i'));

  // A plugin's error fails the send, and nothing reaches the server.
  const failing = nodemailer.createTransport({ host: '127.0.0.1', port, ignoreTLS: true });
  failing.use('compile', (m, done) => done(Object.assign(new Error('template missing'), { code: 'ETEMPLATE' })));
  await assert.rejects(failing.sendMail(mail()), (e) => e.code === 'ETEMPLATE');
  const throwing = nodemailer.createTransport({ host: '127.0.0.1', port, ignoreTLS: true });
  throwing.use('stream', () => {
    throw new Error('boom');
  });
  await assert.rejects(throwing.sendMail(mail()), (e) => e.message === 'boom' && e.code === 'EMESSAGE');
  assert.equal(received.length, 1);
});
