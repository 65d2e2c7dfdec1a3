//! Keras masks through a model: `Embedding(mask_zero)` and `Masking` make them, the layers that
//! keep the timestep axis pass them on, recurrent layers skip masked steps. Padding at the end
//! of a sequence must then change nothing.

use sinew_nn::*;
use sinew_optim::Optimizer;
use sinew_tensor::Tensor;
use sinew_train::Sequential;

fn seq(input: &[usize], layers: Vec<Box<dyn LayerConfig>>) -> Sequential {
    let mut m = Sequential::new();
    m.seed(3);
    m.input(input);
    for l in layers {
        m.add_boxed(l);
    }
    m.compile(Optimizer::adam(0.001), "mse", &[]).unwrap();
    m
}

fn assert_close(a: &Tensor, b: &Tensor, what: &str) {
    assert_eq!(a.dims(), b.dims(), "{what}: shapes");
    let worst = a.to_vec_f32().iter().zip(b.to_vec_f32()).map(|(p, q)| (p - q).abs()).fold(0.0, f32::max);
    assert!(worst < 1e-6, "{what}: padded and unpadded differ by {worst}");
}

#[test]
fn zero_ids_after_the_sequence_change_nothing() {
    let layers = |mask_zero: bool| -> Vec<Box<dyn LayerConfig>> {
        vec![
            Box::new(Embedding::new(10, 4).mask_zero(mask_zero)),
            Box::new(LSTM::new(5).return_sequences(true)),
            Box::new(Dropout::new(0.3)),
            Box::new(GRU::new(3)),
        ]
    };
    let mut padded = seq(&[6], layers(true));
    let mut short = seq(&[3], layers(true));
    let mut unmasked = seq(&[6], layers(false));
    short.set_weights(&padded.get_weights()).unwrap();
    unmasked.set_weights(&padded.get_weights()).unwrap();
    let xp = Tensor::from_vec(vec![1.0, 2.0, 3.0, 0.0, 0.0, 0.0], [1, 6]);
    let a = padded.predict(&xp, 1).unwrap();
    let b = short.predict(&Tensor::from_vec(vec![1.0, 2.0, 3.0], [1, 3]), 1).unwrap();
    assert_close(&a, &b, "Embedding(mask_zero) -> LSTM -> Dropout -> GRU");
    // Without the mask the padding is read as three more words.
    let c = unmasked.predict(&xp, 1).unwrap();
    let gap = c.to_vec_f32().iter().zip(b.to_vec_f32()).map(|(p, q)| (p - q).abs()).fold(0.0, f32::max);
    assert!(gap > 1e-3, "without mask_zero the padded output should differ (by {gap})");
}

#[test]
fn masked_steps_change_nothing() {
    let layers = || -> Vec<Box<dyn LayerConfig>> {
        vec![Box::new(Masking::new()), Box::new(Bidirectional::new(SimpleRNN::new(3))), Box::new(Dense::new(2))]
    };
    let mut padded = seq(&[5, 2], layers());
    let mut short = seq(&[3, 2], layers());
    short.set_weights(&padded.get_weights()).unwrap();
    let x = [0.5, -1.0, 0.3, 0.8, -0.2, 0.1];
    let mut xp = x.to_vec();
    xp.extend([0.0; 4]);
    let a = padded.predict(&Tensor::from_vec(xp, [1, 5, 2]), 1).unwrap();
    let b = short.predict(&Tensor::from_vec(x.to_vec(), [1, 3, 2]), 1).unwrap();
    // The backward direction starts from the last real step only if the padding is skipped.
    assert_close(&a, &b, "Masking -> Bidirectional(SimpleRNN) -> Dense");
}

