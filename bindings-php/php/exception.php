<?php
// Declared by the extension at request startup: a plain PHP class, so that user code can
// construct and subclass it exactly like PHPMailer's own.
namespace Polymailer\PHPMailer;

if (!\class_exists(Exception::class, false)) {
    class Exception extends \Exception
    {
        public function errorMessage()
        {
            return '<strong>' . \htmlspecialchars($this->getMessage(), ENT_COMPAT | ENT_HTML401) . "</strong><br />\n";
        }
    }
}
