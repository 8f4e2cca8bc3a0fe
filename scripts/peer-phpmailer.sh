#!/usr/bin/env bash
# PHPMailer's own test suite against polymailer (the yardstick of issue #13).
#
#   PHPMAILER_SRC=/path/to/PHPMailer-git-or-checkout scripts/peer-phpmailer.sh [polymailer|phpmailer]
#
# Nothing of PHPMailer is copied into this repository: tag v6.6.3's test/ (and, for the
# comparison run, src/) is extracted into a scratch directory (PEER_DIR, default
# /tmp/peer-phpmailer). The tests' `use PHPMailer\PHPMailer\...` lines are pointed at
# `Polymailer\PHPMailer\...`; everything else runs as written. Yoast's PHPUnit polyfills are not
# packaged by Debian: a stand-in (written below) maps set_up()/tear_down() onto PHPUnit 9. As in
# PHPMailer's CI, an smtp-sink listens on 127.0.0.1:2500 (started here, stopped by PID) and
# `sendmail_path` is PHPMailer's fakesendmail.sh. Prints passed/total per test file.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mode=${1:-polymailer}
src=${PHPMAILER_SRC:?set PHPMAILER_SRC to a clone of PHPMailer/PHPMailer}
tag=${PHPMAILER_TAG:-v6.6.3}
work=${PEER_DIR:-/tmp/peer-phpmailer}/$mode
rm -rf "$work" && mkdir -p "$work/vendor"
if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
  # (not `git archive`: PHPMailer's .gitattributes export-ignores test/)
  GIT_INDEX_FILE="$work/.index" git -C "$src" --work-tree="$work" checkout "$tag" -- test src language examples composer.json
  rm -f "$work/.index"
else
  cp -r "$src/test" "$src/src" "$src/language" "$src/examples" "$src/composer.json" "$work/"
fi
cp "$work/test/testbootstrap-dist.php" "$work/test/testbootstrap.php"
chmod +x "$work/test/fakesendmail.sh"
if [ "$mode" != phpmailer ]; then
  rm -rf "$work/src"
  find "$work/test" -name '*.php' -exec sed -i -E \
    's/^use PHPMailer\\PHPMailer\\/use Polymailer\\PHPMailer\\/' {} +
