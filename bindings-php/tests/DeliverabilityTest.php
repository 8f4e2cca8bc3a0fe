<?php
// Polymailer\Deliverability and PHPMailer::preflight() against a real DNS server (dnsmasq
// serving tests/dns/zone.conf on 127.0.0.1).

use PHPUnit\Framework\TestCase;
use Polymailer\Deliverability;
use Polymailer\PHPMailer\Exception;
use Polymailer\PHPMailer\PHPMailer;
use Polymailer\Tests\DnsServer;

final class DeliverabilityTest extends TestCase
{
    private static DnsServer $dns;

    public static function setUpBeforeClass(): void
    {
        self::$dns = new DnsServer();
    }

    public static function tearDownAfterClass(): void
    {
        self::$dns->stop();
    }

    private function opts(array $extra = []): array
    {
        return $extra + ['nameserver' => '127.0.0.1:' . self::$dns->port, 'timeout' => 2];
    }

    private static function statuses(array $report, string $check): array
    {
        return array_values(array_map(
            fn ($f) => $f['status'],
            array_filter($report['findings'], fn ($f) => $f['check'] === $check)
        ));
    }

    public function testGoodDomain(): void
    {
        $key = self::$dns->outdir . '/dkim-rsa.pkcs8.pem';
        $r = Deliverability::checkDomain('good.test', $this->opts([
            'ip' => '192.0.2.10',
            'dnsbl' => ['bl.test'],
            'selector' => 'ed',
            'dkim' => ['domain' => 'good.test', 'selector' => 's1', 'private_key_file' => $key],
        ]));
        $this->assertTrue($r['ok'], $r['table']);
        $this->assertSame(['pass', 'pass'], self::statuses($r, 'dkim'));
        $this->assertSame(['pass'], self::statuses($r, 'dkim_key_match'));
        $this->assertSame(['pass'], self::statuses($r, 'spf_ip'));
        $this->assertSame(['pass'], self::statuses($r, 'dnsbl'));
        $this->assertIsInt($r['elapsed_ms']);
        $this->assertStringContainsString('dkim_key_match', $r['table']);
    }

    public function testBrokenCases(): void
    {
        $cases = [
            ['twospf.test', 'spf', 'fail'],
            ['toomany.test', 'spf_lookups', 'fail'],
            ['soft.test', 'spf', 'warn'],
            ['nospf.test', 'spf', 'missing'],
            ['nomx.test', 'mx', 'missing'],
        ];
        foreach ($cases as [$domain, $check, $status]) {
            $this->assertSame([$status], self::statuses(Deliverability::checkDomain($domain, $this->opts()), $check), $domain);
        }
        $r = Deliverability::checkDomain('good.test', $this->opts(['ip' => '192.0.2.66', 'dnsbl' => ['bl.test', 'blocked.test']]));
        $this->assertSame(['fail', 'error'], self::statuses($r, 'dnsbl'));
        $this->assertFalse($r['ok']);
    }

    public function testPreflightReadsThePhpmailerSettings(): void
    {
        $mail = new PHPMailer(true);
        $mail->isSMTP();
        $mail->Host = 'mail.good.test';
        $mail->setFrom('news@mismatch.test');
        $mail->DKIM_domain = 'mismatch.test';
        $mail->DKIM_selector = 's1';
        $mail->DKIM_private = self::$dns->outdir . '/dkim-rsa.pkcs8.pem';
        $r = $mail->preflight($this->opts());
        $this->assertSame('mismatch.test', $r['domain']);
        $this->assertSame(['fail'], self::statuses($r, 'dkim_key_match'));
        $this->assertSame(['pass'], self::statuses($r, 'spf_ip'), $r['table']);
        $mail->DKIM_domain = 'good.test';
        $r = $mail->preflight($this->opts(['domain' => 'good.test']));
        $this->assertSame(['pass'], self::statuses($r, 'dkim_key_match'));
    }

    public function testErrorsHaveKinds(): void
    {
        foreach ([['ip' => '1.2.3'], ['nameserver' => 'nowhere'], ['timeout' => 0], ['bogus' => 1]] as $bad) {
            try {
                Deliverability::checkDomain('good.test', $this->opts($bad));
                $this->fail('no exception for ' . json_encode($bad));
            } catch (Exception $e) {
                $this->assertSame('invalid_input', $e->kind);
            }
        }
        $silent = stream_socket_server('udp://127.0.0.1:0', $errno, $errstr, STREAM_SERVER_BIND);
        $port = (int) substr(strrchr(stream_socket_get_name($silent, false), ':'), 1);
        $started = microtime(true);
        try {
            Deliverability::checkDomain('good.test', ['nameserver' => "127.0.0.1:$port", 'timeout' => 0.5]);
            $this->fail('no exception');
        } catch (Exception $e) {
            $this->assertSame('timeout', $e->kind);
        }
        $this->assertLessThan(3.0, microtime(true) - $started);
    }

    public function testKeygen(): void
    {
        foreach (['rsa' => 2048, 'ed25519' => 256] as $algorithm => $bits) {
            $k = Deliverability::dkimKeygen('example.test', 'k1', $algorithm);
            $this->assertSame($bits, $k['bits']);
            $this->assertSame($k['record_value'], implode('', $k['record_strings']));
            $this->assertNotFalse(openssl_pkey_get_private($k['private_key']), 'OpenSSL reads the key');
        }
        $this->expectException(Exception::class);
        Deliverability::dkimKeygen('example.test', 'k1', 'dsa');
    }
}
