<?php
// polymailer's PHPMailer-compatible class against real servers.

use PHPUnit\Framework\TestCase;
use Polymailer\PHPMailer\PHPMailer;
use Polymailer\PHPMailer\Exception;
use Polymailer\PHPMailer\SMTP;

use function Polymailer\Tests\certs;
use function Polymailer\Tests\dkim_verify;

final class PHPMailerTest extends TestCase
{
    use LocalServers;

    private function plain(int $port, bool $exceptions = true): PHPMailer
    {
        $mail = self::localMailer($port, $exceptions);
        $mail->setFrom('sender@example.com', 'Sender');
        $mail->addAddress('rcpt@example.com');
        $mail->Subject = 'subject';
        $mail->Body = 'body';
        return $mail;
    }

    private static function header(string $data, string $name): ?string
    {
        return preg_match('/^' . preg_quote($name, '/') . ': (.*)$/mi', $data, $m) ? rtrim($m[1]) : null;
    }

    public function testReferenceSnippetVerbatim(): void
    {
        $srv = $this->capture('--starttls', '--user', 'user@example.com:yourpassword');
        // As the reference, apart from the use lines, Host, Port and the SMTPOptions cafile.
        $mail = new PHPMailer(true);
        $mail->isSMTP();
        $mail->Host = 'localhost';
        $mail->SMTPAuth = true;
        $mail->Username = 'user@example.com';
        $mail->Password = 'yourpassword';
        $mail->SMTPSecure = 'tls';
        $mail->Port = $srv->port;
        $mail->SMTPOptions = ['ssl' => ['cafile' => certs() . '/ca.pem']];
        $mail->setFrom('user@example.com', 'Your Name');
        $mail->addAddress('receiver@example.com');
        $mail->Subject = 'Hello from PHP';
        $mail->Body = 'This is a test email sent using PHPMailer.';
        $this->assertTrue($mail->send());

        [$got] = $srv->waitFor(1);
        $this->assertTrue($got['meta']['tls']);
        $this->assertSame('user@example.com', $got['meta']['auth']);
        $this->assertSame(['receiver@example.com'], $got['meta']['rcpt_tos']);
        $this->assertSame('Hello from PHP', self::header($got['data'], 'Subject'));
        $this->assertSame('"Your Name" <user@example.com>', self::header($got['data'], 'From'));
        $this->assertSame($mail->getLastMessageID(), self::header($got['data'], 'Message-ID'));
        $this->assertStringContainsString('This is a test email sent using PHPMailer.', $got['data']);
    }

    public function testServicesGivesTheCorePresetsAsPHPMailerSettings(): void
    {
        $gmail = \Polymailer\Services::lookup('someone@googlemail.com');
        $this->assertSame('smtp.gmail.com', $gmail['Host']);
        $this->assertSame(465, $gmail['Port']);
        $this->assertSame('ssl', $gmail['SMTPSecure']);
        $this->assertFalse($gmail['SMTPAutoTLS']);
        $this->assertSame('tls', \Polymailer\Services::lookup('SendGrid')['SMTPSecure']);
        $this->assertSame('', \Polymailer\Services::lookup('maildev')['SMTPSecure']);
        $this->assertContains('Postmark', \Polymailer\Services::names());
        try {
            \Polymailer\Services::lookup('NoSuchService');
            $this->fail('unknown service accepted');
        } catch (Exception $e) {
            $this->assertSame('invalid_input', $e->kind);
            $this->assertStringContainsString('SendGrid', $e->getMessage());
        }
    }

