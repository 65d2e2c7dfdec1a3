//! Central-difference gradient checks in f64 for every differentiable op, and the registry test
//! that fails when an op in `Op::ALL` has no check.
//!
//! Each case builds a function of its inputs; the check compares autograd's gradient of
//! `sum(f(x) * r)` (with a fixed random `r`, so every output element matters differently) with
//! `(L(x + eps) - L(x - eps)) / 2 eps` for every input element. The ops each case recorded are
//! collected from its graph, so a case cannot claim an op it does not exercise.

mod cases;

use cases::*;
use sinew_tensor::*;
use std::collections::HashSet;

/// Runs one check and returns the ops its graph recorded.
fn check(c: &Case) -> Vec<Op> {
    let xs: Vec<Tensor> = c.inputs.iter().map(|t| t.with_grad()).collect();
    let y = (c.f)(&xs);
    assert_eq!(y.dtype(), DType::F64, "{}: gradient checks run in f64", c.name);
    let ops = y.graph_ops();
    let r = rn(y.dims(), 99);
    let loss = |y: &Tensor| y.mul(&r).sum_all().item();
    let grads = y.mul(&r).sum_all().backward();
    for (i, x) in xs.iter().enumerate() {
        let analytic = grads.get(x).map(|g| g.to_vec_f64()).unwrap_or_else(|| vec![0.0; x.numel()]);
        let base = c.inputs[i].to_vec_f64();
        for j in 0..base.len() {
            let eval = |d: f64| {
                let mut v = base.clone();
                v[j] += d;
                let mut ins: Vec<Tensor> = c.inputs.clone();
                ins[i] = Tensor::from_vec_f64(v, c.inputs[i].shape().clone());
                no_grad(|| loss(&(c.f)(&ins)))
            };
            let numeric = (eval(c.eps) - eval(-c.eps)) / (2.0 * c.eps);
            let a = analytic[j];
            assert!(
                (a - numeric).abs() <= c.tol * (1.0 + numeric.abs()),
                "{}: d/d input {i}[{j}] analytic {a} vs numeric {numeric}",
                c.name
            );
        }
    }
    ops
}

/// The f32 path the models train in: the gradient autograd computes in f32 against the f64
/// gradient at the same point (the inputs rounded to f32 first), which `check` has validated
/// against finite differences. The tolerance is relative to the largest gradient element (at
/// least 1e-3): f32 carries 24 bits (eps 1.2e-7), and an op's backward here sums at most a few
/// hundred rounded terms per element. The worst case measured when this was written was 5.8e-7
/// of the scale (the fused conv + sigmoid + pooling op; most ops stay below 2e-7), so 1e-5
/// (about 85 ulps of the scale) leaves a margin of 17 while a wrong formula or index is off by
/// far more.
fn check_f32(c: &Case) {
    let at = |dtype: DType| -> Vec<Tensor> {
        c.inputs.iter().map(|t| no_grad(|| t.to_dtype(DType::F32).to_dtype(dtype)).with_grad()).collect()
    };
    let (x32, x64) = (at(DType::F32), at(DType::F64));
    let (y32, y64) = ((c.f)(&x32), (c.f)(&x64));
    let r = rn(y64.dims(), 99);
    let g32 = y32.mul(&r.to_dtype(y32.dtype())).sum_all().backward();
    let g64 = y64.mul(&r).sum_all().backward();
    for (i, (a, b)) in x32.iter().zip(&x64).enumerate() {
        let (Some(ga), Some(gb)) = (g32.get(a), g64.get(b)) else {
            assert!(
                g32.get(a).is_none() && g64.get(b).is_none(),
                "{}: input {i} has a gradient in one dtype only",
                c.name
            );
            continue;
        };
        assert_eq!(ga.dtype(), DType::F32, "{}: the f32 gradient of input {i} is not f32", c.name);
        let (ga, gb) = (ga.to_vec_f64(), gb.to_vec_f64());
        let scale = gb.iter().fold(1e-3f64, |m, v| m.max(v.abs()));
        for (j, (p, q)) in ga.iter().zip(&gb).enumerate() {
            assert!(
                (p - q).abs() <= 1e-5 * scale,
                "{} in f32: d/d input {i}[{j}] {p} vs f64 {q} (scale {scale})",
                c.name
            );
        }
    }
}

#[test]
fn gradcheck_every_op_in_f32() {
    for c in cases() {
        check_f32(&c);
    }
}

#[test]
fn gradcheck_every_op() {
    let mut seen: HashSet<Op> = HashSet::new();
    for c in cases() {
        seen.extend(check(&c));
    }
    let missing: Vec<&str> = Op::ALL.iter().filter(|o| !seen.contains(o)).map(|o| o.name()).collect();
    assert!(missing.is_empty(), "ops without a gradient check: {missing:?}");
}
