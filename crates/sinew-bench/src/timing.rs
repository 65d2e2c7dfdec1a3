//! The timing protocol of the peer scripts: warm-up calls, then `reps` timings of `n` calls each,
//! reporting the median (and the best) milliseconds per call. Each timing also counts the GEMM
//! FLOPs of one call, for the roofline: what a call achieves against the machine's peak, which
//! [`machine`] measures once with an FMA-throughput probe on the threads in use.

use std::sync::OnceLock;
use std::time::Instant;

pub struct Timing {
    pub median_ms: f64,
    pub best_ms: f64,
    /// The GEMM FLOPs of one call (`runtime::gemm_flops` across one more call after the timing):
    /// every matrix product, forward and backward, convolutions and recurrent steps included;
    /// elementwise work is not counted.
    pub flops: u64,
}

pub fn time_it(mut f: impl FnMut(), n: usize, reps: usize, warmup: usize) -> Timing {
    for _ in 0..warmup {
        f();
    }
    let mut ms: Vec<f64> = (0..reps)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..n {
                f();
            }
            t.elapsed().as_secs_f64() * 1e3 / n as f64
        })
        .collect();
    ms.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let before = sinew_tensor::runtime::gemm_flops();
    f();
    let flops = sinew_tensor::runtime::gemm_flops() - before;
    Timing { median_ms: ms[ms.len() / 2], best_ms: ms[0], flops }
}

/// What the roofline columns are measured against, found once per run.
pub struct Machine {
    pub cpu: String,
    pub isa: &'static str,
    pub widest_isa: &'static str,
    pub threads: usize,
    pub peak_gflops: f64,
}

pub fn machine() -> &'static Machine {
    static M: OnceLock<Machine> = OnceLock::new();
    M.get_or_init(|| {
        let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = info
            .lines()
            .find_map(|l| {
                l.strip_prefix("model name").and_then(|r| r.split_once(':')).map(|(_, v)| v.trim().to_string())
            })
            .unwrap_or_else(|| "unknown CPU".into());
        let threads = sinew_tensor::runtime::num_threads();
        Machine {
            cpu,
            isa: sinew_tensor::runtime::isa(),
            widest_isa: sinew_tensor::runtime::widest_isa(),
            threads,
            peak_gflops: sinew_tensor::runtime::peak_gflops(threads),
        }
    })
}

/// Prints the machine record: JSON (name `machine`) when asked, else a readable line.
pub fn emit_machine(json: bool) {
    let m = machine();
    if json {
        println!(
            "{{\"name\": \"machine\", \"cpu\": {:?}, \"isa\": \"{}\", \"widest_isa\": \"{}\", \"threads\": {}, \"peak_gflops\": {}, \"fw\": \"sinew\"}}",
            m.cpu,
            m.isa,
            m.widest_isa,
            m.threads,
            round4(m.peak_gflops)
        );
    } else {
        println!(
            "machine: {}; path {} (widest {}); {} threads; measured peak {:.1} GFLOPS (FMA probe)",
            m.cpu, m.isa, m.widest_isa, m.threads, m.peak_gflops
        );
    }
}

/// The roofline fields of a call that did `flops` in `ms`: GFLOP a call, GFLOPS achieved and
/// the percentage of the measured peak.
pub fn roofline(t: &Timing) -> [(&'static str, f64); 3] {
    let gflop = t.flops as f64 / 1e9;
    let achieved = gflop / (t.median_ms / 1e3);
    [
        ("gflop_per_step", gflop),
        ("achieved_gflops", achieved),
        ("pct_of_peak", 100.0 * achieved / machine().peak_gflops),
    ]
}

/// Prints one record: JSON when asked, else a readable line. `fields` are (key, value) pairs.
pub fn emit(json: bool, name: &str, fields: &[(&str, f64)]) {
    if json {
        let body: Vec<String> = fields.iter().map(|(k, v)| format!("\"{k}\": {}", round4(*v))).collect();
        println!(
            "{{\"name\": \"{name}\", {}, \"fw\": \"sinew\", \"threads\": {}, \"isa\": \"{}\"}}",
            body.join(", "),
            rayon_threads(),
            sinew_tensor::runtime::isa()
        );
    } else {
        let body: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={}", round4(*v))).collect();
        println!("{name:<55} {}", body.join("  "));
    }
}

fn round4(v: f64) -> f64 {
    (v * 1e4).round() / 1e4
}

fn rayon_threads() -> usize {
    sinew_tensor::runtime::num_threads()
}
