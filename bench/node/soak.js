'use strict';
// RSS over COUNT messages through one pooled transporter (500 sendMail calls in flight):
// start, peak and end in MB, and msg/s.   node soak.js PORT COUNT
const fs = require('fs');
const path = require('path');
const polymailer = require(path.resolve(__dirname, '../../bindings-node'));

const [port, count] = process.argv.slice(2).map(Number);
const body = 'The quick brown fox jumps over the lazy dog. '.repeat(16);
const mail = (i) => ({ from: '"Bench Sender" <sender@example.com>', to: 'rcpt@example.com', subject: `soak ${i}`, text: body });
const status = () => Object.fromEntries(fs.readFileSync('/proc/self/status', 'utf8').split('\n').map((l) => l.split(/:\s+/)));
const mb = (v) => parseInt(v, 10) / 1024;

(async () => {
  const t = polymailer.createTransport({ host: '127.0.0.1', port, ignoreTLS: true, pool: true, maxConnections: 1, maxMessages: Infinity });
  await t.sendMail(mail(0));
  const startRss = mb(status().VmRSS);
  const start = process.hrtime.bigint();
  const window = 500;
  for (let sent = 0; sent < count; sent += window) {
    const batch = [];
    for (let i = 0; i < window; i++) batch.push(t.sendMail(mail(sent + i)));
    await Promise.all(batch);
  }
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  const s = status();
  console.log(`node start ${startRss.toFixed(1)} peak ${mb(s.VmHWM).toFixed(1)} end ${mb(s.VmRSS).toFixed(1)} rate ${(count / secs).toFixed(0)}`);
  t.close();
})();
