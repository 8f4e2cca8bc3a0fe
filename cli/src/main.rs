fn main() {
    std::process::exit(polymailer_cli::run(std::env::args_os()));
}
