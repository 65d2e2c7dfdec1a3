//! The fusion `conv2d_bias_act` against the op chain it replaces (`conv2d`, `bias_act`,
//! `max_pool2d`), in f32 and f64, over padding, strides, dilation, pooling windows, activations
//! and NaN inputs: its values without recorded gradients, and when recording, its op and its
//! gradients.

use sinew_tensor::*;

struct Case {
    x: [usize; 4],
    k: [usize; 2],
    f: usize,
    conv: Conv2dOpts,
    pool: Option<Pool2dOpts>,
    bias: bool,
    act: Activation,
}

fn cases() -> Vec<Case> {
    let conv = |stride: usize, pad: usize, dil: usize| Conv2dOpts {
        stride: [stride, stride],
        padding: [pad, pad + 1, pad, pad],
        dilation: [dil, dil],
        groups: 1,
    };
    let pool = |k: usize, s: usize, p: usize| Some(Pool2dOpts { kernel: [k, k], stride: [s, s], padding: [p; 4] });
    // (input, kernel, filters, conv, pool, bias, activation)
    let case = |x, k, f, conv, pool, bias, act| Case { x, k, f, conv, pool, bias, act };
    use Activation::*;
    vec![
        // The MNIST CNN's first layer: one channel, 4x4 kernel, 32 filters, relu, 2x2 pooling.
        case([3, 28, 28, 1], [4, 4], 32, conv(1, 0, 1), pool(2, 2, 0), true, Relu),
        case([2, 9, 11, 3], [3, 3], 19, conv(2, 1, 1), pool(3, 2, 1), true, Sigmoid),
        case([2, 12, 10, 4], [3, 2], 8, conv(1, 2, 2), None, true, Gelu),
        case([1, 7, 7, 2], [1, 1], 5, conv(1, 0, 1), pool(2, 1, 0), false, Tanh),
        case([4, 8, 8, 2], [3, 3], 16, conv(1, 1, 1), None, false, Linear),
        case([2, 10, 10, 3], [3, 3], 24, conv(1, 0, 1), pool(2, 2, 0), true, Linear),
    ]
}

fn inputs(c: &Case, dtype: DType, seed: u64) -> (Tensor, Tensor, Option<Tensor>) {
    let mut rng = Rng::seed(seed);
    let x = Tensor::rand_normal(c.x, 0.0, 1.0, &mut rng).to_dtype(dtype);
    let w = Tensor::rand_normal([c.k[0], c.k[1], c.x[3], c.f], 0.0, 0.5, &mut rng).to_dtype(dtype);
    let b = c.bias.then(|| Tensor::rand_normal([c.f], 0.0, 0.5, &mut rng).to_dtype(dtype));
    (x, w, b)
}

fn chain(x: &Tensor, w: &Tensor, b: Option<&Tensor>, c: &Case) -> Tensor {
    let z = x.conv2d(w, c.conv);
    let zero = Tensor::zeros([c.f]).to_dtype(x.dtype());
    let y = z.bias_act(b.unwrap_or(&zero), c.act);
    c.pool.map_or(y.clone(), |p| y.max_pool2d(p))
}

fn same(a: &Tensor, b: &Tensor, tol: f64, what: &str) {
    assert_eq!(a.dims(), b.dims(), "{what}: shapes differ");
    for (i, (p, q)) in a.to_vec_f64().iter().zip(b.to_vec_f64()).enumerate() {
        if p.is_nan() || q.is_nan() {
            assert!(p.is_nan() && q.is_nan(), "{what}: element {i}: {p} vs {q}");
        } else {
            assert!(*p == q || (p - q).abs() <= tol * (1.0 + q.abs()), "{what}: element {i}: {p} vs {q}");
        }
    }
}

#[test]
fn fused_conv_matches_the_op_chain_in_f32_and_f64() {
    for (i, c) in cases().iter().enumerate() {
        for (dtype, tol) in [(DType::F32, 1e-5), (DType::F64, 1e-12)] {
            let (x, w, b) = inputs(c, dtype, i as u64);
            let want = chain(&x, &w, b.as_ref(), c);
            let got = no_grad(|| x.conv2d_bias_act(&w, b.as_ref(), c.act, c.conv, c.pool));
            same(&got, &want, tol, &format!("case {i} {dtype:?}"));
            // Without grad mode off, untracked inputs take the fused path too.
            let again = x.conv2d_bias_act(&w, b.as_ref(), c.act, c.conv, c.pool);
            same(&again, &want, tol, &format!("case {i} {dtype:?}, grad mode on"));
        }
    }
}

