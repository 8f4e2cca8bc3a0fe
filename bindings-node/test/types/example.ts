// Compiled with `tsc --noEmit` by `make test`: the shipped types cover Nodemailer-style code.
import nodemailer = require('../..');

const transporter = nodemailer.createTransport({
  host: 'smtp.example.com',
  port: 587,
  secure: false,
  auth: { user: 'user@example.com', pass: 'yourpassword' },
  pool: true,
  maxConnections: 8,
});

transporter.sendMail(
  { from: '"Your Name" <user@example.com>', to: ['a@example.com', { name: 'B', address: 'b@example.com' }], subject: 's', text: 't' },
  (err, info) => {
    if (err) console.error(err.code, err.responseCode, err.command);
    else console.log(info?.messageId, info?.accepted.length);
  }
);

async function main(): Promise<void> {
  const info = await transporter.sendMail({ from: 'a@example.com', to: 'b@example.com', attachments: [{ filename: 'x.txt', content: 'x' }] });
  const rejected: string[] = info.rejected;
  console.log(rejected, await transporter.verify(), transporter.isIdle());
  await transporter.close();
}
void main;

async function deliverability(): Promise<void> {
  const report = await nodemailer.checkDomain('example.com', { selector: ['s1'], ip: '192.0.2.1', dnsbl: 'zen.example', timeout: 2 });
  const failed = report.findings.filter((f) => f.status === 'fail').map((f) => `${f.check}: ${f.fix ?? ''}`);
  console.log(report.ok, report.elapsedMs, failed, String(report));
  const own = await transporter.preflight({ domain: 'example.com' });
  console.log(own.ok);
  const key = nodemailer.dkimKeygen({ domain: 'example.com', selector: 's1', algorithm: 'ed25519' });
  console.log(key.recordName, key.recordStrings.join(''), key.privateKey.length);
}
void deliverability;

async function bounces(): Promise<void> {
  const verping = nodemailer.createTransport({ host: 'localhost', port: 587, verp: { domain: 'bounces.example.com', secret: 'a secret of 16+ bytes' } });
  await verping.sendMail({
    from: 'news@example.com',
    to: 'a@example.com',
    list: { unsubscribe: [['https://example.com/u/1', 'mailto:u@example.com']], id: { url: 'news.example.com', comment: 'News' }, oneClick: true },
  });
  const report = nodemailer.parseBounce(Buffer.from('...'), { verpSecret: 'a secret of 16+ bytes' });
  const hard = report.events.filter((e) => e.bounceClass === 'hard').map((e) => e.verp?.recipient ?? e.recipient);
  console.log(report.kind, hard, report.dmarc?.passed, nodemailer.decodeVerp('x@y')?.verified);
}
void bounces;

// Nodemailer plugins.
transporter.use('compile', (mail, done) => {
  mail.data.html = String(mail.data.context);
  done();
});
transporter.use('stream', (mail, done) => {
  mail.message?.processFunc((input) => input);
  done(null);
});
