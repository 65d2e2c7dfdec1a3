//! A CSV larger than memory, trained on through the input pipeline in bounded memory: the file
//! is streamed row by row (`csv_dataset`), shuffled in a 10,000-row buffer, batched and
//! prefetched, and a linear regression is fitted on it for one epoch. The file is generated
//! first (`y = 2 x0 - 3 x1 + 0.5 x2 + 1` plus noise), so the fitted weights can be checked.
//!
//! Run: `cargo run --release --example stream_csv -- 4` (the size in GB; default 4) prints the
//! rows, the fitted weights and the peak resident memory of the process. The test streams
//! 64 MB and asserts that the peak grows by less than 32 MiB while the file is read (it grew
//! by 9 MiB on 2026-12-07).

use sinew::data::{csv_dataset, CsvDatasetOptions};
use sinew::prelude::*;
use std::io::Write;
use std::path::{Path, PathBuf};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// The process's peak resident set (VmHWM), in MiB.
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = status.lines().find_map(|l| l.strip_prefix("VmHWM:")).and_then(|v| v.trim().strip_suffix("kB"));
    kb.and_then(|v| v.trim().parse::<f64>().ok()).map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Writes about `bytes` of CSV rows; returns the row count.
fn generate(path: &Path, bytes: u64) -> Res<usize> {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(w, "x0,x1,x2,y")?;
    let mut rng = Rng::seed(7);
    let (mut written, mut rows) = (0u64, 0usize);
    while written < bytes {
        let x: Vec<f64> = (0..3).map(|_| rng.next_f64() * 2.0 - 1.0).collect();
        let y = 2.0 * x[0] - 3.0 * x[1] + 0.5 * x[2] + 1.0 + 0.01 * rng.normal();
        let line = format!("{:.6},{:.6},{:.6},{:.6}\n", x[0], x[1], x[2], y);
        w.write_all(line.as_bytes())?;
        written += line.len() as u64;
        rows += 1;
    }
    w.flush()?;
    Ok(rows)
}

struct Outcome {
    rows: usize,
    kernel: Vec<f32>,
    bias: f32,
    peak_before: f64,
    peak_after: f64,
}

fn run(bytes: u64, dir: &Path) -> Res<Outcome> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join("big.csv");
    let rows = generate(&path, bytes)?;
    let peak_before = peak_rss_mib();
    let ds =
        csv_dataset(&path, &CsvDatasetOptions::new().label_name("y"))?.shuffle(10_000, 1).batch(256, false).prefetch(4);
    let mut model = Sequential::new();
    model.seed(1).input(&[3]);
    model.add(Dense::new(1));
    model.compile(Optimizer::sgd(0.05), "mse", &[])?;
    model.fit_dataset(&ds, Fit::new().epochs(1).verbose(0))?;
    let peak_after = peak_rss_mib();
    std::fs::remove_file(&path)?;
    let w = model.get_weights();
    Ok(Outcome { rows, kernel: w[0].to_vec_f32(), bias: w[1].to_vec_f32()[0], peak_before, peak_after })
}

fn scratch() -> PathBuf {
    std::env::temp_dir().join(format!("sinew-stream-csv-{}", std::process::id()))
}

fn main() -> Res<()> {
    let gb: f64 = std::env::args().nth(1).map(|a| a.parse()).transpose()?.unwrap_or(4.0);
    let t = std::time::Instant::now();
    let o = run((gb * 1e9) as u64, &scratch())?;
    println!(
        "{gb} GB, {} rows in {:.0} s: kernel {:?}, bias {:.4} (truth 2, -3, 0.5 and 1); peak RSS {:.1} MiB before streaming, {:.1} MiB after",
        o.rows,
        t.elapsed().as_secs_f64(),
        o.kernel,
        o.bias,
        o.peak_before,
        o.peak_after
    );
    Ok(())
}

#[test]
fn streaming_64_mb_trains_in_bounded_memory() {
    let o = run(64 << 20, &scratch()).unwrap();
    assert!(o.rows > 1_000_000, "{} rows", o.rows);
    let truth = [2.0, -3.0, 0.5];
    for (w, t) in o.kernel.iter().zip(truth) {
        assert!((w - t).abs() < 0.05, "kernel {:?}", o.kernel);
    }
    assert!((o.bias - 1.0).abs() < 0.05, "bias {}", o.bias);
    // The file is 64 MiB; reading it whole would raise the peak by at least that much.
    let grew = o.peak_after - o.peak_before;
    assert!(
        grew < 32.0,
        "the peak RSS grew by {grew:.1} MiB while streaming ({:.1} -> {:.1})",
        o.peak_before,
        o.peak_after
    );
    eprintln!("{} rows; peak RSS {:.1} -> {:.1} MiB", o.rows, o.peak_before, o.peak_after);
}
