// parseBounce over the sample corpus (tests/bounces/expected.json), VERP through a capture
// server and a real Postfix (its own bounce read back and parsed), Nodemailer's `list` option
// with one-click unsubscribe.
const { test } = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const nodemailer = require('..');
const { captureServer } = require('../../tests/servers/harness');

const SAMPLES = path.join(__dirname, '..', '..', 'tests', 'bounces');
const corpus = JSON.parse(fs.readFileSync(path.join(SAMPLES, 'expected.json'), 'utf8'));
const SECRET = 'a secret of at least 16 bytes';
const camel = (k) => k.replace(/_([a-z])/g, (_, c) => c.toUpperCase());

test('the sample corpus', () => {
  for (const [file, want] of Object.entries(corpus.files)) {
    const got = nodemailer.parseBounce(fs.readFileSync(path.join(SAMPLES, file)), { verpSecret: corpus.secret });
    for (const [k, v] of Object.entries(want)) {
      if (k === 'events') {
        assert.strictEqual(got.events.length, v.length, file);
        v.forEach((we, i) => {
          const ge = got.events[i];
          for (const [ek, ev] of Object.entries(we)) {
            const have = ek === 'verp_recipient' ? (ge.verp ? ge.verp.recipient : null) : ek === 'verified' ? ge.verp && ge.verp.verified : ge[camel(ek)];
            assert.deepStrictEqual(have, ev, `${file} ${ek}`);
          }
        });
      } else if (k === 'dmarc') {
        for (const [dk, dv] of Object.entries(v)) {
          assert.deepStrictEqual(dk === 'records' ? got.dmarc.records.length : got.dmarc[camel(dk)], dv, `${file} dmarc.${dk}`);
        }
      } else {
        assert.deepStrictEqual(got[camel(k)], v, `${file} ${k}`);
      }
    }
  }
  // Not a report: a result, never an exception.
  for (const raw of ['', Buffer.from([0, 255, 254]), 'garbage\r\n\r\n']) assert.strictEqual(nodemailer.parseBounce(raw).kind, 'none');
  assert.match(String(nodemailer.parseBounce(fs.readFileSync(path.join(SAMPLES, 'dsn-hard.eml')))), /failed nobody@example.net 5\.1\.1 hard/);
  const v = nodemailer.decodeVerp('bounces+nobody=example.net-7plvibmj-2wc4s6x7qu@bounces.example.org', corpus.secret);
  assert.deepStrictEqual([v.recipient, v.messageTag, v.verified], ['nobody@example.net', '7plvibmj', true]);
  assert.strictEqual(nodemailer.decodeVerp('alice@example.com'), null);
});

test('verp: one transaction per recipient, each sender verifiable', async () => {
  const server = await captureServer(['--refuse', 'refused@example.net']);
  try {
    const t = nodemailer.createTransport({ host: '127.0.0.1', port: server.port, ignoreTLS: true, verp: { domain: 'bounces.example.org', secret: SECRET } });
    const info = await t.sendMail({ from: 'news@example.com', to: ['a@example.com', 'b@example.net', 'refused@example.net'], subject: 'verp', text: 'hi' });
    assert.deepStrictEqual(info.accepted.sort(), ['a@example.com', 'b@example.net']);
    assert.deepStrictEqual(info.rejected, ['refused@example.net']);
    const got = await server.waitFor(2);
    assert.strictEqual(got.length, 2);
    for (const g of got) {
      const d = nodemailer.decodeVerp(g.meta.mail_from, SECRET);
      assert.ok(d.verified);
      assert.deepStrictEqual([d.recipient], g.meta.rcpt_tos);
    }
    assert.throws(() => nodemailer.createTransport({ host: '127.0.0.1', verp: { domain: 'x.example', secret: 'short' } }), (e) => e.code === 'EMESSAGE' || e.kind === 'invalid_input');
  } finally {
    await server.stop();
  }
});

test('a real Postfix bounce comes back to the VERP address and parses', async () => {
  const server = await captureServer([], 'postfix');
  try {
    const t = nodemailer.createTransport({ host: '127.0.0.1', port: server.port, ignoreTLS: true, verp: { domain: 'example.com', secret: SECRET } });
    await t.sendMail({ from: 'news@example.com', to: 'nobody@bounce.example', subject: 'b', text: 'hi', messageId: '<js-pf-1@example.com>' });
    const got = await server.waitFor(1);
    assert.strictEqual(got.length, 1);
    assert.strictEqual(got[0].meta.mail_from, '');
    const r = nodemailer.parseBounce(got[0].data, { verpSecret: SECRET });
    assert.strictEqual(r.kind, 'dsn');
    const [e] = r.events;
    assert.deepStrictEqual([e.recipient, e.action, e.status, e.bounceClass], ['nobody@bounce.example', 'failed', '5.1.1', 'hard']);
    assert.strictEqual(e.originalMessageId, 'js-pf-1@example.com');
    assert.ok(e.verp.verified && e.messageMatches);
  } finally {
    await server.stop();
  }
});

test('list headers and one-click unsubscribe', async () => {
  const server = await captureServer([]);
  try {
    const t = nodemailer.createTransport({ host: '127.0.0.1', port: server.port, ignoreTLS: true });
    await t.sendMail({
      from: 'news@example.com',
      to: 'a@example.com',
      subject: 'list',
      text: 'hi',
      list: {
        unsubscribe: [['https://example.com/u/1', { url: 'unsub@example.com', comment: 'Unsubscribe' }]],
        help: ['admin@example.com?subject=help', 'https://example.com/help'],
        id: { url: 'news.example.com', comment: 'News' },
        oneClick: true,
      },
    });
    const text = (await server.waitFor(1))[0].data.toString().replace(/\r\n /g, ' ');
    assert.match(text, /\r\nList-Unsubscribe: <https:\/\/example\.com\/u\/1>, <mailto:unsub@example\.com> \(Unsubscribe\)\r\n/);
    // Two elements in Nodemailer's outer array: two List-Help headers.
    assert.strictEqual(text.match(/\r\nList-Help: /g).length, 2);
    assert.match(text, /\r\nList-ID: "News" <news\.example\.com>\r\n/);
    assert.match(text, /\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n/);
    await assert.rejects(
      t.sendMail({ from: 'a@example.com', to: 'b@example.com', text: 'x', list: { unsubscribe: 'mailto:u@example.com', oneClick: true } }),
      (e) => e.code === 'EMESSAGE'
    );
    await assert.rejects(
      t.sendMail({ from: 'a@example.com', to: 'b@example.com', text: 'x', list: { help: { url: 'https://x.example/h', comment: 'a\r\nBcc: x@y' } } }),
      (e) => e.code === 'EMESSAGE'
    );
    assert.strictEqual((await server.waitFor(0)).length, 1);
  } finally {
    await server.stop();
  }
});