    public function testBothErrorModes(): void
    {
        $srv = $this->capture('--starttls', '--user', 'u:right');
        $configure = function (PHPMailer $m) use ($srv) {
            $m->isSMTP();
            $m->Host = 'localhost';
            $m->Port = $srv->port;
            $m->SMTPAuth = true;
            $m->Username = 'u';
            $m->Password = 'wrong-secret';
            $m->SMTPOptions = ['ssl' => ['cafile' => certs() . '/ca.pem']];
            $m->setFrom('a@example.com');
            $m->addAddress('b@example.com');
            $m->Body = 'x';
        };
        $throwing = new PHPMailer(true);
        $configure($throwing);
        try {
            $throwing->send();
            $this->fail('no exception');
        } catch (Exception $e) {
            $this->assertSame('SMTP Error: Could not authenticate.', $e->getMessage());
            $this->assertSame("<strong>SMTP Error: Could not authenticate.</strong><br />\n", $e->errorMessage());
            $this->assertInstanceOf(\Exception::class, $e);
        }
        $this->assertSame('SMTP Error: Could not authenticate.', $throwing->ErrorInfo);

        $quiet = new PHPMailer();
        $configure($quiet);
        $this->assertFalse($quiet->send());
        $this->assertSame('SMTP Error: Could not authenticate.', $quiet->ErrorInfo);
        $this->assertStringNotContainsString('wrong-secret', $quiet->ErrorInfo);
        $this->assertSame([], $srv->messages());
    }

    public function testHtmlAltBodyAttachmentAndEmbeddedImage(): void
    {
        $srv = $this->capture();
        $file = tempnam(sys_get_temp_dir(), 'pm') . '.csv';
        file_put_contents($file, "a,b\n1,2\n");
        $png = "\x89PNG\r\n\x1a\n\x00\x01\x02\xff";
        $mail = $this->plain($srv->port);
        $mail->isHTML(true);
        $mail->Body = '<p>Logo: <img src="cid:logo1"></p>';
        $mail->AltBody = 'Logo in plain text';
        $this->assertTrue($mail->addAttachment($file, 'report.csv'));
        $this->assertTrue($mail->addStringAttachment("raw\x00bytes", 'data.bin'));
        $this->assertTrue($mail->addStringEmbeddedImage($png, 'logo1', 'logo.png', 'base64', 'image/png'));
        $mail->addCC('cc@example.com', 'Carbon');
        $mail->addBCC('hidden@example.com');
        $mail->addReplyTo('replies@example.com');
        $mail->addCustomHeader('X-Campaign', 'spring');
        $this->assertTrue($mail->send());
        $this->assertStringContainsString(base64_encode("a,b\n1,2\n"), $mail->getSentMIMEMessage());
        unlink($file);
        [$got] = $srv->waitFor(1);
        $data = $got['data'];
        foreach (['multipart/mixed', 'multipart/alternative', 'multipart/related', 'Content-ID: <logo1>',
                     base64_encode("a,b\n1,2\n"),
                     'filename=report.csv', 'filename=data.bin', 'Logo in plain text', base64_encode("raw\0bytes"), base64_encode($png),
                     'X-Campaign: spring', 'Reply-To: replies@example.com'] as $needle) {
            $this->assertStringContainsString($needle, $data);
        }
        $this->assertStringNotContainsString('hidden@', $data);
        $this->assertSame(['rcpt@example.com', 'cc@example.com', 'hidden@example.com'], $got['meta']['rcpt_tos']);
        $this->assertStringContainsString('Logo in plain text', $mail->getSentMIMEMessage());
    }

    public function testPartialRefusalDeliversThenReports(): void
    {
        $srv = $this->capture('--refuse', 'nobody@example.com');
        $mail = $this->plain($srv->port);
        $mail->addAddress('nobody@example.com');
        try {
            $mail->send();
            $this->fail('no exception');
        } catch (Exception $e) {
            $this->assertStringStartsWith('SMTP Error: The following recipients failed: nobody@example.com: ', $e->getMessage());
        }
        [$got] = $srv->waitFor(1);
        $this->assertSame(['rcpt@example.com'], $got['meta']['rcpt_tos']);

        $quiet = $this->plain($srv->port, false);
        $quiet->addAddress('nobody@example.com');
        $this->assertFalse($quiet->send());
        $this->assertStringContainsString('The following recipients failed', $quiet->ErrorInfo);
    }

