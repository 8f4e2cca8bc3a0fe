<?php
// One 25 MB file attachment: seconds and peak RSS.   php large.php PORT FILE polymailer|phpmailer|baseline
[$_, $port, $file, $which] = $argv;
$start = microtime(true);
if ($which !== 'baseline') {
    if ($which === 'phpmailer') {
        require '/usr/share/php/libphp-phpmailer/autoload.php';
        $mail = new PHPMailer\PHPMailer\PHPMailer(true);
    } else {
        $mail = new Polymailer\PHPMailer\PHPMailer(true);
    }
    $mail->isSMTP();
    $mail->Host = '127.0.0.1';
    $mail->Port = (int) $port;
    $mail->SMTPAutoTLS = false;
    $mail->setFrom('sender@example.com');
    $mail->addAddress('rcpt@example.com');
    $mail->Subject = 'large';
    $mail->Body = 'see attachment';
    $mail->addAttachment($file);
    $mail->send();
}
printf("%s %.2f %.1f\n", $which, microtime(true) - $start, getrusage()['ru_maxrss'] / 1024);
