//! `RunningScaler`, the streaming `StandardScaler` (issue 20).

use sinew_tensor::Tensor;

/// `RunningScaler` (scikit-learn's `StandardScaler.partial_fit`): chunk by chunk it reaches the
/// scaler one `fit` on all the rows gives, a constant column included.
#[test]
fn a_running_scaler_equals_one_fit_on_everything() {
    let v: Vec<f32> = (0..60).map(|i| ((i * 37) % 11) as f32 * 0.5 + if i % 3 == 2 { 0.0 } else { 1.0 }).collect();
    let mut x = Tensor::from_vec(v, [20, 3]);
    // The third column constant.
    let mut rows = x.to_vec_f32();
    rows.iter_mut().skip(2).step_by(3).for_each(|c| *c = 4.0);
    x = Tensor::from_vec(rows, [20, 3]);
    let mut running = sinew_data::RunningScaler::new();
    for (start, len) in [(0, 3), (3, 10), (13, 7)] {
        running.partial_fit(&x.narrow(0, start, len)).unwrap();
    }
    let (a, b) = (running.scaler().unwrap(), sinew_data::StandardScaler::fit(&x).unwrap());
    for (p, q) in a.mean.iter().chain(&a.scale).zip(b.mean.iter().chain(&b.scale)) {
        assert!((p - q).abs() < 1e-9, "{p} against {q}");
    }
    assert_eq!(running.count, 20);
    let err = running.partial_fit(&Tensor::zeros([2, 4])).unwrap_err().to_string();
    assert!(err.contains("4 features, the earlier chunks had 3"), "{err}");
}
