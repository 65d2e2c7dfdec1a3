//! Forward values of tensor ops against small hand-checked cases and naive references, and the
//! panic messages of the error policy (op name + shapes).

use sinew_tensor::*;

fn t(v: &[f32], shape: &[usize]) -> Tensor {
    Tensor::from_vec(v.to_vec(), shape)
}

fn close(a: &[f32], b: &[f32], tol: f32) {
    assert_eq!(a.len(), b.len(), "lengths differ");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!((x - y).abs() <= tol * (1.0 + y.abs()), "element {i}: {x} vs {y}");
    }
}

#[test]
fn ops_broadcast_add_matches_numpy() {
    let a = t(&[1., 2., 3., 4., 5., 6.], &[2, 3]);
    let b = t(&[10., 20., 30.], &[3]);
    assert_eq!(a.add(&b).to_vec_f32(), vec![11., 22., 33., 14., 25., 36.]);
    let c = t(&[100., 200.], &[2, 1]);
    assert_eq!((&a + &c).to_vec_f32(), vec![101., 102., 103., 204., 205., 206.]);
    assert_eq!((&a * 2.0).to_vec_f32(), vec![2., 4., 6., 8., 10., 12.]);
}

#[test]
fn ops_parallel_elementwise_matches_serial() {
    // Sizes above the parallel threshold take the rayon path; compare against a plain loop.
    let n = 100_003;
    let a: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
    let b: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos()).collect();
    let y = t(&a, &[n]).mul(&t(&b, &[n])).tanh();
    let want: Vec<f32> = a.iter().zip(&b).map(|(x, y)| (x * y).tanh()).collect();
    close(&y.to_vec_f32(), &want, 1e-6);
}

#[test]
fn ops_reductions_match_naive_on_every_axis_set() {
    let x = Tensor::rand_normal([3, 4, 5], 0.0, 1.0, &mut Rng::seed(3));
    let v = x.to_vec_f32();
    let at = |i: usize, j: usize, k: usize| v[(i * 4 + j) * 5 + k];
    // sum over axes 0 and 2
    let s = x.sum(&[0, 2], false).to_vec_f32();
    let want: Vec<f32> =
        (0..4).map(|j| (0..3).flat_map(|i| (0..5).map(move |k| (i, k))).map(|(i, k)| at(i, j, k)).sum()).collect();
    close(&s, &want, 1e-5);
    // max over the last axis, keepdims
    let m = x.max(&[-1], true);
    assert_eq!(m.dims(), &[3, 4, 1]);
    let want: Vec<f32> = (0..12).map(|r| (0..5).map(|k| v[r * 5 + k]).fold(f32::MIN, f32::max)).collect();
    close(&m.to_vec_f32(), &want, 0.0);
    // mean of everything, argmax, var
    close(&[x.mean_all().item() as f32], &[v.iter().sum::<f32>() / 60.0], 1e-5);
    let am = x.argmax(1, false).to_vec_f32();
    for i in 0..3 {
        for k in 0..5 {
            let best = (0..4).max_by(|&a, &b| at(i, a, k).partial_cmp(&at(i, b, k)).unwrap()).unwrap();
            assert_eq!(am[i * 5 + k] as usize, best);
        }
    }
    let var = t(&[1., 2., 3., 4.], &[4]).var(&[0], false).item();
    assert!((var - 1.25).abs() < 1e-6, "population variance, as Keras: {var}");
}

#[test]
fn ops_max_propagates_nan() {
    let x = t(&[1.0, f32::NAN, 3.0, 0.0], &[2, 2]);
    let m = x.max(&[1], false).to_vec_f32();
    assert!(m[0].is_nan() && m[1] == 3.0);
    assert!(x.maximum(&x.zeros_like()).to_vec_f32()[1].is_nan());
}

