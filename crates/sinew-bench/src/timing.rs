//! The timing protocol of the peer scripts: warm-up calls, then `reps` timings of `n` calls each,
//! reporting the median (and the best) milliseconds per call.

use std::time::Instant;

pub struct Timing {
    pub median_ms: f64,
    pub best_ms: f64,
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
    Timing { median_ms: ms[ms.len() / 2], best_ms: ms[0] }
}

/// Prints one record: JSON when asked, else a readable line. `fields` are (key, value) pairs.
pub fn emit(json: bool, name: &str, fields: &[(&str, f64)]) {
    if json {
        let body: Vec<String> = fields.iter().map(|(k, v)| format!("\"{k}\": {}", round4(*v))).collect();
        println!("{{\"name\": \"{name}\", {}, \"fw\": \"sinew\", \"threads\": {}}}", body.join(", "), rayon_threads());
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
