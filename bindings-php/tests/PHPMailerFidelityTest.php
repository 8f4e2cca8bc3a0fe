<?php
// PHPMailer's public API beyond sending (issue #13): msgHTML embedding, validators, static
// helpers, attachments rows, OAuth, languages, encodings — each checked against a real server
// where the behaviour shows on the wire.

use PHPUnit\Framework\TestCase;
use Polymailer\PHPMailer\PHPMailer;
use Polymailer\PHPMailer\Exception;
use Polymailer\PHPMailer\OAuth;
use Polymailer\PHPMailer\OAuthTokenProvider;
use Polymailer\PHPMailer\SMTP;

use function Polymailer\Tests\certs;
use function Polymailer\Tests\dkim_verify;

final class StaticTokenProvider implements OAuthTokenProvider
{
    public $calls = 0;

    public function getOauth64()
    {
        ++$this->calls;
        return base64_encode("user=oauth@example.com\001auth=Bearer tok-123\001\001");
    }
}

final class PHPMailerFidelityTest extends TestCase
{
    use LocalServers;

    private array $tmp = [];

    protected function tearDown(): void
    {
        $this->stopServers();
        foreach (array_reverse($this->tmp) as $path) {
            if (is_dir($path)) {
                exec('rm -rf ' . escapeshellarg($path));
            }
        }
        PHPMailer::$validator = 'php';
        PHPMailer::setLE("\r\n");
    }

    private function mailer(int $port): PHPMailer
    {
        $mail = self::localMailer($port);
        $mail->setFrom('sender@example.com', 'Sender');
        $mail->addAddress('rcpt@example.com');
        $mail->Subject = 'subject';
        return $mail;
    }

    private function tmpdir(): string
    {
        $dir = sys_get_temp_dir() . '/pm-fidelity-' . bin2hex(random_bytes(4));
        mkdir($dir);
        return $this->tmp[] = $dir;
    }

    private static function header(string $data, string $name): ?string
    {
        return preg_match('/^' . preg_quote($name, '/') . ': (.*)$/mi', $data, $m) ? rtrim($m[1]) : null;
    }

    public function testMsgHtmlEmbedsDataUrisAndBasedirImages(): void
    {
        $srv = $this->capture();
        $dir = $this->tmpdir();
        mkdir("$dir/images");
        $gif = base64_decode('R0lGODlhAQABAAAAACw=');
        file_put_contents("$dir/images/logo.gif", $gif);
        $mail = $this->mailer($srv->port);
        $html = '<p>Caf&eacute; &#39;x&#39;</p><img src="images/logo.gif"><img src="data:image/gif;base64,'
            . base64_encode($gif) . '"><img src="https://example.com/remote.png"><img src="../secret.gif">';
        $mail->msgHTML($html, $dir);

        $this->assertStringNotContainsString('images/logo.gif', $mail->Body);
        $this->assertSame(2, substr_count($mail->Body, 'cid:'));
        $this->assertStringContainsString('https://example.com/remote.png', $mail->Body);
        $this->assertStringContainsString('../secret.gif', $mail->Body);
        $this->assertSame("Café 'x'", $mail->AltBody);
        $rows = $mail->getAttachments();
        $this->assertCount(2, $rows);
        $this->assertSame(['inline', 'inline'], array_column($rows, 6));
        $this->assertTrue($mail->send());

        [$got] = $srv->waitFor(1);
        $this->assertStringContainsString('multipart/related', $got['data']);
        preg_match_all('/cid:([^"]+)"/', $got['data'], $cids);
        $this->assertCount(2, $cids[1]);
        foreach ($cids[1] as $cid) {
            $this->assertStringContainsString("Content-ID: <$cid>", $got['data']);
        }
        $this->assertStringContainsString("Café 'x'", quoted_printable_decode($got['data']));
    }

    public function testHtml2TextDecodesEntitiesAndTakesACallable(): void
    {
        $mail = new PHPMailer();
        $this->assertSame('Iñtërnâtiônàl &', $mail->html2text('<style>p{}</style><p>I&ntilde;t&euml;rn&acirc;ti&ocirc;n&agrave;l &amp;</p>'));
        $this->assertSame('X', $mail->html2text('<b>y</b>', static fn ($h) => 'X'));
    }

