# cargo builds the extension (target/release/libpolymailer.so of the workspace, or of
# CARGO_TARGET_DIR) against the PHP php-config names; phpize's install copies modules/*.
.PHONY: polymailer-cargo
all: modules/polymailer.so
install-modules: modules/polymailer.so

modules/polymailer.so: polymailer-cargo
polymailer-cargo:
	cd $(top_srcdir) && PHP=$(PHP_EXECUTABLE) PHP_CONFIG=$(PHP_CONFIG) $(CARGO) build --release -p polymailer-php
	$(mkinstalldirs) modules
	cp "$${CARGO_TARGET_DIR:-$(top_srcdir)/../target}/release/libpolymailer.so" modules/polymailer.so
