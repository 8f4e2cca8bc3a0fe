<?php
// RSS over COUNT messages with SMTPKeepAlive on one PHPMailer-compatible object: start, peak
// and end in MB, and msg/s.   php -d extension=... soak.php PORT COUNT
[, $port, $count] = $argv;
$rss = function (string $field): float {
    preg_match("/$field:\\s+(\\d+)/", file_get_contents('/proc/self/status'), $m);
    return $m[1] / 1024;
};
$mail = new Polymailer\PHPMailer\PHPMailer(true);
$mail->isSMTP();
$mail->Host = '127.0.0.1';
$mail->Port = (int) $port;
$mail->SMTPAutoTLS = false;
$mail->SMTPKeepAlive = true;
$mail->setFrom('sender@example.com', 'Bench Sender');
$mail->addAddress('rcpt@example.com');
$body = str_repeat('The quick brown fox jumps over the lazy dog. ', 16);
$mail->Body = $body;
$mail->Subject = 'soak';
$mail->send();
$start = $rss('VmRSS');
$t = microtime(true);
for ($i = 0; $i < (int) $count; $i++) {
    $mail->Subject = "soak $i";
    $mail->send();
}
$secs = microtime(true) - $t;
$mail->smtpClose();
printf("php start %.1f peak %.1f end %.1f rate %.0f\n", $start, $rss('VmHWM'), $rss('VmRSS'), $count / $secs);