#[test]
fn ops_softmax_is_stable_for_large_logits() {
    let x = t(&[1000.0, 1001.0, -1000.0, 0.0], &[1, 4]);
    let s = x.softmax(-1).to_vec_f32();
    assert!(s.iter().all(|v| v.is_finite()));
    close(&[s.iter().sum::<f32>()], &[1.0], 1e-6);
    let l = x.log_softmax(-1).to_vec_f32();
    assert!(l.iter().all(|v| v.is_finite()), "{l:?}");
    let lse = x.logsumexp(&[-1], false).item();
    assert!((lse - (1001.0 + (1.0f64 + (-1.0f64).exp()).ln())).abs() < 1e-3, "{lse}");
}

#[test]
fn ops_fused_cross_entropy_matches_the_composite() {
    let x = Tensor::rand_normal([6, 5], 0.0, 2.0, &mut Rng::seed(1));
    let labels = [0, 4, 2, 2, 1, 3];
    let fused = x.sparse_softmax_cross_entropy(&labels).to_vec_f32();
    let dense = x.softmax_cross_entropy(&Tensor::one_hot(&labels, 5)).to_vec_f32();
    let lsm = x.log_softmax(-1).to_vec_f32();
    let composite: Vec<f32> = labels.iter().enumerate().map(|(r, &l)| -lsm[r * 5 + l]).collect();
    close(&fused, &composite, 1e-6);
    close(&dense, &composite, 1e-6);
}

#[test]
fn ops_layout_round_trips() {
    let x = Tensor::arange(0.0, 24.0, 1.0).reshape([2, 3, 4]);
    let p = x.permute(&[2, 0, 1]);
    assert_eq!(p.dims(), &[4, 2, 3]);
    assert_eq!(p.to_vec_f32()[..4], [0., 4., 8., 12.]);
    assert_eq!(p.permute(&[1, 2, 0]).to_vec_f32(), x.to_vec_f32());
    let parts = x.split(1, &[1, 2]);
    assert_eq!(Tensor::concat(&[&parts[0], &parts[1]], 1).to_vec_f32(), x.to_vec_f32());
    let padded = t(&[1., 2.], &[1, 2]).pad(&[(1, 0), (0, 1)], 9.0);
    assert_eq!(padded.to_vec_f32(), vec![9., 9., 9., 1., 2., 9.]);
    assert_eq!(Tensor::stack(&[&parts[0], &parts[0]], 0).dims(), &[2, 2, 1, 4]);
    assert_eq!(x.reshape_infer(&[-1, 4]).dims(), &[6, 4]);
    let s = x.slice(&[1..2, 0..3, 2..4]);
    assert_eq!(s.dims(), &[1, 3, 2]);
    assert_eq!(s.to_vec_f32(), vec![14., 15., 18., 19., 22., 23.]);
}

#[test]
fn ops_index_ops_follow_pytorch() {
    let x = t(&[1., 2., 3., 4., 5., 6.], &[3, 2]);
    assert_eq!(x.index_select(0, &[2, 0]).to_vec_f32(), vec![5., 6., 1., 2.]);
    let g = x.gather(1, &t(&[1., 1., 0.], &[3, 1]));
    assert_eq!(g.to_vec_f32(), vec![2., 4., 5.]);
    let s = x.zeros_like().scatter_add(0, &t(&[2., 2., 2., 0.], &[2, 2]), &t(&[1., 1., 1., 1.], &[2, 2]));
    assert_eq!(s.to_vec_f32(), vec![0., 1., 0., 0., 2., 1.]);
    assert_eq!(Tensor::one_hot(&[1, 0], 3).to_vec_f32(), vec![0., 1., 0., 1., 0., 0.]);
    assert_eq!(x.masked_select(&x.gt(&Tensor::scalar(3.5))).to_vec_f32(), vec![4., 5., 6.]);
}

