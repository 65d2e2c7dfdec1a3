//! `sinew-bench`: measures the workloads the issues name, printing one JSON object per line with
//! the same `name` values and fields as the peer scripts in `../shared/bench/peers`, so the two
//! outputs compare line by line.
//!
//! Usage: `sinew-bench engine|train [WORKLOAD...] [--json]`, or `sinew-bench claims [NAME...]
//! [--list]` to rerun every stated accuracy figure through the examples (see `claims.rs`).

mod claims;
mod engine;
mod timing;
mod train;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let json = args.iter().any(|a| a == "--json");
    let what: Vec<&str> = args.iter().filter(|a| !a.starts_with("--")).map(|s| s.as_str()).collect();
    match what.as_slice() {
        ["engine"] => engine::run(json),
        ["train", only @ ..] => train::run(json, only),
        ["claims", only @ ..] => claims::run(only, args.iter().any(|a| a == "--list")),
        _ => {
            eprintln!(
                "usage: sinew-bench engine [--json] | train [WORKLOAD...] [--json] | claims [NAME...] [--list]\n  \
                 engine   GEMM, autograd overhead and conv micro-benchmarks\n  \
                 train    the training and inference workloads of the issues\n  \
                 claims   every stated accuracy figure, rerun through the examples"
            );
            std::process::exit(2);
        }
    }
}
