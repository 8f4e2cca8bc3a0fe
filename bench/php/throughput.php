<?php
// msg/s over one kept-alive connection for one PHP sender:
//   php throughput.php PORT COUNT polymailer|phpmailer|phpmailer-nodelay|symfony
[$_, $port, $count, $which] = $argv;
$count = (int) $count;
$body = str_repeat('The quick brown fox jumps over the lazy dog. ', 16);

function phpmailer_like($mail, int $port, int $count, string $body, array $options = []): float
{
    $mail->isSMTP();
    $mail->Host = '127.0.0.1';
    $mail->Port = $port;
    $mail->SMTPAutoTLS = false;
    $mail->SMTPKeepAlive = true;
    $mail->SMTPOptions = $options;
    $mail->setFrom('sender@example.com', 'Bench Sender');
    $mail->addAddress('rcpt@example.com');
    $mail->Body = $body;
    $mail->Subject = 'warm up';
    $mail->send();
    $start = microtime(true);
    for ($i = 0; $i < $count; $i++) {
        $mail->Subject = "bench message $i";
        $mail->send();
    }
    $rate = $count / (microtime(true) - $start);
    $mail->smtpClose();
    return $rate;
}

switch ($which) {
    case 'polymailer':
        $rate = phpmailer_like(new Polymailer\PHPMailer\PHPMailer(true), (int) $port, $count, $body);
        break;
    case 'phpmailer':
    case 'phpmailer-nodelay':
        require '/usr/share/php/libphp-phpmailer/autoload.php';
        $opts = $which === 'phpmailer-nodelay' ? ['socket' => ['tcp_nodelay' => true]] : [];
        $rate = phpmailer_like(new PHPMailer\PHPMailer\PHPMailer(true), (int) $port, $count, $body, $opts);
        break;
    case 'symfony':
        require '/usr/share/php/Symfony/Component/Mailer/autoload.php';
        $mailer = new Symfony\Component\Mailer\Mailer(Symfony\Component\Mailer\Transport::fromDsn("smtp://127.0.0.1:$port"));
        $email = fn ($i) => (new Symfony\Component\Mime\Email())->from('Bench Sender <sender@example.com>')
            ->to('rcpt@example.com')->subject("bench message $i")->text($body);
        $mailer->send($email(0));
        $start = microtime(true);
        for ($i = 0; $i < $count; $i++) {
            $mailer->send($email($i));
        }
        $rate = $count / (microtime(true) - $start);
        break;
}
printf("%s %.0f\n", $which, $rate);
