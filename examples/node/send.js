// The classic Nodemailer example; only the require line and the connection settings differ.
// For a local server with its own CA, point SSL_CERT_FILE at the CA (certificates are verified).
const nodemailer = require('polymailer'); // was: require('nodemailer')

let transporter = nodemailer.createTransport({
  host: process.env.SMTP_HOST || "smtp.mailgun.org",
  port: Number(process.env.SMTP_PORT || 587),
  secure: false,
  auth: {
    user: process.env.SMTP_USER || "user@example.com",
    pass: process.env.SMTP_PASS || "yourpassword"
  }
});

let mailOptions = {
  from: `"Your Name" <${process.env.SMTP_USER || "user@example.com"}>`,
  to: "receiver@example.com",
  subject: "Hello from Node.js",
  text: "This is a test email sent using Nodemailer."
};

transporter.sendMail(mailOptions, (err, info) => {
  if (err) {
    console.error(err);
    process.exitCode = 1;
  } else {
    console.log('Email sent: ' + info.response);
  }
});