    /** Every server refusal carries its SMTP code and stage, in ErrorInfo and on the exception. */
    public function testRefusalsCarryTheirSmtpCodes(): void
    {
        $cases = [
            [['-f', 'mail'], 5, 'sender_refused', 'MAIL FROM'],
            [['-r', 'mail'], 4, 'sender_refused', 'MAIL FROM'],
            [['-f', 'rcpt'], 5, 'recipients_refused', 'RCPT TO'],
            [['-r', 'rcpt'], 4, 'recipients_refused', 'RCPT TO'],
            [['-f', 'data'], 5, 'data_refused', 'DATA'],
            [['-r', 'data'], 4, 'data_refused', 'DATA'],
            [['-f', '.'], 5, 'data_refused', 'DATA END'],
            [['-r', '.'], 4, 'data_refused', 'DATA END'],
            [['-Q', 'mail'], 4, 'sender_refused', 'MAIL FROM'],
            [['-Q', 'ehlo'], 4, 'connection', null],
        ];
        foreach ($cases as [$args, $class, $kind, $command]) {
            $label = implode(' ', $args);
            $srv = $this->sink(...$args);
            $mail = $this->plain($srv->port);
            try {
                $mail->send();
                $this->fail("$label: no exception");
            } catch (Exception $e) {
                $this->assertSame($kind, $e->kind, "$label: {$e->getMessage()}");
                $this->assertIsInt($e->smtpCode, "$label: {$e->getMessage()}");
                $this->assertSame($class, intdiv($e->smtpCode, 100), $label);
                $this->assertStringContainsString("SMTP code: {$e->smtpCode}", $mail->ErrorInfo, $label);
                if ($e->smtpCodeEx !== null) {
                    $this->assertStringContainsString("Additional SMTP info: {$e->smtpCodeEx}", $mail->ErrorInfo, $label);
                }
                if ($command !== null) {
                    $this->assertStringContainsString("SMTP server error: $command command failed", $mail->ErrorInfo, $label);
                }
            }
            $quiet = $this->plain($srv->port, false);
            $this->assertFalse($quiet->send(), $label);
            $this->assertMatchesRegularExpression('/SMTP code: [45]\d\d/', $quiet->ErrorInfo, $label);
        }
    }

    public function testKeepAliveSends500OverOneConnection(): void
    {
        $srv = $this->capture();
        $mail = $this->plain($srv->port);
        $mail->SMTPKeepAlive = true;
        for ($i = 0; $i < 500; $i++) {
            $mail->clearAddresses();
            $mail->addAddress("r$i@example.com");
            $mail->Subject = "keepalive $i";
            $this->assertTrue($mail->send());
        }
        $mail->smtpClose();
        $got = $srv->waitFor(500);
        $this->assertCount(500, $got);
        $this->assertCount(1, array_unique(array_map(fn ($g) => $g['meta']['session'], $got)));
        $this->assertSame("r499@example.com", $got[499]['meta']['rcpt_tos'][0]);
    }

    public function testSubclassOverridesAndCallsParent(): void
    {
        $srv = $this->capture();
        $mail = new class (true) extends PHPMailer {
            public function send(): bool
            {
                $this->Subject = '[app] ' . $this->Subject;
                return parent::send();
            }
        };
        $mail->isSMTP();
        $mail->Host = '127.0.0.1';
        $mail->Port = $srv->port;
        $mail->SMTPAutoTLS = false;
        $mail->setFrom('a@example.com');
        $mail->addAddress('b@example.com');
        $mail->Subject = 'hello';
        $mail->Body = 'x';
        $this->assertTrue($mail->send());
        $this->assertSame('[app] hello', self::header($srv->waitFor(1)[0]['data'], 'Subject'));
    }

    public function testLooselyTypedAssignments(): void
    {
        $srv = $this->capture('--user', 'u:p');
        $mail = new PHPMailer(true);
        $mail->isSMTP();
        $mail->Host = '127.0.0.1';
        $mail->Port = (string) $srv->port;
        $mail->SMTPAuth = 1;
        $mail->SMTPSecure = false;
        $mail->SMTPAutoTLS = 0;
        $mail->Username = 'u';
        $mail->Password = 'p';
        $mail->Timeout = '10';
        $mail->SMTPDebug = false;
        $mail->setFrom('a@example.com');
        $mail->addAddress('b@example.com');
        $mail->Body = 'x';
        $this->assertTrue($mail->send());
        $this->assertSame((string) $srv->port, $mail->Port);
        $this->assertSame(1, $mail->SMTPAuth);
        $this->assertSame('u', $srv->waitFor(1)[0]['meta']['auth']);
    }

