<?php
if (!class_exists('Polymailer\PHPMailer\PHPMailer')) {
    fwrite(STDERR, "The polymailer extension is not loaded: run with php -d extension=.../libpolymailer.so\n");
    exit(1);
}
require __DIR__ . '/../../tests/servers/harness.php';
