//! Recurrent layer behaviour the conformance harness cannot see: state carried across calls.

use sinew_nn::*;
use sinew_tensor::{Rng, Tensor};

fn forward(l: &mut dyn Layer, x: &Tensor) -> Tensor {
    l.forward(x, &mut Ctx { training: false, rng: &mut Rng::seed(0) })
}

/// A stateful LSTM called on two consecutive chunks of a sequence gives, for the second, what
/// the same layer gives on the whole sequence at once; `reset_states` starts from zeros again.
#[test]
fn a_stateful_layer_carries_its_state_into_the_next_batch() {
    let (x1, x2) = (
        Tensor::rand_normal([2, 3, 2], 0.0, 1.0, &mut Rng::seed(1)),
        Tensor::rand_normal([2, 4, 2], 0.0, 1.0, &mut Rng::seed(2)),
    );
    let whole = Tensor::concat(&[&x1, &x2], 1);
    for cfg in [LSTM::new(3).stateful(true), LSTM::new(3).stateful(true).return_sequences(true)] {
        let mut stateful = cfg.build("s".into(), &[3, 2], &mut Rng::seed(5)).unwrap();
        let mut plain = cfg.clone().stateful(false).build("p".into(), &[7, 2], &mut Rng::seed(5)).unwrap();
        forward(stateful.as_mut(), &x1);
        let y2 = forward(stateful.as_mut(), &x2);
        let all = forward(plain.as_mut(), &whole);
        let want = if all.rank() == 3 { all.narrow(1, 3, 4) } else { all };
        let worst = y2.to_vec_f32().iter().zip(want.to_vec_f32()).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
        assert!(worst < 1e-5, "second chunk differs from the whole sequence by {worst}");
        stateful.reset_states();
        let fresh = forward(stateful.as_mut(), &x2);
        let alone = forward(plain.as_mut(), &x2);
        assert_eq!(fresh.to_vec_f32(), alone.to_vec_f32(), "reset_states did not start from zeros");
    }
}

#[test]
#[should_panic(expected = "keep the batch size fixed")]
fn a_stateful_layer_refuses_another_batch_size() {
    let mut l = GRU::new(2).stateful(true).build("gru".into(), &[3, 2], &mut Rng::seed(0)).unwrap();
    forward(l.as_mut(), &Tensor::zeros([4, 3, 2]));
    forward(l.as_mut(), &Tensor::zeros([2, 3, 2]));
}