    public function testSmtpDebugLevel2Output(): void
    {
        $srv = $this->capture('--user', 'u:hunter2');
        $mail = $this->plain($srv->port);
        $mail->SMTPAuth = true;
        $mail->Username = 'u';
        $mail->Password = 'hunter2';
        $mail->SMTPDebug = SMTP::DEBUG_SERVER;
        $lines = [];
        $mail->Debugoutput = function ($str, $level) use (&$lines) {
            $lines[] = [$level, $str];
        };
        $mail->send();
        $text = implode("\n", array_column($lines, 1));
        $this->assertStringContainsString('CLIENT -> SERVER: EHLO ', $text);
        $this->assertStringContainsString('SERVER -> CLIENT: 250', $text);
        $this->assertStringContainsString('CLIENT -> SERVER: AUTH PLAIN ****', $text);
        $this->assertStringNotContainsString('hunter2', $text);
        $this->assertStringNotContainsString(base64_encode("\0u\0hunter2"), $text);

        ob_start();
        $echo = $this->plain($srv->port);
        $echo->SMTPDebug = 1;
        $echo->send();
        $out = ob_get_clean();
        $this->assertMatchesRegularExpression('/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\tCLIENT -> SERVER: EHLO /m', $out);
        $this->assertStringNotContainsString('SERVER -> CLIENT', $out);
    }

    public function testDkimVerifiesWithDkimpy(): void
    {
        $srv = $this->capture();
        $mail = $this->plain($srv->port);
        $mail->DKIM_domain = 'example.com';
        $mail->DKIM_selector = 'sel';
        $mail->DKIM_private = certs() . '/dkim-rsa.pkcs1.pem';
        $mail->isHTML();
        $mail->Body = '<b>signed</b>';
        $this->assertTrue($mail->send());
        [$got] = $srv->waitFor(1);
        $this->assertStringStartsWith('DKIM-Signature:', $got['data']);
        $this->assertTrue(dkim_verify($got['eml'], certs() . '/dkim-rsa.txt'));
        file_put_contents($got['eml'], str_replace('signed</b>', 'forged</b>', $got['data']));
        $this->assertFalse(dkim_verify($got['eml'], certs() . '/dkim-rsa.txt'));
    }

    public function testRefusedAttachmentPaths(): void
    {
        $mail = new PHPMailer();
        foreach (['phar:///tmp/x.phar/file', 'http://example.com/x.pdf', 'php://filter/resource=/etc/passwd',
                     '/nonexistent/file.pdf', '/tmp'] as $path) {
            $this->assertFalse($mail->addAttachment($path), $path);
            $this->assertSame('Could not access file: ' . $path, $mail->ErrorInfo);
            $this->assertFalse($mail->addEmbeddedImage($path, 'cid'), $path);
        }
        $this->expectException(Exception::class);
        (new PHPMailer(true))->addAttachment('phar:///tmp/x.phar/file');
    }

    public function testAddressValidationAndInjection(): void
    {
        $srv = $this->capture();
        $mail = new PHPMailer();
        $this->assertFalse($mail->addAddress('not-an-address'));
        $this->assertSame('Invalid address:  (to): not-an-address', $mail->ErrorInfo);
        $this->assertFalse($mail->addAddress("a@example.com\r\nBcc: evil@example.com"));
        $this->assertTrue(PHPMailer::validateAddress('user@example.com'));
        $this->assertFalse(PHPMailer::validateAddress('user@'));
        $this->assertTrue($mail->addAddress('dup@example.com'));
        $this->assertFalse($mail->addCC('DUP@example.com'));
        $this->assertSame([['dup@example.com', '']], $mail->getToAddresses());

        $inject = $this->plain($srv->port, false);
        $inject->Subject = "Hi\r\nBcc: evil@example.com";
        $this->assertFalse($inject->send());
        $this->assertStringContainsString('subject', $inject->ErrorInfo);
        $header = $this->plain($srv->port, false);
        $this->assertFalse($header->addCustomHeader('X-Evil', "v\r\nBcc: evil@example.com"));
        $this->assertSame([], $srv->messages());
    }