fi
cat > "$work/vendor/autoload.php" <<'PHP'
<?php
// Stand-in for Composer's autoloader and yoast/phpunit-polyfills (PHPUnit 9 has the assertions).
namespace Yoast\PHPUnitPolyfills\TestCases {
    abstract class TestCase extends \PHPUnit\Framework\TestCase
    {
        public static function setUpBeforeClass(): void { static::set_up_before_class(); }
        public static function tearDownAfterClass(): void { static::tear_down_after_class(); }
        protected function setUp(): void { $this->set_up(); }
        protected function tearDown(): void { $this->tear_down(); }
        protected function assertPreConditions(): void { $this->assert_pre_conditions(); }
        protected function assertPostConditions(): void { $this->assert_post_conditions(); }
        public static function set_up_before_class() {}
        public static function tear_down_after_class() {}
        protected function set_up() {}
        protected function tear_down() {}
        protected function assert_pre_conditions() {}
        protected function assert_post_conditions() {}
        // yoast's AssertAttributeHelper
        public static function getProperty($object, $name)
        {
            $property = new \ReflectionProperty($object, $name);
            $property->setAccessible(true);
            return $property;
        }
        public static function getPropertyValue($object, $name)
        {
            return static::getProperty($object, $name)->getValue($object);
        }
    }
}
namespace Yoast\PHPUnitPolyfills\TestListeners {
    trait TestListenerDefaultImplementation
    {
        public function addError(\PHPUnit\Framework\Test $test, \Throwable $t, float $time): void { $this->add_error($test, $t, $time); }
        public function addWarning(\PHPUnit\Framework\Test $test, \PHPUnit\Framework\Warning $e, float $time): void { $this->add_warning($test, $e, $time); }
        public function addFailure(\PHPUnit\Framework\Test $test, \PHPUnit\Framework\AssertionFailedError $e, float $time): void { $this->add_failure($test, $e, $time); }
        public function addIncompleteTest(\PHPUnit\Framework\Test $test, \Throwable $t, float $time): void {}
        public function addRiskyTest(\PHPUnit\Framework\Test $test, \Throwable $t, float $time): void {}
        public function addSkippedTest(\PHPUnit\Framework\Test $test, \Throwable $t, float $time): void {}
        public function startTestSuite(\PHPUnit\Framework\TestSuite $suite): void {}
        public function endTestSuite(\PHPUnit\Framework\TestSuite $suite): void {}
        public function startTest(\PHPUnit\Framework\Test $test): void { $this->start_test($test); }
        public function endTest(\PHPUnit\Framework\Test $test, float $time): void { $this->end_test($test, $time); }
        public function add_error($test, $e, $time) {}
        public function add_warning($test, $e, $time) {}
        public function add_failure($test, $e, $time) {}
        public function start_test($test) {}
        public function end_test($test, $time) {}
    }
}
namespace {
    spl_autoload_register(function ($class) {
        foreach (['PHPMailer\\Test\\' => '/test/', 'PHPMailer\\PHPMailer\\' => '/src/'] as $prefix => $dir) {
            if (strpos($class, $prefix) === 0) {
                $file = dirname(__DIR__) . $dir . str_replace('\\', '/', substr($class, strlen($prefix))) . '.php';
                if (is_file($file)) {
                    require $file;
                }
            }
        }
    });
}
PHP
cat > "$work/phpunit.xml" <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<phpunit bootstrap="vendor/autoload.php" backupGlobals="true" cacheResult="false"
         convertDeprecationsToExceptions="true">
  <testsuites><testsuite name="PHPMailerTests"><directory>./test/</directory></testsuite></testsuites>
  <listeners><listener class="PHPMailer\Test\DebugLogTestListener" /></listeners>
  <groups><exclude><group>languages</group><group>pop3</group></exclude></groups>
</phpunit>
XML
sink_pid=
cleanup() { [ -n "$sink_pid" ] && kill "$sink_pid" 2>/dev/null || true; }
trap cleanup EXIT
if ! (exec 3<>/dev/tcp/127.0.0.1/2500) 2>/dev/null; then
  /usr/sbin/smtp-sink -u nobody 127.0.0.1:2500 1000 & sink_pid=$!
  sleep 0.5
fi
args=(-d error_reporting=E_ALL -d display_errors=On -d "sendmail_path=$work/test/fakesendmail.sh")
[ "$mode" != phpmailer ] && args+=(-d "extension=$root/target/release/libpolymailer.so")
# Two tests chmod a file unreadable: as root it stays readable, so run as nobody.
as=()
if [ "$(id -u)" = 0 ]; then chown -R nobody "$work"; as=(runuser -u nobody --); fi
(cd "$work" && timeout 900 "${as[@]}" php "${args[@]}" /usr/bin/phpunit --log-junit junit.xml >phpunit.out 2>&1 || true)
python3 - "$work/junit.xml" <<'PY' | tee "$work/summary.txt"
import sys, xml.etree.ElementTree as ET
files = {}
for case in ET.parse(sys.argv[1]).iter('testcase'):
    f = case.get('file', '?').split('/test/', 1)[-1]
    kids = {c.tag for c in case}
    row = files.setdefault(f, [0, 0, 0, []])
    if 'skipped' in kids:
        row[2] += 1
        continue
    row[1] += 1
    risky = all(c.get('type', '').endswith('RiskyTestError') for c in case if c.tag == 'error')
    if 'failure' in kids or ('error' in kids and not risky):
        row[3].append(case.get('name'))
    else:
        row[0] += 1
tp = tt = ts = 0
for f in sorted(files):
    p, t, s, bad = files[f]
    tp, tt, ts = tp + p, tt + t, ts + s
    print(f"{f:48} {p:3}/{t:<3}" + (f" skipped {s}" if s else ""))
print(f"total: {tp}/{tt} (skipped {ts})")
PY
