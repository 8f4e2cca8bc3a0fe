<?php
// Polymailer\Bounce over the sample corpus (tests/bounces/expected.json), PHPMailer with VERP
// through a capture server and a real Postfix (its own bounce parsed), and one-click
// unsubscribe through addCustomHeader.

use PHPUnit\Framework\TestCase;
use Polymailer\Bounce;
use Polymailer\PHPMailer\Exception;
use Polymailer\PHPMailer\PHPMailer;
use Polymailer\Tests\CaptureServer;

final class BounceTest extends TestCase
{
    private const SECRET = 'a secret of at least 16 bytes';

    private static function samples(): string
    {
        return __DIR__ . '/../../tests/bounces';
    }

    use LocalServers;

    private function mailer(int $port): PHPMailer
    {
        $mail = self::localMailer($port);
        $mail->setFrom('news@example.com', 'News');
        $mail->Subject = 'subject';
        $mail->Body = 'body';
        return $mail;
    }

    public function testSampleCorpus(): void
    {
        $corpus = json_decode(file_get_contents(self::samples() . '/expected.json'), true);
        foreach ($corpus['files'] as $file => $want) {
            $got = Bounce::parse(file_get_contents(self::samples() . '/' . $file), ['verp_secret' => $corpus['secret']]);
            foreach ($want as $k => $v) {
                if ($k === 'events') {
                    $this->assertCount(count($v), $got['events'], $file);
                    foreach ($v as $i => $we) {
                        $ge = $got['events'][$i];
                        foreach ($we as $ek => $ev) {
                            $have = match ($ek) {
                                'verp_recipient' => $ge['verp']['recipient'] ?? null,
                                'verified' => $ge['verp']['verified'] ?? null,
                                default => $ge[$ek],
                            };
                            $this->assertSame($ev, $have, "$file $ek");
                        }
                    }
                } elseif ($k === 'dmarc') {
                    foreach ($v as $dk => $dv) {
                        $this->assertSame($dv, $dk === 'records' ? count($got['dmarc']['records']) : $got['dmarc'][$dk], "$file dmarc.$dk");
                    }
                } else {
                    $this->assertSame($v, $got[$k], "$file $k");
                }
            }
        }
        foreach (['', "\x00\xff", "garbage\r\n\r\n"] as $raw) {
            $this->assertSame('none', Bounce::parse($raw)['kind']);
        }
        $this->assertStringContainsString('failed nobody@example.net 5.1.1 hard', Bounce::parse(file_get_contents(self::samples() . '/dsn-hard.eml'))['table']);
        $v = Bounce::decodeVerp('bounces+nobody=example.net-7plvibmj-2wc4s6x7qu@bounces.example.org', $corpus['secret']);
        $this->assertSame(['nobody@example.net', '7plvibmj', true], [$v['recipient'], $v['message_tag'], $v['verified']]);
        $this->assertNull(Bounce::decodeVerp('alice@example.com'));
    }

    public function testVerpOneTransactionPerRecipient(): void
    {
        $server = new CaptureServer(['--refuse', 'refused@example.net']);
        try {
            $mail = $this->mailer($server->port);
            $mail->VERP_domain = 'bounces.example.org';
            $mail->VERP_secret = self::SECRET;
            foreach (['a@example.com', 'b@example.net', 'refused@example.net'] as $a) {
                $mail->addAddress($a);
            }
            // As PHPMailer does: the others are sent, then the refused recipient throws.
            try {
                $mail->send();
                $this->fail('a refused recipient throws');
            } catch (Exception $e) {
                $this->assertSame('recipients_refused', $e->kind);
            }
            $got = $server->waitFor(2);
            $this->assertCount(2, $got);
            foreach ($got as $g) {
                $d = Bounce::decodeVerp($g['meta']['mail_from'], self::SECRET);
                $this->assertTrue($d['verified']);
                $this->assertSame([$d['recipient']], $g['meta']['rcpt_tos']);
            }
            $bad = $this->mailer($server->port);
            $bad->VERP_domain = 'x.example';
            $bad->VERP_secret = 'short';
            $bad->addAddress('a@example.com');
            try {
                $bad->send();
                $this->fail('a short VERP secret is refused');
            } catch (Exception $e) {
                $this->assertSame('invalid_input', $e->kind);
            }
        } finally {
            $server->stop();
        }
    }

    public function testPostfixBounceRoundTrip(): void
    {
        $server = new CaptureServer([], 'postfix');
        try {
            $mail = $this->mailer($server->port);
            $mail->VERP_domain = 'example.com';
            $mail->VERP_secret = self::SECRET;
            $mail->MessageID = '<php-pf-1@example.com>';
            $mail->addAddress('nobody@bounce.example');
            $this->assertTrue($mail->send());
            $got = $server->waitFor(1);
            $this->assertCount(1, $got);
            $this->assertSame('', $got[0]['meta']['mail_from']);
            $r = Bounce::parse($got[0]['data'], ['verp_secret' => self::SECRET]);
            $this->assertSame('dsn', $r['kind']);
            $e = $r['events'][0];
            $this->assertSame(['nobody@bounce.example', 'failed', '5.1.1', 'hard'], [$e['recipient'], $e['action'], $e['status'], $e['bounce_class']]);
            $this->assertSame('php-pf-1@example.com', $e['original_message_id']);
            $this->assertTrue($e['verp']['verified']);
            $this->assertTrue($e['message_matches']);
        } finally {
            $server->stop();
        }
    }

    public function testOneClickThroughAddCustomHeader(): void
    {
        $server = new CaptureServer();
        try {
            $mail = $this->mailer($server->port);
            $mail->addAddress('a@example.com');
            $mail->addCustomHeader('List-Unsubscribe', 'https://example.com/u/1, unsub@example.com');
            $mail->addCustomHeader('List-Unsubscribe-Post', 'List-Unsubscribe=One-Click');
            $this->assertTrue($mail->send());
            $text = str_replace("\r\n ", ' ', $server->waitFor(1)[0]['data']);
            $this->assertStringContainsString("\r\nList-Unsubscribe: <https://example.com/u/1>, <mailto:unsub@example.com>\r\n", $text);
            $this->assertStringContainsString("\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n", $text);
            $bad = $this->mailer($server->port);
            $bad->addAddress('a@example.com');
            $bad->addCustomHeader('List-Unsubscribe', '<mailto:unsub@example.com>');
            $bad->addCustomHeader('List-Unsubscribe-Post', 'List-Unsubscribe=One-Click');
            try {
                $bad->send();
                $this->fail('one-click without an https URL is refused');
            } catch (Exception $e) {
                $this->assertSame('invalid_input', $e->kind);
            }
            $this->assertCount(1, $server->waitFor(0));
        } finally {
            $server->stop();
        }
    }
}
