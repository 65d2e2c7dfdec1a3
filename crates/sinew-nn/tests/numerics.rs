//! Issue 18, numerics: every loss, and softmax, stays finite (value and gradient) at logits of
//! ±1e4, the scale at which a naive `log(softmax)` or `log(sigmoid)` gives -inf or NaN.

use sinew_nn::{loss_from_name, Activation, TargetKind, LOSS_NAMES};
use sinew_tensor::Tensor;

const BIG: f32 = 1e4;

fn finite(what: &str, t: &Tensor) {
    let v = t.to_vec_f32();
    assert!(v.iter().all(|x| x.is_finite()), "{what}: {v:?}");
}

#[test]
fn softmax_and_log_softmax_are_stable_at_extreme_logits() {
    let z = Tensor::from_vec(vec![BIG, -BIG, 0.0, -BIG, -BIG, -BIG], [2, 3]).with_grad();
    let p = z.softmax(-1);
    finite("softmax", &p);
    assert_eq!(p.to_vec_f32()[..3], [1.0, 0.0, 0.0]);
    let l = z.log_softmax(-1);
    finite("log_softmax", &l);
    let g = l.sum_all().backward();
    finite("d log_softmax", g.get(&z).unwrap());
}

#[test]
fn every_loss_is_finite_with_its_gradient_at_extreme_logits() {
    // Three samples of three classes, the logits as large as a diverging model makes them.
    let logits = [BIG, -BIG, 0.0, -BIG, BIG, 0.0, 0.0, -BIG, BIG];
    for name in LOSS_NAMES {
        let loss = loss_from_name(name).unwrap();
        let (y, z, act) = match loss.target_kind() {
            TargetKind::ClassIds => (Tensor::from_vec(vec![1.0, 0.0, 2.0], [3]), logits.to_vec(), Activation::Softmax),
            TargetKind::Distribution => {
                let y = vec![0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0];
                (Tensor::from_vec(y, [3, 3]), logits.to_vec(), Activation::Softmax)
            }
            TargetKind::Binary => {
                (Tensor::from_vec(vec![0.0, 1.0, 1.0], [3, 1]), vec![BIG, -BIG, 0.0], Activation::Sigmoid)
            }
            TargetKind::Values => {
                (Tensor::from_vec(vec![1.0, -1.0, 0.0], [3, 1]), vec![BIG, -BIG, 0.0], Activation::Linear)
            }
            other => panic!("{name}: a target kind this test does not know: {other:?}"),
        };
        // A Poisson loss reads rates, which a model makes positive (Keras gives NaN for a
        // negative one too): softplus in front, as such a model ends.
        let act = if *name == "poisson" { Activation::Softplus } else { act };
        let width = z.len() / 3;
        let z = Tensor::from_vec(z, [3, width]).with_grad();
        // From the logits where the loss takes them (as a model ending in softmax or sigmoid
        // trains), else from the activated output, which the loss clips.
        let per_sample =
            loss.per_sample_from_logits(&y, &z, act).unwrap_or_else(|| loss.per_sample(&y, &act.apply(&z)));
        finite(&format!("{name}: loss"), &per_sample);
        let g = per_sample.sum_all().backward();
        if let Some(gz) = g.get(&z) {
            finite(&format!("{name}: gradient"), gz);
        }
    }
}
