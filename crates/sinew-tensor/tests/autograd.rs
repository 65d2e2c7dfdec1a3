//! Autograd semantics: accumulation, no_grad, detach, graph freeing, leaf updates.

use sinew_tensor::*;

fn t(v: &[f32], shape: &[usize]) -> Tensor {
    Tensor::from_vec(v.to_vec(), shape)
}

#[test]
fn autograd_accumulates_a_reused_input() {
    let x = t(&[1.0, -2.0, 3.0], &[3]).with_grad();
    let y = x.mul(&x).add(&x).sum_all(); // dy/dx = 2x + 1
    let g = y.backward();
    assert_eq!(g.get(&x).unwrap().to_vec_f32(), vec![3.0, -3.0, 7.0]);
}

#[test]
fn autograd_diamond_graph_sums_both_paths() {
    let x = t(&[0.5, 2.0], &[2]).with_grad();
    let a = x.exp();
    let b = a.mul_scalar(3.0);
    let c = a.square();
    let y = b.add(&c).sum_all(); // d/dx = 3 e^x + 2 e^{2x}
    let g = y.backward().get(&x).unwrap().to_vec_f64();
    for (gi, xi) in g.iter().zip([0.5f64, 2.0]) {
        let want = 3.0 * xi.exp() + 2.0 * (2.0 * xi).exp();
        assert!((gi - want).abs() < 1e-4 * want, "{gi} vs {want}");
    }
}

#[test]
fn autograd_no_grad_records_nothing() {
    let x = t(&[1.0, 2.0], &[2]).with_grad();
    let y = no_grad(|| x.mul_scalar(2.0));
    assert!(!y.requires_grad() && y.op().is_none());
    assert!(is_grad_enabled(), "no_grad must restore the previous mode");
    let z = x.mul_scalar(2.0);
    assert!(z.requires_grad() && z.op() == Some(Op::Affine));
}

#[test]
fn autograd_detach_stops_the_gradient() {
    let x = t(&[1.0, 2.0], &[2]).with_grad();
    let y = x.mul(&x.detach()).sum_all(); // only the first factor carries gradient: d/dx = x
    assert_eq!(y.backward().get(&x).unwrap().to_vec_f32(), vec![1.0, 2.0]);
}

#[test]
fn autograd_unused_leaf_has_no_gradient() {
    let x = t(&[1.0], &[1]).with_grad();
    let w = t(&[1.0], &[1]).with_grad();
    let g = x.mul_scalar(2.0).sum_all().backward();
    assert!(g.get(&w).is_none());
    assert_eq!(g.len(), 1);
}

#[test]
fn autograd_backward_frees_the_graph() {
    let x = t(&[1.0, 2.0], &[2]).with_grad();
    let y = x.exp().sum_all();
    let _ = y.backward();
    assert!(y.op().is_none(), "the root's closure and saved tensors are dropped");
}

#[test]
#[should_panic(expected = "backward: the graph was already freed")]
fn autograd_backward_twice_panics_clearly() {
    let x = t(&[1.0, 2.0], &[2]).with_grad();
    let y = x.exp().sum_all();
    let _ = y.backward();
    let _ = y.backward();
}

#[test]
fn autograd_retain_graph_allows_a_second_pass() {
    let x = t(&[1.0, 2.0], &[2]).with_grad();
    let y = x.square().sum_all();
    let g1 = y.backward_with(&y.ones_like(), true).get(&x).unwrap().to_vec_f32();
    let g2 = y.backward_with(&y.ones_like(), false).get(&x).unwrap().to_vec_f32();
    assert_eq!(g1, vec![2.0, 4.0]);
    assert_eq!(g1, g2);
}

#[test]
#[should_panic(expected = "backward: expected a scalar loss, got shape [2]")]
fn autograd_backward_needs_a_scalar() {
    let x = t(&[1.0, 2.0], &[2]).with_grad();
    let _ = x.exp().backward();
}

#[test]
fn autograd_in_place_update_keeps_the_leaf_identity() {
    let mut w = t(&[1.0, 2.0], &[2]).with_grad();
    let id = w.id();
    let alias = w.clone(); // forces a copy on write
    w.data_mut_f32()[0] = 5.0;
    assert_eq!(w.id(), id);
    assert_eq!(alias.to_vec_f32(), vec![1.0, 2.0], "the alias keeps the old values");
    assert_eq!(w.to_vec_f32(), vec![5.0, 2.0]);
    let g = w.mul_scalar(3.0).sum_all().backward();
    assert_eq!(g.get_by_id(id).unwrap().to_vec_f32(), vec![3.0, 3.0]);
}

#[test]
fn autograd_graph_ops_lists_recorded_ops() {
    let x = t(&[1.0, 2.0], &[1, 2]).with_grad();
    let y = x.matmul(&x.t()).relu().sum_all();
    let names: Vec<&str> = y.graph_ops().iter().map(|o| o.name()).collect();
    assert_eq!(names, vec!["matmul", "permute", "relu", "sum"]);
}

#[test]
fn autograd_long_chain_does_not_overflow_the_stack() {
    // The topological sort is iterative: 100k recorded ops must not recurse.
    let x = t(&[1.0], &[1]).with_grad();
    let mut y = x.clone();
    for _ in 0..100_000 {
        y = y.add_scalar(1e-5);
    }
    let g = y.sum_all().backward();
    assert_eq!(g.get(&x).unwrap().to_vec_f32(), vec![1.0]);
}

