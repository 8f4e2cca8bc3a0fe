<?php
if (!class_exists('Polymailer\PHPMailer\PHPMailer')) {
    fwrite(STDERR, "The polymailer extension is not loaded: run with php -d extension=.../libpolymailer.so\n");
    exit(1);
}
require __DIR__ . '/../../tests/servers/harness.php';

/** Servers a test starts (stopped in tearDown) and a PHPMailer pointed at one of them. */
trait LocalServers
{
    private array $servers = [];

    protected function tearDown(): void
    {
        $this->stopServers();
    }

    private function stopServers(): void
    {
        foreach ($this->servers as $s) {
            $s->stop();
        }
        $this->servers = [];
    }

    private function capture(string ...$args): Polymailer\Tests\CaptureServer
    {
        return $this->servers[] = new Polymailer\Tests\CaptureServer($args);
    }

    private function sink(string ...$args): Polymailer\Tests\SmtpSink
    {
        return $this->servers[] = new Polymailer\Tests\SmtpSink($args);
    }

    /** SMTP to 127.0.0.1:$port in plain text (no STARTTLS attempt). */
    private static function localMailer(int $port, bool $exceptions = true): Polymailer\PHPMailer\PHPMailer
    {
        $mail = new Polymailer\PHPMailer\PHPMailer($exceptions);
        $mail->isSMTP();
        $mail->Host = '127.0.0.1';
        $mail->Port = $port;
        $mail->SMTPAutoTLS = false;
        return $mail;
    }
}
