use super::*;
use crate::kernels::test_util::{assert_close as close, pick, rand};

#[rustfmt::skip]
fn geom(n: usize, (h, w, c, f): (usize, usize, usize, usize), (kh, kw): (usize, usize),
        (stride_h, stride_w): (usize, usize), [pad_top, pad_bottom, pad_left, pad_right]: [usize; 4],
        (dil_h, dil_w): (usize, usize), groups: usize) -> Conv2dGeom {
    Conv2dGeom { n, h, w, c, f, kh, kw, stride_h, stride_w, pad_top, pad_bottom, pad_left, pad_right, dil_h, dil_w,
                 groups }
}

/// Hand-picked corner cases followed by random geometries whose output is not empty.
fn geoms() -> Vec<Conv2dGeom> {
    let mut v = vec![
        geom(2, (7, 5, 3, 4), (3, 3), (1, 1), [0; 4], (1, 1), 1),
        geom(1, (8, 8, 1, 2), (4, 4), (2, 2), [1, 2, 1, 2], (1, 1), 1),
        geom(3, (9, 6, 4, 6), (3, 2), (2, 3), [1, 0, 2, 1], (2, 1), 2),
        geom(2, (6, 7, 4, 4), (2, 2), (1, 1), [1, 1, 1, 1], (3, 3), 4),
        geom(2, (5, 5, 3, 5), (1, 1), (1, 1), [0; 4], (1, 1), 1), // pointwise fast path
        geom(1, (5, 6, 2, 3), (1, 1), (2, 2), [1, 0, 0, 1], (1, 1), 1),
        geom(2, (4, 4, 3, 1), (4, 4), (1, 1), [0; 4], (1, 1), 1),
        geom(3, (7, 7, 4, 8), (4, 4), (2, 2), [1, 1, 1, 1], (1, 1), 1), // conv-transpose shape
        geom(1, (3, 3, 2, 2), (5, 5), (1, 1), [2, 2, 2, 2], (1, 1), 1), // kernel wider than image
        geom(2, (5, 7, 6, 6), (3, 3), (3, 1), [2, 0, 0, 2], (1, 2), 2),
        // One channel at stride 1 (the MNIST CNN): im2col's sliding-window runs.
        geom(2, (10, 9, 1, 5), (4, 4), (1, 1), [0; 4], (1, 1), 1),
        geom(1, (7, 8, 1, 3), (3, 2), (1, 1), [1, 2, 0, 1], (1, 1), 1),
    ];
    let mut s = 12345;
    while v.len() < 120 {
        let groups = [1, 1, 2, 4][pick(&mut s, 0, 3)];
        let g = geom(
            pick(&mut s, 1, 3),
            (pick(&mut s, 1, 9), pick(&mut s, 1, 9), groups * pick(&mut s, 1, 3), groups * pick(&mut s, 1, 3)),
            (pick(&mut s, 1, 4), pick(&mut s, 1, 4)),
            (pick(&mut s, 1, 3), pick(&mut s, 1, 3)),
            [pick(&mut s, 0, 2), pick(&mut s, 0, 2), pick(&mut s, 0, 2), pick(&mut s, 0, 2)],
            (pick(&mut s, 1, 3), pick(&mut s, 1, 3)),
            groups,
        );
        if g.out_h() > 0 && g.out_w() > 0 {
            v.push(g);
        }
    }
    v
}

/// Fast kernels against the references; outputs start as NaN to prove they are overwritten.
fn check_against_naive<T: Float>(g: &Conv2dGeom, max: usize, tol: f64, s: &mut u64) {
    let x = rand::<T>(g.n * g.h * g.w * g.c, s);
    let w = rand::<T>(g.kh * g.kw * (g.c / g.groups) * g.f, s);
    let ny = g.n * g.out_h() * g.out_w() * g.f;
    let dy = rand::<T>(ny, s);
    let nan = T::from_f64(f64::NAN);
    let (mut y, mut yr) = (vec![nan; ny], vec![nan; ny]);
    conv2d_forward_chunked(g, &x, &w, &mut y, max);
    conv2d_forward_naive(g, &x, &w, &mut yr);
    close(&y, &yr, tol, &format!("forward {g:?}"));
    let (mut dx, mut dxr) = (vec![nan; x.len()], vec![nan; x.len()]);
    conv2d_backward_input_chunked(g, &dy, &w, &mut dx, max);
    conv2d_backward_input_naive(g, &dy, &w, &mut dxr);
    close(&dx, &dxr, tol, &format!("backward_input {g:?}"));
    let (mut dw, mut dwr) = (vec![nan; w.len()], vec![nan; w.len()]);
    conv2d_backward_weight_chunked(g, &x, &dy, &mut dw, max);
    conv2d_backward_weight_naive(g, &x, &dy, &mut dwr);
    close(&dw, &dwr, tol, &format!("backward_weight {g:?}"));
    let (mut y2, mut dw2) = (vec![nan; ny], vec![nan; w.len()]);
    conv2d_forward_and_backward_weight_chunked(g, &x, &w, &dy, &mut y2, &mut dw2, max);
    close(&y2, &yr, tol, &format!("forward_and_backward_weight, y {g:?}"));
    close(&dw2, &dwr, tol, &format!("forward_and_backward_weight, dw {g:?}"));
}