    public function testValidatorsFollowPhpAndCanBeReplaced(): void
    {
        // PHP's filter_var decides by default: these differ from a plain RFC 5321 check.
        $this->assertFalse(PHPMailer::validateAddress('a@b'));
        $this->assertTrue(PHPMailer::validateAddress('"first\\"last"@iana.org'));
        $this->assertFalse(PHPMailer::validateAddress('first.last@com'));
        $this->assertTrue(PHPMailer::validateAddress('x@[IPv6:2001:db8::1]'));
        $this->assertFalse(PHPMailer::validateAddress("a@example.com\n"));
        $this->assertTrue(PHPMailer::validateAddress('a@b', static fn ($a) => true));
        $this->assertTrue(PHPMailer::validateAddress('a@b', 'html5'));
        $this->assertFalse(PHPMailer::validateAddress('a@-b.com', 'html5'));
        $this->assertFalse(PHPMailer::validateAddress('test@example.com.', 'pcre8'));

        PHPMailer::$validator = static fn ($a) => str_ends_with($a, '@allowed.test');
        $mail = new PHPMailer();
        $this->assertFalse($mail->addAddress('user@example.com'));
        $this->assertSame('Invalid address:  (to): user@example.com', $mail->ErrorInfo);
        $this->assertTrue($mail->addAddress('user@allowed.test'));
    }

    public function testStaticHelpers(): void
    {
        $this->assertSame(
            [['name' => 'Joe', 'address' => 'joe@example.com'], ['name' => 'Жанна', 'address' => 'j@example.org']],
            PHPMailer::parseAddresses('Joe <joe@example.com>, =?utf-8?B?0JbQsNC90L3QsA==?= <j@example.org>, bad@', true, 'utf-8')
        );
        $this->assertTrue(PHPMailer::isValidHost('[::1]'));
        $this->assertFalse(PHPMailer::isValidHost('my_host.example'));
        $this->assertSame('=A1Hola!_Se=F1or!', (new PHPMailer())->encodeQ("\xa1Hola! Se\xf1or!"));
        $this->assertSame(base64_encode('hello') . "\r\n", (new PHPMailer())->encodeString('hello'));
        $this->assertSame("a\r\nb\r\n", PHPMailer::normalizeBreaks("a\nb\r"));
        $this->assertSame('mp3', PHPMailer::mb_pathinfo('/x/飛兒樂.mp3', PATHINFO_EXTENSION));
        $this->assertSame('image/jpeg', PHPMailer::filenameToType('a.jpg?x=1'));
        $this->assertSame('"a b"', PHPMailer::quotedString('a b'));
        $this->assertTrue(PHPMailer::hasLineLongerThanMax(str_repeat('x', 999) . "\r\n"));
        $mail = new PHPMailer();
        $mail->CharSet = 'iso-8859-1';
        $this->assertSame('t@xn--franois-xxa.ch', $mail->punyencodeAddress("t@fran\xe7ois.ch"));
        $this->assertSame("aaa bbb\r\nccc\r\n", $mail->wrapText('aaa bbb ccc', 7));
        $mail->CharSet = 'utf-8';
        $this->assertSame('=?utf-8?Q?Caf=C3=A9_cr=C3=A8me_br=C3=BBl=C3=A9e_au_four?=', $mail->encodeHeader('Café crème brûlée au four'));
        $this->assertSame('"Doe, Jane"', $mail->encodeHeader('Doe, Jane', 'phrase'));
        $this->assertSame('plain', $mail->encodeHeader('plain'));
        PHPMailer::setLE("\n");
        $this->assertSame("\n", PHPMailer::getLE());
        $this->assertSame("a\nb", PHPMailer::normalizeBreaks("a\r\nb"));
    }