#[test]
fn autograd_multi_output_op_runs_its_backward_once_with_every_gradient() {
    // split has one recorded backward for all its pieces: using both pieces twice each gives
    // the sum of every path in one gradient of the input's shape.
    let x = t(&[1.0, 2.0, 3.0, 4.0, 5.0], &[5]).with_grad();
    let p = x.split(0, &[2, 3]);
    assert_eq!(p[0].op(), Some(Op::Split));
    let loss = p[0].sum_all().mul_scalar(2.0).add(&p[1].square().sum_all()).add(&p[0].sum_all());
    let g = loss.backward();
    assert_eq!(g.get(&x).unwrap().to_vec_f32(), [3.0, 3.0, 6.0, 8.0, 10.0]);
}

#[test]
fn autograd_multi_output_backward_from_one_piece_and_retained_twice() {
    let x = t(&[1.0, 2.0, 3.0], &[3]).with_grad();
    let p = x.split(0, &[1, 2]);
    // The root itself is one of the outputs.
    let g = p[1].backward_with(&t(&[1.0, 1.0], &[2]), true);
    assert_eq!(g.get(&x).unwrap().to_vec_f32(), [0.0, 1.0, 1.0]);
    let g = p[1].backward_with(&t(&[2.0, 3.0], &[2]), false);
    assert_eq!(g.get(&x).unwrap().to_vec_f32(), [0.0, 2.0, 3.0]);
}

#[test]
fn autograd_multi_output_without_grad_records_nothing() {
    let x = t(&[1.0, 2.0], &[2]);
    let p = x.with_grad().split(0, &[1, 1]);
    assert!(p.iter().all(|y| y.requires_grad()));
    let p = no_grad(|| x.with_grad().split(0, &[1, 1]));
    assert!(p.iter().all(|y| !y.requires_grad() && y.op().is_none()));
}

#[test]
fn autograd_each_piece_of_a_split_backpropagates_on_its_own() {
    // A backward that reaches only some outputs of a multi-output op leaves its rule for the
    // others (as separate `narrow`s behaved before split was one op).
    let x = t(&[1.0, 2.0, 3.0, 4.0], &[4]).with_grad();
    let grads: Vec<Vec<f32>> =
        x.split(0, &[1, 3]).iter().map(|p| p.square().sum_all().backward().get(&x).unwrap().to_vec_f32()).collect();
    assert_eq!(grads, [vec![2.0, 0.0, 0.0, 0.0], vec![0.0, 4.0, 6.0, 8.0]]);
}

/// A training step sent to the pool records gradients even when the pool thread that runs it
/// was inside another caller's `no_grad` (a worker waiting in a join steals queued jobs, and
/// grad mode is per thread). Found when two examples' tests, one predicting and one training,
/// ran side by side.
#[test]
fn a_job_in_the_pool_keeps_its_callers_grad_mode() {
    use sinew_tensor::runtime::in_pool;
    use std::sync::atomic::{AtomicBool, Ordering};
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            // Inference on the pool, whose parallel kernels join (and so steal) often.
            let a = Tensor::rand_normal([256, 256], 0.0, 1.0, &mut Rng::seed(1));
            while !stop.load(Ordering::Relaxed) {
                in_pool(|| no_grad(|| drop(a.matmul(&a).exp().sum_all())));
            }
        });
        let x = Tensor::ones([64, 64]).with_grad();
        for i in 0..2000 {
            let tracked = in_pool(|| x.matmul(&x).sum_all().requires_grad());
            if !tracked {
                stop.store(true, Ordering::Relaxed);
                panic!("step {i}: a pool job ran without recording gradients");
            }
        }
        stop.store(true, Ordering::Relaxed);
    });
}

/// `backward_streamed` hands every leaf's final gradient over once, the last layer's before
/// the first layer's (which the pass reaches last), and a leaf read by two layers only after
/// its last reader: each handed-over gradient equals the one `backward` returns.
#[test]
fn autograd_streamed_backward_hands_each_gradient_over_once_when_final() {
    let mut rng = Rng::seed(5);
    let x = Tensor::rand_normal([4, 3], 0.0, 1.0, &mut rng);
    let w1 = Tensor::rand_normal([3, 5], 0.0, 1.0, &mut rng).with_grad();
    let w2 = Tensor::rand_normal([5, 2], 0.0, 1.0, &mut rng).with_grad();
    let shared = Tensor::rand_normal([2], 0.0, 1.0, &mut rng).with_grad();
    // `shared` is read by the first layer (through a broadcast add) and by the last.
    let f = || {
        let h = x.matmul(&w1).tanh().add(&shared.sum_all());
        h.matmul(&w2).add(&shared).square().sum_all()
    };
    let want = f().backward();
    let mut got: Vec<(TensorId, Vec<f32>)> = Vec::new();
    let all = f().backward_streamed(&mut |id, g| got.push((id, g.to_vec_f32())));
    let ids: Vec<TensorId> = got.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids.len(), 3, "every leaf with a gradient once: {ids:?}");
    let at = |t: &Tensor| ids.iter().position(|&i| i == t.id()).expect("handed over");
    assert!(at(&w2) < at(&w1), "the last layer's gradient comes first");
    assert!(at(&shared) > at(&w2), "a leaf read by two layers waits for its last reader");
    for (id, g) in &got {
        let w = [&w1, &w2, &shared].into_iter().find(|t| t.id() == *id).unwrap();
        assert_eq!(g, &want.get(w).unwrap().to_vec_f32());
        assert_eq!(g, &all.get(w).unwrap().to_vec_f32());
    }
}
