'use strict';
// One 25 MB file attachment: seconds and peak RSS.   node large.js PORT FILE polymailer|nodemailer|baseline
const path = require('path');
const [port, file, which] = [Number(process.argv[2]), process.argv[3], process.argv[4]];
(async () => {
  const start = process.hrtime.bigint();
  if (which !== 'baseline') {
    const lib = which === 'polymailer' ? require(path.resolve(__dirname, '../../bindings-node')) : require('nodemailer');
    const t = lib.createTransport({ host: '127.0.0.1', port, ignoreTLS: true });
    await t.sendMail({ from: 'sender@example.com', to: 'rcpt@example.com', subject: 'large', text: 'see attachment', attachments: [{ path: file }] });
  }
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(`${which} ${secs.toFixed(2)} ${(process.resourceUsage().maxRSS / 1024).toFixed(1)}`);
})();