    public function testAttachmentRowsEncodingsAndReplyToKeys(): void
    {
        $mail = new PHPMailer();
        $this->assertTrue($mail->addStringAttachment('data', 'a.txt'));
        $this->assertSame(['data', 'a.txt', 'a.txt', 'base64', 'text/plain', true, 'attachment', 0], $mail->getAttachments()[0]);
        $this->assertTrue($mail->addAttachment(__FILE__, 'me.php'));
        $this->assertSame([__FILE__, basename(__FILE__), 'me.php', 'base64', 'application/x-httpd-php', false, 'attachment', 'me.php'], $mail->getAttachments()[1]);
        $this->assertFalse($mail->addStringAttachment('x', 'b.txt', 'rot13'));
        $this->assertSame('Unknown encoding: rot13', $mail->ErrorInfo);
        $this->assertCount(2, $mail->getAttachments());
        $mail->addReplyTo('Some.One@Example.com', 'One');
        $this->assertSame(['some.one@example.com' => ['Some.One@Example.com', 'One']], $mail->getReplyToAddresses());
        $this->expectException(Exception::class);
        (new PHPMailer(true))->addAttachment(__FILE__, 'x', 'rot13');
    }

    public function testOAuthTokenProviderAuthenticates(): void
    {
        $srv = $this->capture('--user', 'oauth@example.com:tok-123', '--require-auth');
        $mail = $this->mailer($srv->port);
        $mail->SMTPAuth = true;
        $mail->AuthType = 'XOAUTH2';
        $provider = new StaticTokenProvider();
        $mail->setOAuth($provider);
        $this->assertSame($provider, $mail->getOAuth());
        $mail->Body = 'oauth';
        $this->assertTrue($mail->send());
        [$got] = $srv->waitFor(1);
        $this->assertSame('oauth@example.com', $got['meta']['auth']);
        $this->assertSame(1, $provider->calls);
        $this->assertInstanceOf(OAuthTokenProvider::class, new OAuth([
            'provider' => null, 'userName' => 'u', 'clientSecret' => 's', 'clientId' => 'i', 'refreshToken' => 'r',
        ]));
    }

    public function testIsoCharsetBodyIsConvertedNeverDropped(): void
    {
        $srv = $this->capture();
        $mail = $this->mailer($srv->port);
        $mail->CharSet = PHPMailer::CHARSET_ISO88591;
        $latin1 = "<p>Gr\xfc\xdfe aus K\xf6ln</p>";
        $mail->msgHTML($latin1);
        $this->assertSame($latin1, $mail->Body);
        $this->assertTrue($mail->send());
        [$got] = $srv->waitFor(1);
        $this->assertStringContainsString('Grüße aus Köln', $got['data']);
    }

    public function testHeadersMessageIdXMailerAndReadReceipt(): void
    {
        $srv = $this->capture();
        $mail = $this->mailer($srv->port);
        $mail->Body = 'b';
        $mail->XMailer = null;
        $mail->MessageID = 'not-an-id';
        $this->assertTrue($mail->send());
        $this->assertMatchesRegularExpression('/^<.+@.+>$/', $mail->getLastMessageID());
        $this->assertNotSame('not-an-id', $mail->getLastMessageID());
        [$got] = $srv->waitFor(1);
        $this->assertNull(self::header($got['data'], 'X-Mailer'));
        $this->assertSame($mail->getLastMessageID(), self::header($got['data'], 'Message-ID'));

        $bad = new PHPMailer();
        $bad->addAddress('r@example.com');
        $bad->Body = 'b';
        $bad->ConfirmReadingTo = 'bad@example..com';
        $this->assertFalse($bad->preSend());
        $this->assertStringStartsWith('Invalid address:', $bad->ErrorInfo);
    }

