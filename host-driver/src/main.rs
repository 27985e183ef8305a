//! `ukey`: the certificate assistant for ukey tokens. See `ukey --help`.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
