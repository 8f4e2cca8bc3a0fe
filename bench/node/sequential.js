'use strict';
// msg/s of a plain `for (...) await transporter.sendMail(...)` loop over one pooled connection:
// the per-call cost of the binding.   node sequential.js PORT COUNT
const path = require('path');
const polymailer = require(path.resolve(__dirname, '../../bindings-node'));
const nodemailer = require('nodemailer');

const [port, count] = process.argv.slice(2).map(Number);
const body = 'The quick brown fox jumps over the lazy dog. '.repeat(16);
const mail = (i) => ({ from: '"Bench Sender" <sender@example.com>', to: 'rcpt@example.com', subject: `bench message ${i}`, text: body });

async function run(lib) {
  const t = lib.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true, pool: true, maxConnections: 1, maxMessages: Infinity });
  await t.sendMail(mail(0));
  const start = process.hrtime.bigint();
  for (let i = 0; i < count; i++) await t.sendMail(mail(i));
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  t.close();
  return count / secs;
}

(async () => {
  console.log(`polymailer ${(await run(polymailer)).toFixed(0)}`);
  console.log(`nodemailer ${(await run(nodemailer)).toFixed(0)}`);
})();
