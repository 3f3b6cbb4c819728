//! The `versioner` binary: parses the command line and runs it; see `versioner --help`.

use versioner_cli::{Exit, run};

fn main() -> Exit {
    let env = |name: &str| std::env::var(name).ok();
    run(
        std::env::args_os(),
        &env,
        &mut std::io::stdout(),
        &mut std::io::stderr(),
    )
}
