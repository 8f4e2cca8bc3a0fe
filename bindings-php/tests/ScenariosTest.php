<?php
// The shared scenario corpus (tests/scenarios/*.json) through the PHPMailer-compatible class.

use PHPUnit\Framework\TestCase;
use Polymailer\PHPMailer\Exception;
use Polymailer\PHPMailer\PHPMailer;
use Polymailer\Tests\CaptureServer;
use Polymailer\Tests\SmtpSink;

use function Polymailer\Tests\certs;
use function Polymailer\Tests\python;

final class ScenariosTest extends TestCase
{
    /** Scenarios PHPMailer's API cannot express, with the reason. */
    private const SKIP = [
        'crlf-in-display-name' => 'PHPMailer strips CR/LF from display names by contract (setFrom/addAddress)',
    ];

    private static array $tally = ['passed' => 0, 'failed' => 0, 'skipped' => 0];

    public static function tearDownAfterClass(): void
    {
        $t = self::$tally;
        fwrite(STDOUT, "\nscenarios: {$t['passed']} passed, {$t['failed']} failed, {$t['skipped']} skipped\n");
    }

    public static function scenarios(): array
    {
        $out = [];
        foreach (glob(dirname(__DIR__, 2) . '/tests/scenarios/*.json') as $file) {
            $out[basename($file, '.json')] = [$file];
        }
        return $out;
    }

    private static function content(array $a): string
    {
        if (isset($a['pattern'])) {
            $s = '';
            for ($i = 0; $i < $a['pattern']['count']; $i++) {
                $s .= chr($i % 256);
            }
            return $s;
        }
        return $a['content'];
    }

    private function configure(PHPMailer $mail, array $t, int $port): void
    {
        $mail->isSMTP();
        $mail->Host = 'localhost';
        $mail->Port = $port;
        $mail->Timeout = 10;
        $mail->SMTPAutoTLS = $t['security'] !== 'none';
        $mail->SMTPSecure = ['starttls' => 'tls', 'implicit' => 'ssl'][$t['security']] ?? '';
        if (!empty($t['ca'])) {
            $mail->SMTPOptions = ['ssl' => ['cafile' => certs() . '/ca.pem']];
        }
        if (isset($t['auth'])) {
            $mail->SMTPAuth = true;
            $mail->Username = $t['auth']['user'];
            $mail->Password = $t['auth']['pass'];
        }
        if (isset($t['dkim'])) {
            $mail->DKIM_domain = $t['dkim']['domain'];
            $mail->DKIM_selector = $t['dkim']['selector'];
            $mail->DKIM_private = certs() . '/' . $t['dkim']['key'];
        }
    }

    private function compose(PHPMailer $mail, array $m): void
    {
        $mail->setFrom($m['from']['address'], $m['from']['name'] ?? '');
        foreach (['to' => 'addAddress', 'cc' => 'addCC', 'bcc' => 'addBCC', 'reply_to' => 'addReplyTo'] as $field => $add) {
            foreach ($m[$field] ?? [] as $box) {
                $mail->$add($box['address'], $box['name'] ?? '');
            }
        }
        $mail->Subject = $m['subject'] ?? '';
        if (isset($m['html'])) {
            $mail->isHTML(true);
            $mail->Body = $m['html'];
            $mail->AltBody = $m['text'] ?? '';
        } else {
            $mail->Body = $m['text'] ?? '';
        }
        foreach ($m['headers'] ?? [] as $name => $value) {
            $mail->addCustomHeader($name, $value);
        }
        foreach ($m['attachments'] ?? [] as $a) {
            if (isset($a['cid'])) {
                $mail->addStringEmbeddedImage(self::content($a), $a['cid'], $a['filename'], 'base64', $a['content_type']);
            } elseif (($a['source'] ?? '') === 'file') {
                $file = tempnam(sys_get_temp_dir(), 'pm-scn');
                file_put_contents($file, self::content($a));
                register_shutdown_function(fn () => @unlink($file));
                $mail->addAttachment($file, $a['filename'], 'base64', $a['content_type']);
            } else {
                $mail->addStringAttachment(self::content($a), $a['filename'], 'base64', $a['content_type']);
            }
        }
    }

    /** @dataProvider scenarios */
    public function testScenario(string $file): void
    {
        $scn = json_decode(file_get_contents($file), true);
        if (isset(self::SKIP[$scn['name']])) {
            self::$tally['skipped']++;
            $this->markTestSkipped(self::SKIP[$scn['name']]);
        }
        self::$tally['failed']++;
        $server = $scn['server']['kind'] === 'capture' ? new CaptureServer($scn['server']['args']) : new SmtpSink($scn['server']['args']);
        try {
            $expect = $scn['expect'];
            $mail = new PHPMailer(true);
            $error = null;
            $kind = null;
            try {
                $this->configure($mail, $scn['transport'], $server->port);
                $this->compose($mail, $scn['message']);
                $mail->send();
            } catch (Exception $e) {
                $error = $e->getMessage();
                $kind = $e->kind;
            }
            $rejected = isset($expect['rejected']) ? 'recipients_refused' : null;
            if (isset($expect['error'])) {
                $this->assertNotNull($error, "expected a {$expect['error']} error");
                $this->assertSame($expect['error'], $kind, $error);
            } elseif ($rejected) {
                // PHPMailer delivers to the accepted recipients, then reports the refused ones.
                $this->assertNotNull($error);
                $this->assertSame($rejected, $kind, $error);
                foreach ($expect['rejected'] as $addr) {
                    $this->assertStringContainsString($addr, $error);
                }
            } else {
                $this->assertNull($error, (string) $error);
            }
            if ($server instanceof CaptureServer) {
                $server->waitFor($expect['delivered'] ? 1 : 0);
                exec(escapeshellarg(python()) . ' ' . escapeshellarg(dirname($file) . '/check.py') . ' '
                    . escapeshellarg($file) . ' ' . escapeshellarg($server->outdir), $out, $rc);
                $this->assertSame(0, $rc, implode("\n", $out));
            }
            self::$tally['failed']--;
            self::$tally['passed']++;
        } finally {
            $server->stop();
        }
    }
}