    public function testEncodingWordWrapAndIcal(): void
    {
        $srv = $this->capture();
        $mail = $this->mailer($srv->port);
        $mail->Body = str_repeat('x', 1200);
        $this->assertTrue($mail->send());
        $this->assertSame('quoted-printable', $mail->Encoding);

        $mail->Encoding = '8bit';
        $mail->WordWrap = 20;
        $mail->Body = str_repeat('word ', 20);
        $this->assertTrue($mail->send());
        foreach (explode("\n", $mail->Body) as $line) {
            $this->assertLessThanOrEqual(20, strlen(trim($line)));
        }

        $mail->WordWrap = 0;
        $mail->Body = '<p>invite</p>';
        $mail->AltBody = 'invite';
        $mail->isHTML();
        $mail->Ical = "BEGIN:VCALENDAR\r\nMETHOD:CANCEL\r\nEND:VCALENDAR";
        $this->assertTrue($mail->send());
        $got = $srv->waitFor(3);
        $this->assertCount(3, $got);
        $this->assertMatchesRegularExpression('/Content-Transfer-Encoding: quoted-printable/', $got[0]['data']);
        $this->assertStringContainsString('Content-Type: text/calendar; method=CANCEL', $got[2]['data']);
        $this->assertStringContainsString('multipart/alternative', $got[2]['data']);
    }

    public function testLanguageFilesAreReadNotExecuted(): void
    {
        $dir = $this->tmpdir() . '/';
        $marker = $dir . 'executed';
        file_put_contents($dir . 'phpmailer.lang-xq.php', "<?php\n"
            . "touch('$marker');\n"
            . "\$PHPMAILER_LANG['provide_address'] = 'Bitte einen Empfänger angeben.';\n"
            . "\$PHPMAILER_LANG['unknown_key'] = 'ignored';\n");
        $mail = new PHPMailer();
        $this->assertTrue($mail->setLanguage('xq', $dir));
        $this->assertFileDoesNotExist($marker);
        $this->assertSame('Bitte einen Empfänger angeben.', $mail->getTranslations()['provide_address']);
        $this->assertArrayNotHasKey('unknown_key', $mail->getTranslations());
        $mail->Body = 'b';
        $this->assertFalse($mail->send());
        $this->assertSame('Bitte einen Empfänger angeben.', $mail->ErrorInfo);
        $this->assertFalse($mail->setLanguage('zz', 'http://example.com/'));
        $this->assertSame('Message body empty', $mail->getTranslations()['empty_message']);
    }

    public function testIdnRecipientsArePunycodedOnTheWire(): void
    {
        $srv = $this->capture();
        $mail = $this->mailer($srv->port);
        $mail->clearAllRecipients();
        $this->assertTrue($mail->addAddress('test@françois.ch'));
        $this->assertTrue($mail->addAddress('test@xn--franois-xxa.ch'));
        $this->assertSame([['test@xn--franois-xxa.ch', '']], $mail->getToAddresses());
        $mail->Body = 'idn';
        $this->assertTrue($mail->send());
        [$got] = $srv->waitFor(1);
        $this->assertSame(['test@xn--franois-xxa.ch'], $got['meta']['rcpt_tos']);
        $this->assertCount(1, $mail->getToAddresses());
    }

    public function testSmtpClassDrivesTheProtocol(): void
    {
        $srv = $this->capture('--refuse', 'nobody@example.com');
        $smtp = new SMTP();
        $this->assertFalse($smtp->mail('early@example.com'));
        $this->assertTrue($smtp->connect('127.0.0.1', $srv->port));
        $this->assertFalse($smtp->connect('127.0.0.1', $srv->port));
        $this->assertTrue($smtp->hello('client.example'));
        $this->assertTrue($smtp->getServerExt('8BITMIME'));
        $this->assertFalse($smtp->mail("a@example.com>\r\nRCPT TO:<x@evil.example"));
        $this->assertStringContainsString('line breaks', $smtp->getError()['error']);
        $this->assertTrue($smtp->mail('from@example.com'));
        $this->assertFalse($smtp->recipient('nobody@example.com'));
        $this->assertSame('550', $smtp->getError()['smtp_code']);
        $this->assertSame('5.1.1', $smtp->getError()['smtp_code_ex']);
        $this->assertTrue($smtp->recipient('to@example.com'));
        $this->assertTrue($smtp->data("Subject: hi\r\n\r\n.dot line\r\nbody\r\n"));
        $this->assertStringStartsWith('250', $smtp->getLastReply());
        $this->assertTrue($smtp->quit());
        $this->assertFalse($smtp->connected());

        [$got] = $srv->waitFor(1);
        $this->assertSame('from@example.com', $got['meta']['mail_from']);
        $this->assertSame(['to@example.com'], $got['meta']['rcpt_tos']);
        $this->assertStringContainsString(".dot line\r\nbody", $got['data']);
        $mail = new PHPMailer();
        $this->assertSame($smtp, $mail->setSMTPInstance($smtp));
        $this->assertSame($smtp, $mail->getSMTPInstance());
    }

