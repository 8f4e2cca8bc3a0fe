// checkDomain, transporter.preflight and dkimKeygen against a real DNS server (dnsmasq serving
// tests/dns/zone.conf on 127.0.0.1, started through tests/servers/spawn.py).
const { test, before, after } = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const nodemailer = require('..');
const { dnsServer } = require('../../tests/servers/harness');

let dns;
before(async () => {
  dns = await dnsServer();
});
after(() => dns.stop());

const opts = (extra = {}) => ({ nameserver: `127.0.0.1:${dns.port}`, timeout: 2, ...extra });
const key = (name = 'dkim-rsa.pkcs8.pem') => fs.readFileSync(path.join(dns.dir, name), 'utf8');
const statuses = (report, check) => report.findings.filter((f) => f.check === check).map((f) => f.status);

test('good.test passes, with the signing key and a sending IP', async () => {
  const r = await nodemailer.checkDomain(
    'good.test',
    opts({ ip: '192.0.2.10', dnsbl: ['bl.test'], selector: 'ed', dkim: { domainName: 'good.test', keySelector: 's1', privateKey: key() } })
  );
  assert.strictEqual(r.ok, true, String(r));
  assert.deepStrictEqual(statuses(r, 'dkim'), ['pass', 'pass']);
  assert.deepStrictEqual(statuses(r, 'dkim_key_match'), ['pass']);
  assert.deepStrictEqual(statuses(r, 'spf_ip'), ['pass']);
  assert.deepStrictEqual(statuses(r, 'dnsbl'), ['pass']);
  assert.strictEqual(typeof r.elapsedMs, 'number');
  assert.match(String(r), /dkim_key_match/);
});

test('the broken cases of the zone', async () => {
  const cases = [
    ['twospf.test', 'spf', 'fail'],
    ['toomany.test', 'spf_lookups', 'fail'],
    ['soft.test', 'spf', 'warn'],
    ['nospf.test', 'spf', 'missing'],
    ['deadmx.test', 'mx', 'fail'],
  ];
  const reports = await Promise.all(cases.map(([d]) => nodemailer.checkDomain(d, opts())));
  cases.forEach(([domain, check, status], i) => assert.deepStrictEqual(statuses(reports[i], check), [status], domain));
  const listed = await nodemailer.checkDomain('good.test', opts({ ip: '192.0.2.66', dnsbl: ['bl.test', 'blocked.test'] }));
  assert.deepStrictEqual(statuses(listed, 'dnsbl').sort(), ['error', 'fail']);
});

test('transporter.preflight checks its own DKIM key and server, callback style too', async () => {
  const transporter = nodemailer.createTransport({
    host: 'mail.good.test',
    port: 587,
    dkim: { domainName: 'mismatch.test', keySelector: 's1', privateKey: key() },
  });
  const r = await transporter.preflight(opts());
  assert.strictEqual(r.domain, 'mismatch.test');
  assert.deepStrictEqual(statuses(r, 'dkim_key_match'), ['fail']);
  const viaCallback = await new Promise((resolve, reject) =>
    transporter.preflight(opts({ domain: 'good.test' }), (err, report) => (err ? reject(err) : resolve(report)))
  );
  assert.deepStrictEqual(statuses(viaCallback, 'spf_ip'), ['pass']);
  transporter.close();
});

test('bad input and a silent resolver are errors with a kind', async () => {
  for (const bad of [{ ip: '1.2.3' }, { nameserver: 'nowhere' }, { timeout: 0 }, { bogus: true }]) {
    await assert.rejects(nodemailer.checkDomain('good.test', opts(bad)), (e) => e.kind === 'invalid_input');
  }
  await assert.rejects(nodemailer.checkDomain('not a domain', opts()), (e) => e.kind === 'invalid_input');
  const dgram = require('dgram');
  const silent = dgram.createSocket('udp4');
  await new Promise((resolve) => silent.bind(0, '127.0.0.1', resolve));
  const started = Date.now();
  await assert.rejects(
    nodemailer.checkDomain('good.test', { nameserver: `127.0.0.1:${silent.address().port}`, timeout: 0.5 }),
    (e) => e.kind === 'timeout' && e.command === 'DNS'
  );
  assert.ok(Date.now() - started < 3000);
  silent.close();
});

test('dkimKeygen makes keys a transport accepts, and their record', () => {
  for (const [algorithm, bits] of [
    ['rsa', 2048],
    ['ed25519', 256],
  ]) {
    const k = nodemailer.dkimKeygen({ domain: 'example.test', selector: 'k1', algorithm });
    assert.strictEqual(k.bits, bits);
    assert.strictEqual(k.recordStrings.join(''), k.recordValue);
    assert.ok(k.recordStrings.every((s) => s.length <= 255));
    nodemailer.createTransport({ host: 'localhost', port: 25, dkim: { domainName: 'example.test', keySelector: 'k1', privateKey: k.privateKey } }).close();
  }
  assert.throws(() => nodemailer.dkimKeygen({ domain: 'example.test', selector: 'k1', algorithm: 'dsa' }), (e) => e.kind === 'invalid_input');
});
