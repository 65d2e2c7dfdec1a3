//! Every kernel on every instruction-set path this CPU has (issue 23). Each gradient-check case
//! (one or more per differentiable op: the elementwise loops, reductions, softmax, convolutions
//! fused with bias, activation and pooling, transposed convolutions, pooling, the recurrent
//! cells) runs forward and backward in f32 and in f64, and GEMMs of shapes that reach every
//! micro-kernel edge and the two-thread split run in f32, first on the widest path, then again
//! on each lower one (`runtime::set_isa`, what `SINEW_ISA` does at start), and the results are
//! compared. The paths round differently (FMA against a multiply and an add; 16, 8 or 4 lanes
//! in a reduction), so each result may differ by 1e-4 of its largest element (f32) or 1e-10
//! (f64); a wrong kernel is off by far more. One test in its own binary: the path is global.

mod cases;

use cases::*;
use sinew_tensor::kernels::gemm::{gemm, MatRef};
use sinew_tensor::*;

/// Every result, named: each case's output and input gradients, then the GEMM products.
fn run_everything(dtype: DType) -> Vec<(String, Vec<f64>)> {
    let mut out = vec![];
    for c in cases() {
        let xs: Vec<Tensor> = c.inputs.iter().map(|t| no_grad(|| t.to_dtype(dtype)).with_grad()).collect();
        let y = (c.f)(&xs);
        let r = rn(y.dims(), 99).to_dtype(y.dtype());
        let grads = y.mul(&r).sum_all().backward();
        out.push((format!("{} output", c.name), y.to_vec_f64()));
        for (i, x) in xs.iter().enumerate() {
            if let Some(g) = grads.get(x) {
                out.push((format!("{} d/d input {i}", c.name), g.to_vec_f64()));
            }
        }
    }
    if dtype == DType::F32 {
        let mut rng = Rng::seed(5);
        // Odd sizes take the micro-kernels' edge cases; the last two pass the parallel threshold
        // and split along n, then along m.
        for (m, k, n) in
            [(1, 1, 1), (3, 5, 7), (17, 33, 9), (64, 1, 65), (32, 784, 400), (97, 100, 301), (603, 20, 201)]
        {
            let a = Tensor::rand_normal([m * k], 0.0, 1.0, &mut rng).to_vec_f32();
            let b = Tensor::rand_normal([k * n], 0.0, 1.0, &mut rng).to_vec_f32();
            for (ta, tb) in [(false, false), (true, false), (false, true)] {
                let am = if ta { MatRef::row_major(&a, k, m).t() } else { MatRef::row_major(&a, m, k) };
                let bm = if tb { MatRef::row_major(&b, n, k).t() } else { MatRef::row_major(&b, k, n) };
                for accumulate in [false, true] {
                    let mut dst = vec![0.5f32; m * n];
                    gemm(&mut dst, n, am, bm, accumulate);
                    let name = format!("gemm {m}x{k}x{n} transposed {ta} {tb} accumulate {accumulate}");
                    out.push((name, dst.iter().map(|&v| f64::from(v)).collect()));
                }
            }
        }
    }
    out
}

fn compare(path: &str, widest: &[(String, Vec<f64>)], got: &[(String, Vec<f64>)], rel: f64) {
    assert_eq!(widest.len(), got.len(), "{path}: a different number of results");
    for ((name, a), (_, b)) in widest.iter().zip(got) {
        assert_eq!(a.len(), b.len(), "{path}: {name}: lengths differ");
        let scale = a.iter().fold(1e-3f64, |m, v| m.max(v.abs()));
        for (j, (x, y)) in a.iter().zip(b).enumerate() {
            assert!((x - y).abs() <= rel * scale, "{path}: {name}[{j}]: {y} against {x} on the widest path");
        }
    }
}

#[test]
fn every_kernel_agrees_on_every_isa_path() {
    let paths = runtime::isa_paths();
    assert_eq!(paths.first().copied(), Some(runtime::widest_isa()));
    assert_eq!(paths.last().copied(), Some("baseline"));
    runtime::set_isa(paths[0]).unwrap();
    let (w32, w64) = (run_everything(DType::F32), run_everything(DType::F64));
    assert!(w32.len() > 100, "{} results", w32.len());
    for path in &paths[1..] {
        runtime::set_isa(path).unwrap();
        assert_eq!(runtime::isa(), *path);
        compare(path, &w32, &run_everything(DType::F32), 1e-4);
        compare(path, &w64, &run_everything(DType::F64), 1e-10);
    }
    runtime::set_isa(paths[0]).unwrap();
    eprintln!("compared {} f32 and {} f64 results on {paths:?}", w32.len(), w64.len());

    let e = runtime::set_isa("sse9").unwrap_err();
    assert!(e.contains("unknown instruction set \"sse9\""), "{e}");
}
