'use strict';
// Messages built per second with Nodemailer's MailComposer (html + text + 20 KB attachment).
//   node build_speed.js COUNT
const MailComposer = require('nodemailer/lib/mail-composer');

const count = Number(process.argv[2]);
const attachment = Buffer.from(Array.from({ length: 20480 }, (_, i) => i % 256));
const html = '<p>Hello <b>there</b>, this is the HTML part.</p>'.repeat(4);
const text = 'Hello there, this is the text part.\n'.repeat(4);

function build(i) {
  return new Promise((resolve, reject) =>
    new MailComposer({
      from: 'Sender <sender@example.com>',
      to: 'rcpt@example.com',
      subject: `build ${i}`,
      text,
      html,
      attachments: [{ filename: 'data.bin', content: attachment }],
    })
      .compile()
      .build((err, message) => (err ? reject(err) : resolve(message)))
  );
}

(async () => {
  await build(0);
  const start = process.hrtime.bigint();
  for (let i = 0; i < count; i++) await build(i);
  console.log(`mailcomposer ${(count / (Number(process.hrtime.bigint() - start) / 1e9)).toFixed(0)}`);
})();