    public function testConstantsAndLanguage(): void
    {
        $this->assertSame('tls', PHPMailer::ENCRYPTION_STARTTLS);
        $this->assertSame('ssl', PHPMailer::ENCRYPTION_SMTPS);
        $this->assertSame('utf-8', PHPMailer::CHARSET_UTF8);
        $this->assertSame('text/html', PHPMailer::CONTENT_TYPE_TEXT_HTML);
        $this->assertSame('base64', PHPMailer::ENCODING_BASE64);
        $this->assertSame('quoted-printable', PHPMailer::ENCODING_QUOTED_PRINTABLE);
        $this->assertSame(2, SMTP::DEBUG_SERVER);
        $mail = new PHPMailer();
        $this->assertTrue($mail->setLanguage('en'));
        $this->assertTrue($mail->setLanguage('de'));
        $this->assertSame('utf-8', $mail->CharSet);
        $this->assertSame(25, $mail->Port);
        $this->assertTrue($mail->SMTPAutoTLS);
    }

    public function testSmtpConnectAndFailover(): void
    {
        $srv = $this->capture();
        $mail = $this->plain($srv->port);
        // The first host refuses connections; PHPMailer's failover moves on to the next.
        $mail->Host = "127.0.0.1:1;127.0.0.1:{$srv->port}";
        $this->assertTrue($mail->smtpConnect());
        $this->assertTrue($mail->send());
        $this->assertCount(1, $srv->waitFor(1));
        $bad = $this->plain(1, false);
        $this->assertFalse($bad->send());
        $this->assertStringStartsWith('SMTP connect() failed.', $bad->ErrorInfo);
    }

    public function testStubsMatchTheExtension(): void
    {
        $root = dirname(__DIR__);
        $ext = getenv('POLYMAILER_EXT');
        $this->assertNotFalse($ext, 'POLYMAILER_EXT names the built extension');
        $generated = shell_exec(escapeshellarg(PHP_BINARY) . ' -d extension=' . escapeshellarg($ext) . ' '
            . escapeshellarg($root . '/tools/gen-stubs.php'));
        $this->assertSame(file_get_contents($root . '/polymailer.stubs.php'), $generated);
    }

    public function testPhpRiShowsVersionAndEngine(): void
    {
        $ext = getenv('POLYMAILER_EXT');
        $info = shell_exec(escapeshellarg(PHP_BINARY) . ' -d extension=' . escapeshellarg($ext) . ' --ri polymailer');
        $this->assertStringContainsString('polymailer => enabled', $info);
        $this->assertMatchesRegularExpression('/^version => \d+\.\d+\.\d+$/m', $info);
        $this->assertStringContainsString('TLS => rustls', $info);
    }

    /** [server certificate, SMTPOptions['ssl'] (file names relative to the test certs), delivered?] */
    public static function trustCases(): array
    {
        $fp = fn (string $f) => ['sha256' => openssl_x509_fingerprint(file_get_contents(certs() . "/$f"), 'sha256')];
        return [
            'CA-signed leaf' => ['server', ['cafile' => 'ca.pem'], true],
            'other CA' => ['server', ['cafile' => 'untrusted-ca.pem'], false],
            'pinned fingerprint' => ['server', ['cafile' => 'ca.pem', 'peer_fingerprint' => $fp('server.pem')], true],
            'other fingerprint' => ['server', ['cafile' => 'ca.pem', 'peer_fingerprint' => $fp('snakeoil.pem')], false],
            'self-signed CA:TRUE trusted' => ['selfsigned-ca', ['cafile' => 'selfsigned-ca.pem'], true],
            'self-signed CA:TRUE, other name' => ['selfsigned-ca', ['cafile' => 'selfsigned-ca.pem', 'peer_name' => 'other.example'], false],
            'self-signed, untrusted' => ['selfsigned-ca', ['cafile' => 'ca.pem'], false],
            'self-signed, allow_self_signed' => ['selfsigned-ca', ['cafile' => 'ca.pem', 'allow_self_signed' => true], true],
            'snakeoil trusted' => ['snakeoil', ['cafile' => 'snakeoil.pem'], true],
            'snakeoil, allow_self_signed' => ['snakeoil', ['cafile' => 'ca.pem', 'allow_self_signed' => true], true],
            'expired' => ['expired', ['cafile' => 'ca.pem'], false],
            'expired, verify_peer off' => ['expired', ['cafile' => 'ca.pem', 'verify_peer' => false], true],
            'expired self-signed, allowed' => ['expired-selfsigned', ['cafile' => 'ca.pem', 'allow_self_signed' => true], false],
            'wrong host' => ['wronghost', ['cafile' => 'ca.pem'], false],
            'wrong host, verify_peer_name off' => ['wronghost', ['cafile' => 'ca.pem', 'verify_peer_name' => false], true],
            'unknown CA, allow_self_signed' => ['untrusted', ['cafile' => 'ca.pem', 'allow_self_signed' => true], false],
        ];
    }

