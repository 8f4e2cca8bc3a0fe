<?php
// The classic PHPMailer example; only the use line and the connection settings differ
// (the extension needs no autoloader). For a local server with its own CA, point
// SSL_CERT_FILE at the CA: certificates are verified.
use Polymailer\PHPMailer\PHPMailer; // was: use PHPMailer\PHPMailer\PHPMailer;

$mail = new PHPMailer(true);
$mail->isSMTP();
$mail->Host = getenv('SMTP_HOST') ?: 'smtp.mailgun.org';
$mail->SMTPAuth = true;
$mail->Username = getenv('SMTP_USER') ?: 'user@example.com';
$mail->Password = getenv('SMTP_PASS') ?: 'yourpassword';
$mail->SMTPSecure = 'tls';
$mail->Port = getenv('SMTP_PORT') ?: 587;
$mail->setFrom(getenv('SMTP_USER') ?: 'user@example.com', 'Your Name');
$mail->addAddress('receiver@example.com');
$mail->Subject = 'Hello from PHP';
$mail->Body = 'This is a test email sent using PHPMailer.';
$mail->send();
echo "Email sent\n";