#[test]
fn fused_conv_propagates_nan_as_the_chain_does() {
    for (i, c) in cases().iter().enumerate() {
        let (x, w, b) = inputs(c, DType::F32, 10 + i as u64);
        let mut v = x.to_vec_f32();
        for j in (0..v.len()).step_by(37) {
            v[j] = f32::NAN;
        }
        let x = Tensor::from_vec(v, c.x);
        let want = chain(&x, &w, b.as_ref(), c);
        let got = no_grad(|| x.conv2d_bias_act(&w, b.as_ref(), c.act, c.conv, c.pool));
        assert!(
            want.to_vec_f32().iter().any(|v| v.is_nan()) || c.act == Activation::Relu,
            "case {i}: no NaN reached the output"
        );
        same(&got, &want, 1e-5, &format!("case {i} with NaN inputs"));
    }
}

/// The output of `f`, the ops it recorded, and the gradients of `sum(y * r)` with respect to
/// each input (backward consumes the graph, so the ops are read first).
fn grads(inputs: &[Tensor], f: impl Fn(&[Tensor]) -> Tensor) -> (Tensor, Vec<Op>, Vec<Tensor>) {
    let xs: Vec<Tensor> = inputs.iter().map(|t| t.with_grad()).collect();
    let y = f(&xs);
    let ops = y.graph_ops();
    let r = Tensor::rand_normal(y.dims(), 0.0, 1.0, &mut Rng::seed(77)).to_dtype(y.dtype());
    let g = y.mul(&r).sum_all().backward();
    let out = xs.iter().map(|x| g.get(x).expect("every input gets a gradient").clone()).collect();
    (y, ops, out)
}

#[test]
fn fused_conv_records_one_op_whose_gradients_match_the_chain() {
    for (i, c) in cases().iter().enumerate() {
        for (dtype, tol) in [(DType::F32, 1e-4), (DType::F64, 1e-10)] {
            let (x, w, b) = inputs(c, dtype, 20 + i as u64);
            let ins: Vec<Tensor> = [Some(x), Some(w), b].into_iter().flatten().collect();
            let (y, ops, got) = grads(&ins, |t| t[0].conv2d_bias_act(&t[1], t.get(2), c.act, c.conv, c.pool));
            let (want_y, _, want) = grads(&ins, |t| chain(&t[0], &t[1], t.get(2), c));
            let fused = c.pool.is_some()
                && matches!(c.act, Activation::Relu | Activation::Sigmoid | Activation::Tanh | Activation::Linear);
            assert_eq!(ops.contains(&Op::ConvBiasActPool), fused, "case {i}: {ops:?}");
            assert_eq!(ops.contains(&Op::Conv2d), !fused, "case {i}: {ops:?}");
            same(&y, &want_y, tol, &format!("case {i} {dtype:?} output"));
            for (k, (a, e)) in got.iter().zip(&want).enumerate() {
                same(a, e, tol, &format!("case {i} {dtype:?} gradient of input {k}"));
            }
        }
    }
}

#[test]
fn fused_conv_skips_the_input_gradient_when_the_input_is_untracked() {
    let c = &cases()[0];
    let (x, w, b) = inputs(c, DType::F32, 3);
    let (w, b) = (w.with_grad(), b.map(|b| b.with_grad()));
    let y = x.conv2d_bias_act(&w, b.as_ref(), c.act, c.conv, c.pool);
    let g = y.sum_all().backward();
    assert!(g.get(&w).is_some() && g.get(b.as_ref().unwrap()).is_some() && g.get(&x).is_none());
    // Under no_grad nothing is recorded, even for tracked inputs.
    assert!(no_grad(|| x.conv2d_bias_act(&w, b.as_ref(), c.act, c.conv, c.pool)).graph_ops().is_empty());
}