    public function testDkimSignatureInSentMessageWithExtraHeaders(): void
    {
        $srv = $this->capture();
        $mail = $this->mailer($srv->port);
        $mail->DKIM_domain = 'example.com';
        $mail->DKIM_selector = 'sel';
        $mail->DKIM_private = certs() . '/dkim-rsa.pkcs1.pem';
        $mail->DKIM_extraHeaders = ['X-Campaign'];
        $mail->addCustomHeader('X-Campaign', 'spring');
        $mail->Body = 'signed';
        $this->assertTrue($mail->send());
        $sent = $mail->getSentMIMEMessage();
        $this->assertStringStartsWith('DKIM-Signature:', $sent);
        $this->assertMatchesRegularExpression('/h=[^;]*X-Campaign/i', str_replace(["\r\n ", "\r\n\t"], '', $sent));
        [$got] = $srv->waitFor(1);
        $this->assertSame(1, substr_count($got['data'], 'DKIM-Signature:'));
        $this->assertTrue(dkim_verify($got['eml'], certs() . '/dkim-rsa.txt'));
        file_put_contents($got['eml'], str_replace('X-Campaign: spring', 'X-Campaign: autumn', $got['data']));
        $this->assertFalse(dkim_verify($got['eml'], certs() . '/dkim-rsa.txt'));
        $this->assertSame("a:X\r\nb:Y Z\r\n", $mail->DKIM_HeaderC("A: X\r\nB : Y\t\r\n\tZ  \r\n"));
        $this->assertSame("\r\n", $mail->DKIM_BodyC(''));
    }

    public function testSmimeSignedMessageVerifiesWithOpenssl(): void
    {
        $srv = $this->capture();
        $dir = $this->tmpdir();
        $key = openssl_pkey_new(['private_key_bits' => 2048, 'private_key_type' => OPENSSL_KEYTYPE_RSA]);
        $cert = openssl_csr_sign(openssl_csr_new(['commonName' => 'sender@example.com'], $key), null, $key, 1);
        openssl_x509_export_to_file($cert, "$dir/cert.pem");
        openssl_pkey_export_to_file($key, "$dir/key.pem", 'secret');
        $mail = $this->mailer($srv->port);
        $mail->Body = 'signed with S/MIME';
        $mail->sign("$dir/cert.pem", "$dir/key.pem", 'secret');
        $this->assertTrue($mail->send(), $mail->ErrorInfo);
        $this->assertStringNotContainsString("\r\n\r\nMIME-Version:", $mail->getSentMIMEMessage());
        [$got] = $srv->waitFor(1);
        $this->assertStringContainsString('multipart/signed', $got['data']);
        $this->assertTrue(openssl_pkcs7_verify($got['eml'], PKCS7_NOVERIFY, "$dir/signer.pem"));
        file_put_contents($got['eml'], str_replace('signed with S/MIME', 'forged with S/MIME', $got['data']));
        $this->assertNotTrue(openssl_pkcs7_verify($got['eml'], PKCS7_NOVERIFY));

        $bad = $this->mailer($srv->port);
        $bad->Body = 'x';
        $bad->sign("$dir/cert.pem", "$dir/key.pem", 'wrong pass');
        try {
            $bad->send();
            $this->fail('a wrong key pass phrase must fail');
        } catch (Exception $e) {
            $this->assertStringStartsWith('Signing Error: ', $e->getMessage());
        }
        $this->assertCount(1, $srv->waitFor(0));
    }
}
