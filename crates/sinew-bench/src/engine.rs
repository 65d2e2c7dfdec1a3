//! Engine micro-benchmarks, matching `../shared/bench/peers/bench_torch_engine.py`.

use crate::timing::{emit, roofline, time_it};
use sinew_tensor::{no_grad, Conv2dOpts, ConvTranspose2dOpts, Rng, Tensor};

pub fn run(json: bool) {
    crate::timing::emit_machine(json);
    let mut rng = Rng::seed(0);
    for &(m, k, n) in &[(256usize, 784usize, 256usize), (64, 1024, 3072), (1024, 1024, 1024)] {
        // `matmul` as PyTorch's `torch.mm` is timed: the product into a fresh (here pooled) buffer.
        let a = Tensor::rand_normal([m, k], 0.0, 1.0, &mut rng);
        let b = Tensor::rand_normal([k, n], 0.0, 1.0, &mut rng);
        let iters = if m * k * n < 300_000_000 { 50 } else { 10 };
        let t = time_it(
            || {
                std::hint::black_box(no_grad(|| a.matmul(&b)));
            },
            iters,
            5,
            3,
        );
        let flop = 2.0 * (m * k * n) as f64;
        emit(
            json,
            &format!("sgemm_{m}x{k}x{n}"),
            &[
                ("ms", t.median_ms),
                ("gflops", flop / (t.median_ms * 1e6)),
                ("gflops_best", flop / (t.best_ms * 1e6)),
                ("pct_of_peak", 100.0 * flop / (t.median_ms * 1e6) / crate::timing::machine().peak_gflops),
            ],
        );
    }

    // Per recorded op: a chain of 100 adds of 4-element tensors, one requiring grad, forward only.
    let x = Tensor::rand_normal([4], 0.0, 1.0, &mut rng).with_grad();
    let y = Tensor::rand_normal([4], 0.0, 1.0, &mut rng);
    let t = time_it(
        || {
            let mut z = x.clone();
            for _ in 0..100 {
                z = &z + &y;
            }
            std::hint::black_box(z);
        },
        200,
        5,
        3,
    );
    emit(json, "autograd_op_overhead", &[("ns_per_op", t.median_ms * 1e6 / 100.0)]);

    // conv2d forward+backward: input 32x1x28x28 (NHWC here), 32 filters 4x4.
    let xi = Tensor::rand_normal([32, 28, 28, 1], 0.0, 1.0, &mut rng).with_grad();
    let w = Tensor::rand_normal([4, 4, 1, 32], 0.0, 1.0, &mut rng).with_grad();
    let t = time_it(
        || {
            let g = xi.conv2d(&w, Conv2dOpts::default()).sum_all().backward();
            std::hint::black_box(g);
        },
        50,
        5,
        3,
    );
    let mut fields = vec![("ms", t.median_ms)];
    fields.extend(roofline(&t));
    emit(json, "conv2d_fwd_bwd_32x1x28x28_k32x4x4", &fields);

    // conv_transpose2d forward+backward: input 32x64x7x7 -> 32 filters 4x4, stride 2, padding 1.
    let xt = Tensor::rand_normal([32, 7, 7, 64], 0.0, 1.0, &mut rng).with_grad();
    let wt = Tensor::rand_normal([4, 4, 32, 64], 0.0, 1.0, &mut rng).with_grad();
    let o = ConvTranspose2dOpts { stride: [2, 2], padding: [1, 1, 1, 1], ..Default::default() };
    let t = time_it(
        || {
            let g = xt.conv_transpose2d(&wt, o).sum_all().backward();
            std::hint::black_box(g);
        },
        50,
        5,
        3,
    );
    let mut fields = vec![("ms", t.median_ms)];
    fields.extend(roofline(&t));
    emit(json, "conv_transpose2d_fwd_bwd_32x64x7x7_k32x4x4_s2p1", &fields);
}