#[test]
fn conv_fast_matches_naive_f32_and_f64() {
    let mut s = 17;
    for g in geoms() {
        check_against_naive::<f64>(&g, CHUNK_ELEMS, 1e-10, &mut s);
        check_against_naive::<f32>(&g, CHUNK_ELEMS, 1e-4, &mut s);
    }
}

#[test]
fn conv_chunked_batches_match_naive() {
    // One line per chunk, chunks that split images mid-way, and one image per chunk: exercises
    // accumulation of dw across chunks and col2im of partial images.
    let mut s = 19;
    for g in geoms().into_iter().take(40) {
        let per_image = g.out_h() * g.out_w() * g.kh * g.kw * (g.c / g.groups);
        for max in [1, 2 * per_image / 3 + 1, per_image] {
            check_against_naive::<f64>(&g, max, 1e-10, &mut s);
        }
    }
}

#[test]
fn conv_gradients_are_adjoints() {
    // <conv(x), dy> == <x, backward_input(dy)> == <w, backward_weight(x, dy)>
    let mut s = 3;
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(p, q)| p * q).sum::<f64>();
    for g in geoms() {
        let x = rand::<f64>(g.n * g.h * g.w * g.c, &mut s);
        let w = rand::<f64>(g.kh * g.kw * (g.c / g.groups) * g.f, &mut s);
        let ny = g.n * g.out_h() * g.out_w() * g.f;
        let dy = rand::<f64>(ny, &mut s);
        let (mut y, mut dx, mut dw) = (vec![0.0; ny], vec![0.0; x.len()], vec![0.0; w.len()]);
        conv2d_forward(&g, &x, &w, &mut y);
        conv2d_backward_input(&g, &dy, &w, &mut dx);
        conv2d_backward_weight(&g, &x, &dy, &mut dw);
        let l = dot(&y, &dy);
        assert!((l - dot(&x, &dx)).abs() < 1e-10 * (1.0 + l.abs()), "input adjoint {g:?}");
        assert!((l - dot(&w, &dw)).abs() < 1e-10 * (1.0 + l.abs()), "weight adjoint {g:?}");
    }
}

#[test]
fn conv_benchmark_shapes_take_parallel_paths() {
    // MNIST 4x4 conv (parallel im2col and col2im), the conv-transpose geometry, and a batch of
    // 3x3 convs big enough to need several im2col chunks.
    let mut s = 9;
    for g in [
        geom(32, (28, 28, 1, 32), (4, 4), (1, 1), [0; 4], (1, 1), 1),
        geom(8, (14, 14, 32, 64), (4, 4), (2, 2), [1; 4], (1, 1), 1),
        geom(6, (26, 26, 32, 8), (3, 3), (1, 1), [1, 1, 1, 1], (1, 1), 1),
    ] {
        check_against_naive::<f32>(&g, CHUNK_ELEMS, 1e-4, &mut s);
    }
}

#[test]
fn conv_zero_sized_output_is_handled() {
    // Kernel taller and/or wider than the input: no output, zero gradients.
    for (h, w) in [(2, 2), (5, 2), (2, 5)] {
        let g = geom(2, (h, w, 1, 3), (3, 3), (1, 1), [0; 4], (1, 1), 1);
        assert_eq!(g.out_h() * g.out_w(), 0);
        let (x, wt) = (vec![1f32; 2 * h * w], vec![1f32; 27]);
        let (mut dx, mut dw) = (vec![5f32; x.len()], vec![5f32; 27]);
        conv2d_forward(&g, &x, &wt, &mut []);
        conv2d_backward_input(&g, &[], &wt, &mut dx);
        conv2d_backward_weight(&g, &x, &[], &mut dw);
        assert!(dx.iter().chain(&dw).all(|&v| v == 0.0));
    }
}

#[test]
#[should_panic(expected = "conv2d_forward: kernel has 8 values")]
fn conv_rejects_mismatched_kernel() {
    let g = geom(1, (4, 4, 1, 1), (3, 3), (1, 1), [0; 4], (1, 1), 1);
    conv2d_forward(&g, &[0f32; 16], &[0f32; 8], &mut [0f32; 4]);
}

/// `cargo test --release --lib conv_timing -- --ignored --nocapture`
#[test]
#[ignore]
fn conv_timing() {
    let g = geom(32, (28, 28, 1, 32), (4, 4), (1, 1), [0; 4], (1, 1), 1);
    let mut s = 1;
    let (x, w) = (rand::<f32>(32 * 28 * 28, &mut s), rand::<f32>(16 * 32, &mut s));
    let dy = rand::<f32>(32 * 25 * 25 * 32, &mut s);
    let (mut y, mut dx, mut dw) = (vec![0f32; dy.len()], vec![0f32; x.len()], vec![0f32; w.len()]);
    let mut times = vec![];
    for _ in 0..50 {
        let t = std::time::Instant::now();
        conv2d_forward(&g, &x, &w, &mut y);
        conv2d_backward_input(&g, &dy, &w, &mut dx);
        conv2d_backward_weight(&g, &x, &dy, &mut dw);
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(|a, b| a.total_cmp(b));
    println!(
        "conv2d fwd+bwd_input+bwd_weight 32x28x28x1 k4x4x1x32: median {:.3} ms, min {:.3} ms",
        times[25], times[0]
    );
}
