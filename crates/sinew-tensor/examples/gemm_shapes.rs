//! The matrix products of a dense stack's training step, timed one by one through
//! `kernels::gemm` on one thread and on the pool: for each layer the forward `x · W`, the input
//! gradient `dY · Wᵀ` and the weight gradient `Xᵀ · dY`. Each product is first checked against
//! the naive one. Defaults to b5's autoencoder (batch 32, 784-400-200-100-50-25 and back).
//!
//! Run: `cargo run --release -p sinew-tensor --example gemm_shapes [BATCH DIM DIM ...]`
//! (b8's VAE: `128 784 512 2`). `SINEW_ISA=avx2` runs the AVX2 path.
use sinew_tensor::kernels::gemm::{gemm, gemm_naive, MatRef};
use std::time::Instant;

fn run(name: &str, m: usize, k: usize, n: usize, ta: bool, tb: bool) {
    let a: Vec<f32> = (0..m * k).map(|i| (i % 7) as f32 * 0.1).collect();
    let b: Vec<f32> = (0..k * n).map(|i| (i % 5) as f32 * 0.1).collect();
    let mut d = vec![0.0f32; m * n];
    let am = if ta { MatRef::row_major(&a, k, m).t() } else { MatRef::row_major(&a, m, k) };
    let bm = if tb { MatRef::row_major(&b, n, k).t() } else { MatRef::row_major(&b, k, n) };
    for acc in [false, true] {
        let mut d1: Vec<f32> = (0..m * n).map(|i| (i % 3) as f32).collect();
        let mut d2 = d1.clone();
        gemm(&mut d1, n, am, bm, acc);
        gemm_naive(&mut d2, n, am, bm, acc);
        let err = d1.iter().zip(&d2).map(|(x, y)| (x - y).abs() / (1.0 + y.abs())).fold(0.0f32, f32::max);
        assert!(err <= 1e-4, "{name} {m}x{k}x{n} accumulate={acc}: off the naive product by {err}");
    }
    let mut res = vec![];
    for serial in [true, false] {
        let f = || {
            for _ in 0..50 {
                gemm(&mut d, n, am, bm, false);
            }
            let reps = 400;
            let t = Instant::now();
            for _ in 0..reps {
                gemm(&mut d, n, am, bm, false);
            }
            t.elapsed().as_secs_f64() / reps as f64
        };
        let s = if serial { sinew_tensor::runtime::serial(f) } else { sinew_tensor::runtime::in_pool(f) };
        res.push((s * 1e6, 2.0 * (m * n * k) as f64 / s / 1e9));
    }
    println!(
        "{name:10} {m:4}x{k:4}x{n:4} ta={ta:5} tb={tb:5}  1t {:7.1} us {:6.1} GF   2t {:7.1} us {:6.1} GF",
        res[0].0, res[0].1, res[1].0, res[1].1
    );
}

fn main() {
    let args: Vec<usize> =
        std::env::args().skip(1).map(|a| a.parse().expect("arguments: BATCH DIM DIM ... (whole numbers)")).collect();
    let (bs, dims) =
        if args.is_empty() { (32, vec![784, 400, 200, 100, 50, 25]) } else { (args[0], args[1..].to_vec()) };
    let mut layers = vec![];
    for w in dims.windows(2) {
        layers.push((w[0], w[1]));
    }
    for w in dims.windows(2).rev() {
        layers.push((w[1], w[0]));
    }
    for &(i, o) in &layers {
        run("fwd", bs, i, o, false, false);
        run("dX", bs, o, i, false, true);
        run("dW", i, bs, o, true, false);
    }
}