#[test]
#[should_panic(expected = "conv2d_bias_act: bias shape [3] does not match 4 filters")]
fn fused_conv_rejects_a_bias_of_the_wrong_length() {
    let _ = Tensor::zeros([1, 5, 5, 2]).conv2d_bias_act(
        &Tensor::zeros([3, 3, 2, 4]),
        Some(&Tensor::zeros([3])),
        Activation::Relu,
        Conv2dOpts::default(),
        None,
    );
}

#[test]
fn fused_conv_gradients_are_identical_run_to_run() {
    // Large enough for the backward pass to split images across threads.
    let c = &cases()[0];
    let (x, w, b) = inputs(&Case { x: [16, 28, 28, 1], ..cases().remove(0) }, DType::F32, 9);
    let ins: Vec<Tensor> = [Some(x), Some(w), b].into_iter().flatten().collect();
    let run = || grads(&ins, |t| t[0].conv2d_bias_act(&t[1], t.get(2), c.act, c.conv, c.pool)).2;
    let first: Vec<Vec<f32>> = run().iter().map(|g| g.to_vec_f32()).collect();
    for _ in 0..5 {
        let again: Vec<Vec<f32>> = run().iter().map(|g| g.to_vec_f32()).collect();
        assert_eq!(again, first, "a second run of the same inputs gave different gradients");
    }
}

#[test]
fn fused_conv_takes_the_chain_for_large_images_and_zero_filters() {
    // 298 x 298 outputs with a 36-value im2col row: 3.9M scratch values, over the 1M bound.
    let c = Case {
        x: [1, 300, 300, 4],
        k: [3, 3],
        f: 8,
        conv: Conv2dOpts::default(),
        pool: Some(Pool2dOpts::square(2)),
        bias: true,
        act: Activation::Relu,
    };
    let (x, w, b) = inputs(&c, DType::F32, 4);
    let (w, b) = (w.with_grad(), b.map(|b| b.with_grad()));
    let y = x.conv2d_bias_act(&w, b.as_ref(), c.act, c.conv, c.pool);
    let ops = y.graph_ops();
    assert!(ops.contains(&Op::Conv2d) && !ops.contains(&Op::ConvBiasActPool), "{ops:?}");
    same(&no_grad(|| x.conv2d_bias_act(&w, b.as_ref(), c.act, c.conv, c.pool)), &y, 0.0, "large image");
    // No filters: an empty output and empty gradients, no division by zero.
    let (x, w0, b0) =
        (Tensor::zeros([2, 6, 6, 2]), Tensor::zeros([3, 3, 2, 0]).with_grad(), Tensor::zeros([0]).with_grad());
    let y = x.conv2d_bias_act(&w0, Some(&b0), Activation::Relu, Conv2dOpts::default(), Some(Pool2dOpts::square(2)));
    assert_eq!(y.dims(), [2, 2, 2, 0]);
    let g = y.sum_all().backward();
    assert_eq!(g.get(&w0).map(|t| t.numel()), Some(0));
}

#[test]
fn fused_conv_pooling_first_keeps_the_chain_result_for_infinite_biases() {
    // A 1x1 identity conv, so the conv output is the input: -inf + inf is NaN in the chain.
    let x = Tensor::from_vec(vec![f32::NEG_INFINITY, 1.0, 2.0, 3.0], [1, 2, 2, 1]);
    let w = Tensor::from_vec(vec![1.0], [1, 1, 1, 1]);
    for bias in [f32::INFINITY, f32::NEG_INFINITY] {
        let b = Tensor::from_vec(vec![bias], [1]);
        for act in [Activation::Linear, Activation::Relu, Activation::Sigmoid] {
            let c = Case {
                x: [1, 2, 2, 1],
                k: [1, 1],
                f: 1,
                conv: Conv2dOpts::default(),
                pool: Some(Pool2dOpts::square(2)),
                bias: true,
                act,
            };
            let want = chain(&x, &w, Some(&b), &c);
            let got = no_grad(|| x.conv2d_bias_act(&w, Some(&b), act, c.conv, c.pool));
            same(&got, &want, 0.0, &format!("bias {bias}, {act:?}"));
        }
    }
}
