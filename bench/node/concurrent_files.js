'use strict';
// Peak RSS (MB) when N sendMail calls start at once, each with a 150 KB file attachment, over a
// pool of 4: polymailer reads each file while sending it; Nodemailer buffers every message.
//   node concurrent_files.js PORT N polymailer|nodemailer|baseline
const fs = require('fs');
const os = require('os');
const path = require('path');

const [port, n] = process.argv.slice(2, 4).map(Number);
const which = process.argv[4];
const peak = () => parseInt(/VmHWM:\s+(\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1], 10) / 1024;
const file = path.join(os.tmpdir(), `pm-bench-150k-${process.pid}.bin`);
fs.writeFileSync(file, require('crypto').randomBytes(150 * 1024));

(async () => {
  if (which !== 'baseline') {
    const lib = which === 'polymailer' ? require(path.resolve(__dirname, '../../bindings-node')) : require('nodemailer');
    const t = lib.createTransport({ host: '127.0.0.1', port, ignoreTLS: true, pool: true, maxConnections: 4, maxMessages: Infinity });
    const sends = [];
    for (let i = 0; i < n; i++) {
      sends.push(t.sendMail({ from: 'a@example.com', to: 'b@example.com', subject: `f${i}`, text: 'x', attachments: [{ path: file }] }));
    }
    await Promise.all(sends);
    t.close();
  }
  fs.unlinkSync(file);
  console.log(`${which} ${peak().toFixed(1)}`);
})();