/// Keras leaves masked steps out of the loss: the mean is over the real steps of the batch.
/// Padding a batch (with any targets on the padded steps) must not change the loss.
#[test]
fn masked_steps_are_left_out_of_the_loss() {
    let build = |steps: usize| {
        let mut m = Sequential::new();
        m.seed(5);
        m.input(&[steps]);
        m.add(Embedding::new(8, 4).mask_zero(true));
        m.add(GRU::new(5).return_sequences(true));
        m.add(Dense::new(3));
        m.compile(Optimizer::adam(0.001), SparseCategoricalCrossentropy { from_logits: true }, &[]).unwrap();
        m
    };
    let (mut padded, mut short) = (build(5), build(3));
    short.set_weights(&padded.get_weights()).unwrap();
    // Two sequences of three and two real steps; the second is padded in `short` too.
    let xs = Tensor::from_vec(vec![1.0, 4.0, 2.0, 3.0, 7.0, 0.0], [2, 3]);
    let ys = Tensor::from_vec(vec![0.0, 2.0, 1.0, 1.0, 0.0, 2.0], [2, 3]);
    let xp = Tensor::from_vec(vec![1.0, 4.0, 2.0, 0.0, 0.0, 3.0, 7.0, 0.0, 0.0, 0.0], [2, 5]);
    let yp = Tensor::from_vec(vec![0.0, 2.0, 1.0, 2.0, 2.0, 1.0, 0.0, 1.0, 0.0, 2.0], [2, 5]);
    let a = short.test_on_batch(&xs, &ys).unwrap().get("loss").unwrap();
    let b = padded.test_on_batch(&xp, &yp).unwrap().get("loss").unwrap();
    assert!((a - b).abs() < 1e-6, "the loss over 5 real steps: {a} unpadded, {b} padded");
    // By hand: the mean of the five real steps' cross-entropies.
    let logits = short.predict(&xs, 2).unwrap().to_vec_f64();
    let real = [(0, 0, 0), (0, 1, 2), (0, 2, 1), (1, 0, 1), (1, 1, 0)];
    let ce: f64 = real
        .iter()
        .map(|&(b, t, c)| {
            let z = &logits[(b * 3 + t) * 3..(b * 3 + t) * 3 + 3];
            let lse = z.iter().map(|v| v.exp()).sum::<f64>().ln();
            lse - z[c]
        })
        .sum::<f64>()
        / 5.0;
    assert!((a - ce).abs() < 1e-5, "loss {a}, by hand {ce}");
}

/// Both directions of `Bidirectional(merge_mode="none")` carry the mask to the loss: padding
/// changes neither output's loss.
#[test]
fn both_directions_of_a_split_bidirectional_layer_are_masked() {
    use sinew_train::Functional;
    let build = |steps: usize| {
        let mut g = Functional::new().seed(6);
        let i = g.input(&[steps]);
        let e = g.call(Embedding::new(8, 3).mask_zero(true), i).unwrap();
        let outs =
            g.call_outputs(Bidirectional::new(GRU::new(2).return_sequences(true)).merge_mode("none"), e).unwrap();
        let mut m = g.model([i], outs).unwrap();
        m.compile(Optimizer::adam(0.001), "mse", &[]).unwrap();
        m
    };
    let (mut padded, mut short) = (build(5), build(3));
    short.set_weights(&padded.get_weights()).unwrap();
    let x = Tensor::from_vec(vec![1.0, 4.0, 2.0], [1, 3]);
    let xp = Tensor::from_vec(vec![1.0, 4.0, 2.0, 0.0, 0.0], [1, 5]);
    let y = Tensor::from_vec(vec![0.5; 6], [1, 3, 2]);
    let mut yp = vec![0.5; 6];
    yp.extend([9.0; 4]);
    let yp = Tensor::from_vec(yp, [1, 5, 2]);
    let a = short.test_on_batch(&x, vec![y.clone(), y]).unwrap();
    let b = padded.test_on_batch(&xp, vec![yp.clone(), yp]).unwrap();
    for (k, v) in &a.0 {
        let w = b.get(k).unwrap();
        assert!((v - w).abs() < 1e-6, "{k}: {v} unpadded, {w} padded");
    }
}
