<?php
// Starts the shared real test servers from PHP's tests and reads what they received
// (the PHP mirror of harness.py). Servers are stopped by PID.

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

/** Stops a server started with proc_open, by PID. */
function stop_process($proc)
{
    if ($proc) {
        $status = proc_get_status($proc);
        if ($status['running']) {
            posix_kill($status['pid'], SIGTERM);
        }
        proc_close($proc);
    }
    return null;
}

final class CaptureServer
{
    public int $port;
    public string $outdir;
    private $proc;

    public function __construct(array $args = [])
    {
        $this->outdir = sys_get_temp_dir() . '/pm-capture-' . bin2hex(random_bytes(6));
        mkdir($this->outdir);
        $cmd = array_merge([python(), __DIR__ . '/capture_server.py', '--outdir', $this->outdir, '--certs', certs()], $args);
        $this->proc = proc_open($cmd, [1 => ['pipe', 'w'], 2 => STDERR], $pipes);
        $line = fgets($pipes[1]);
        if (!is_string($line) || strpos($line, 'READY ') !== 0) {
            $this->stop();
            throw new \RuntimeException("capture server did not start: $line");
        }
        $this->port = (int) substr(trim($line), 6);
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

    public function stop(): void
    {
        $this->proc = stop_process($this->proc);
        if (is_dir($this->outdir)) {
            array_map('unlink', glob($this->outdir . '/*'));
            @rmdir($this->outdir);
        }
    }
}

final class SmtpSink
{
    public int $port;
    private $proc;

    public function __construct(array $args = [])
    {
        $sock = stream_socket_server('tcp://127.0.0.1:0');
        $this->port = (int) substr(strrchr(stream_socket_get_name($sock, false), ':'), 1);
        fclose($sock);
        $bin = getenv('SMTP_SINK') ?: '/usr/sbin/smtp-sink';
        $cmd = array_merge([$bin, '-u', 'nobody'], $args, ["127.0.0.1:{$this->port}", '256']);
        $this->proc = proc_open($cmd, [1 => ['file', '/dev/null', 'w']], $pipes);
        $deadline = microtime(true) + 10;
        while (!($c = @stream_socket_client("tcp://127.0.0.1:{$this->port}", $e, $s, 1))) {
            if (microtime(true) > $deadline) {
                throw new \RuntimeException('smtp-sink did not start');
            }
            usleep(20000);
        }
        fclose($c);
    }

    public function stop(): void
    {
        $this->proc = stop_process($this->proc);
    }
}

function dkim_verify(string $eml, string $record): bool
{
    exec(escapeshellarg(python()) . ' ' . escapeshellarg(ROOT . '/tests/tools/dkim_verify.py') . ' '
        . escapeshellarg($eml) . ' ' . escapeshellarg($record), $out, $rc);
    return $rc === 0;
}
