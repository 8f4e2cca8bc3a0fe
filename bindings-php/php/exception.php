<?php
// Declared by the extension at request startup: a plain PHP class, so that user code can
// construct and subclass it exactly like PHPMailer's own.
namespace Polymailer\PHPMailer;

if (!\class_exists(Exception::class, false)) {
    class Exception extends \Exception
    {
        /** @var string|null polymailer's error kind ('recipients_refused', 'timeout', ...) */
        public $kind = null;
        /** @var int|null the server's reply code (550) */
        public $smtpCode = null;
        /** @var string|null the enhanced status code (5.1.1) */
        public $smtpCodeEx = null;

        /** @internal the extension builds its exceptions here */
        public static function fromEngine($message, $kind, $smtpCode, $smtpCodeEx)
        {
            $e = new static($message);
            $e->kind = $kind;
            $e->smtpCode = $smtpCode;
            $e->smtpCodeEx = $smtpCodeEx;
            return $e;
        }

        public function errorMessage()
        {
            return '<strong>' . \htmlspecialchars($this->getMessage(), ENT_COMPAT | ENT_HTML401) . "</strong><br />\n";
        }
    }
}
