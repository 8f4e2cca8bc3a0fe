'use strict';
// msg/s for COUNT ~1 KB messages: polymailer vs Nodemailer, both `pool: true` with the same
// maxConnections, against the same server.   node throughput.js PORT COUNT CONNECTIONS
const path = require('path');
const polymailer = require(path.resolve(__dirname, '../../bindings-node'));
const nodemailer = require('nodemailer');

const [port, count, connections] = process.argv.slice(2).map(Number);
const body = 'The quick brown fox jumps over the lazy dog. '.repeat(16);
const mail = (i) => ({ from: '"Bench Sender" <sender@example.com>', to: 'rcpt@example.com', subject: `bench message ${i}`, text: body });

async function run(lib) {
  const t = lib.createTransport({
    host: '127.0.0.1',
    port,
    secure: false,
    ignoreTLS: true,
    pool: true,
    maxConnections: connections,
    maxMessages: Infinity,
  });
  await t.sendMail(mail(0));
  const start = process.hrtime.bigint();
  const sends = [];
  for (let i = 0; i < count; i++) sends.push(t.sendMail(mail(i)));
  await Promise.all(sends);
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  t.close();
  return count / secs;
}

(async () => {
  console.log(`polymailer ${(await run(polymailer)).toFixed(0)}`);
  console.log(`nodemailer ${(await run(nodemailer)).toFixed(0)}`);
})();