    /** @dataProvider trustCases */
    public function testTrustMatchesPhpOpenSsl(string $cert, array $ssl, bool $expected): void
    {
        $srv = $this->capture('--implicit-tls', '--cert', $cert);
        if (isset($ssl['cafile'])) {
            $ssl['cafile'] = certs() . '/' . $ssl['cafile'];
        }
        // PHP's own TLS (OpenSSL), as PHPMailer connects with SMTPSecure = 'ssl'.
        $ctx = stream_context_create(['ssl' => $ssl]);
        $sock = @stream_socket_client("ssl://localhost:{$srv->port}", $errno, $errstr, 10, STREAM_CLIENT_CONNECT, $ctx);
        $openssl = $sock !== false;
        if ($sock) {
            fclose($sock);
        }
        $mail = new PHPMailer(true);
        $mail->isSMTP();
        $mail->Host = 'localhost';
        $mail->Port = $srv->port;
        $mail->SMTPSecure = 'ssl';
        $mail->SMTPOptions = ['ssl' => $ssl];
        $mail->setFrom('a@example.com');
        $mail->addAddress('b@example.com');
        $mail->Subject = "trust $cert";
        $mail->Body = 'x';
        try {
            $ours = $mail->send();
        } catch (Exception $e) {
            $this->assertSame('tls', $e->kind, $e->getMessage());
            $ours = false;
        }
        $this->assertSame([$expected, $expected], [$openssl, $ours], $errstr ?? '');
        $this->assertCount($expected ? 1 : 0, $srv->waitFor($expected ? 1 : 0));
    }

    public function testClientCertificateFromLocalCert(): void
    {
        $srv = $this->capture('--starttls', '--client-ca', certs() . '/ca.pem');
        $send = function (array $ssl) use ($srv) {
            $mail = new PHPMailer(true);
            $mail->isSMTP();
            $mail->Host = 'localhost';
            $mail->Port = $srv->port;
            $mail->SMTPSecure = 'tls';
            $mail->SMTPOptions = ['ssl' => ['cafile' => certs() . '/ca.pem'] + $ssl];
            $mail->setFrom('a@example.com');
            $mail->addAddress('b@example.com');
            $mail->Subject = 'mtls';
            $mail->Body = 'x';
            try {
                return $mail->send();
            } catch (Exception $e) {
                return $e->kind;
            }
        };
        $this->assertTrue($send(['local_cert' => certs() . '/client.pem', 'local_pk' => certs() . '/client.key']));
        $this->assertTrue($send(['local_cert' => certs() . '/client-combined.pem']));
        $encrypted = ['local_cert' => certs() . '/client.pem', 'local_pk' => certs() . '/client-encrypted.key'];
        $this->assertTrue($send($encrypted + ['passphrase' => 'key secret']));
        $this->assertSame('tls', $send($encrypted + ['passphrase' => 'wrong']));
        $this->assertSame('tls', $send(['local_cert' => certs() . '/client.pem', 'local_pk' => certs() . '/other.key']));
        $this->assertSame('tls', $send(['local_cert' => certs() . '/missing.pem']));
        $this->assertNotTrue($send([]));
        $got = $srv->waitFor(3);
        $this->assertCount(3, $got);
        $this->assertSame('polymailer client', $got[0]['meta']['client_cert']);
    }
}
