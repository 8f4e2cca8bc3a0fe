dnl polymailer is a PHP extension written in Rust (ext-php-rs). The PECL/PIE build -- phpize,
dnl ./configure, make, make install -- hands the compile to cargo (Makefile.frag): what it needs
dnl is cargo and the php-config of the PHP to build for.
PHP_ARG_ENABLE([polymailer],
  [whether to enable polymailer],
  [AS_HELP_STRING([--enable-polymailer], [Enable polymailer (built with cargo)])],
  [yes])

if test "$PHP_POLYMAILER" != "no"; then
  AC_PATH_PROG([CARGO], [cargo], [no], [$PATH:$HOME/.cargo/bin])
  if test "$CARGO" = "no"; then
    AC_MSG_ERROR([cargo not found: install Rust (https://rustup.rs), then run ./configure again])
  fi
  PHP_SUBST([CARGO])
  PHP_SUBST([PHP_CONFIG])
  PHP_ADD_MAKEFILE_FRAGMENT([Makefile.frag])
fi