#[test]
fn ops_matmul_matches_naive() {
    let mut rng = Rng::seed(4);
    for &(b, m, k, n) in &[(1, 1, 1, 1), (2, 3, 5, 7), (3, 17, 9, 33)] {
        let a = Tensor::rand_normal([b, m, k], 0.0, 1.0, &mut rng);
        let w = Tensor::rand_normal([b, k, n], 0.0, 1.0, &mut rng);
        let y = a.matmul(&w).to_vec_f32();
        let (av, wv) = (a.to_vec_f32(), w.to_vec_f32());
        for bi in 0..b {
            for i in 0..m {
                for j in 0..n {
                    let s: f32 = (0..k).map(|p| av[(bi * m + i) * k + p] * wv[(bi * k + p) * n + j]).sum();
                    let got = y[(bi * m + i) * n + j];
                    assert!((got - s).abs() < 1e-4 * (1.0 + s.abs()), "{got} vs {s}");
                }
            }
        }
    }
}

#[test]
fn ops_dropout_keeps_expected_fraction_and_scales() {
    let x = Tensor::ones([100_000]);
    let y = x.dropout(0.25, &mut Rng::seed(9)).to_vec_f32();
    let kept = y.iter().filter(|&&v| v != 0.0).count() as f64 / 1e5;
    assert!((kept - 0.75).abs() < 0.01, "kept {kept}");
    assert!(y.iter().all(|&v| v == 0.0 || (v - 1.0 / 0.75).abs() < 1e-6));
}

#[test]
fn ops_activations_match_keras_definitions() {
    let x = t(&[-4.0, -1.0, 0.0, 0.5, 4.0], &[5]);
    close(&x.hard_sigmoid().to_vec_f32(), &[0.0, 1.0 / 3.0, 0.5, 3.5 / 6.0, 1.0], 1e-6);
    close(&x.relu().to_vec_f32(), &[0., 0., 0., 0.5, 4.], 0.0);
    close(&x.gelu().to_vec_f32(), &[-0.000_126_7, -0.158_655_3, 0.0, 0.345_731_3, 3.999_873_3], 1e-5);
    close(&x.softsign().to_vec_f32(), &[-0.8, -0.5, 0.0, 1.0 / 3.0, 0.8], 1e-6);
    close(&x.selu().to_vec_f32()[1..2], &[-1.111_330_7], 1e-6);
    close(&t(&[100.0, -100.0], &[2]).softplus().to_vec_f32(), &[100.0, 0.0], 1e-6);
    close(&t(&[-100.0, 100.0], &[2]).sigmoid().to_vec_f32(), &[0.0, 1.0], 1e-6);
}

#[test]
#[should_panic(expected = "add: shapes [2, 3] and [4] cannot be broadcast together")]
fn ops_error_broadcast_names_op_and_shapes() {
    let _ = Tensor::zeros([2, 3]).add(&Tensor::zeros([4]));
}

#[test]
#[should_panic(expected = "matmul: inner dimensions differ: [2, 3] · [4, 5]")]
fn ops_error_matmul_names_op_and_shapes() {
    let _ = Tensor::zeros([2, 3]).matmul(&Tensor::zeros([4, 5]));
}

#[test]
#[should_panic(expected = "reshape: cannot reshape [2, 3] (6 elements) to [4] (4 elements)")]
fn ops_error_reshape_names_op_and_shapes() {
    let _ = Tensor::zeros([2, 3]).reshape([4]);
}

#[test]
#[should_panic(
    expected = "conv2d: input [1, 5, 5, 3] and kernel [3, 3, 2, 4] do not agree on channels with groups = 1"
)]
fn ops_error_conv2d_names_op_and_shapes() {
    let _ = Tensor::zeros([1, 5, 5, 3]).conv2d(&Tensor::zeros([3, 3, 2, 4]), Conv2dOpts::default());
}

#[test]
#[should_panic(expected = "sum: axis 3 is out of range for shape [2, 3] (rank 2)")]
fn ops_error_bad_axis_names_op_and_shape() {
    let _ = Tensor::zeros([2, 3]).sum(&[3], false);
}

#[test]
fn ops_tensor_is_send_and_sync() {
    // Data pipelines hand tensors across threads; the handle must allow it.
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Tensor>();
    let t = Tensor::ones([2]).with_grad().mul_scalar(2.0);
    let back = std::thread::spawn(move || t.sum_all().backward().len()).join().unwrap();
    assert_eq!(back, 1);
}
