<?php
// Starts the shared real test servers from PHP's tests and reads what they received
// through tests/servers/spawn.py, which stops them by PID.

namespace Polymailer\Tests;

const ROOT = __DIR__ . '/../..';

function certs(): string
{
    $dir = ROOT . '/tests/.state/certs';
    exec(escapeshellarg(__DIR__ . '/make-certs.sh') . ' ' . escapeshellarg($dir), $out, $rc);
    if ($rc !== 0) {
        throw new \RuntimeException('make-certs.sh failed');
    }
    return realpath($dir);
}

function python(): string
{
    return getenv('POLYMAILER_PYTHON') ?: ROOT . '/.venv/bin/python';
}

/** A server started through tests/servers/spawn.py ("READY port dir"); stop() closes its stdin. */
class SpawnedServer
{
    public int $port;
    public string $outdir;
    private $proc;
    private $stdin;

    public function __construct(string $kind, array $args = [])
    {
        $cmd = array_merge([python(), __DIR__ . '/spawn.py', $kind], $args);
        $this->proc = proc_open($cmd, [0 => ['pipe', 'r'], 1 => ['pipe', 'w'], 2 => STDERR], $pipes);
        $this->stdin = $pipes[0];
        $words = explode(' ', trim((string) fgets($pipes[1])));
        if ($words[0] !== 'READY' || count($words) !== 3) {
            $this->stop();
            throw new \RuntimeException("$kind server did not start: " . implode(' ', $words));
        }
        [, $port, $this->outdir] = $words;
        $this->port = (int) $port;
    }

    public function stop(): void
    {
        if ($this->proc) {
            fclose($this->stdin);
            proc_close($this->proc);
            $this->proc = null;
        }
    }
}

final class SmtpSink extends SpawnedServer
{
    public function __construct(array $args = [])
    {
        parent::__construct('sink', $args);
    }
}

/** dnsmasq serving tests/dns/zone.conf; `outdir` holds the zone's DKIM keys. */
final class DnsServer extends SpawnedServer
{
    public function __construct()
    {
        parent::__construct('dns', []);
    }
}

final class CaptureServer extends SpawnedServer
{
    /** `$kind` 'postfix' or 'exim': a real MTA taking the capture server's flags. */
    public function __construct(array $args = [], string $kind = 'capture')
    {
        parent::__construct($kind, $args);
    }

    /** @return array<int, array{meta: array, data: string, eml: string}> */
    public function messages(): array
    {
        $out = [];
        $files = glob($this->outdir . '/*.json');
        sort($files);
        foreach ($files as $json) {
            $eml = substr($json, 0, -5) . '.eml';
            $out[] = ['meta' => json_decode(file_get_contents($json), true), 'data' => file_get_contents($eml), 'eml' => $eml];
        }
        return $out;
    }

    public function waitFor(int $n, float $timeout = 10.0): array
    {
        // $n = 0 ("nothing arrives") waits a settle time, so a late delivery is still seen.
        if ($n === 0) {
            usleep((int) (min($timeout, 1.0) * 1e6));
            return $this->messages();
        }
        $deadline = microtime(true) + $timeout;
        while (true) {
            $got = $this->messages();
            if (count($got) >= $n || microtime(true) > $deadline) {
                return $got;
            }
            usleep(20000);
        }
    }
}

function dkim_verify(string $eml, string $record): bool
{
    exec(escapeshellarg(python()) . ' ' . escapeshellarg(ROOT . '/tests/tools/dkim_verify.py') . ' '
        . escapeshellarg($eml) . ' ' . escapeshellarg($record), $out, $rc);
    return $rc === 0;
}
