//! The shared layer conformance harness (the role of Keras `run_layer_test`). Every layer passes
//! through `check_layer`, which verifies:
//! - the built output shape equals the shape a forward pass produces;
//! - the parameter count;
//! - config round-trip: `layer_from_config(config())` rebuilds an identical config, and so does
//!   `layer_from_args` (the spec path, checked against the class's signature) given the same
//!   arguments;
//! - weight round-trip: a rebuilt layer given the same weights gives identical outputs;
//! - an f64 central-difference gradient check with respect to the input and every parameter;
//! - one SGD step on a toy loss lowers it (layers with trainable weights);
//! - train and inference modes differ exactly when the layer says they should.
//!
//! A test at the end fails if a class in `layer_classes()` (what `layer_from_config` rebuilds)
//! has no case here.

use serde_json::Value;
use sinew_nn::*;
use sinew_tensor::{no_grad, DType, Rng, Tensor};

struct Case {
    cfg: Box<dyn LayerConfig>,
    /// The per-sample shape of each input (one for most layers, several for merge layers).
    inputs: Vec<Vec<usize>>,
    params: usize,
    train_differs: bool,
    /// The first input holds integer ids below this (an `Embedding`'s), not differentiated.
    ids: Option<usize>,
}

fn case(cfg: impl LayerConfig + 'static, input: &[usize], params: usize, train_differs: bool) -> Case {
    Case { cfg: Box::new(cfg), inputs: vec![input.to_vec()], params, train_differs, ids: None }
}

/// A case for a layer called on several inputs.
fn case_many(cfg: impl LayerConfig + 'static, inputs: &[&[usize]]) -> Case {
    Case {
        cfg: Box::new(cfg),
        inputs: inputs.iter().map(|s| s.to_vec()).collect(),
        params: 0,
        train_differs: false,
        ids: None,
    }
}

/// A recurrent layer called on the sequence and its initial states.
fn case_states(cfg: impl LayerConfig + 'static, inputs: &[&[usize]], params: usize) -> Case {
    Case { params, ..case_many(cfg, inputs) }
}

fn cases() -> Vec<Case> {
    vec![
        case(Dense::new(4).activation(Activation::Tanh), &[5], 5 * 4 + 4, false),
        case(Dense::new(3).activation(Activation::Softmax).use_bias(false), &[2, 6], 6 * 3, false),
        case(
            Dense::new(2)
                .activation(Activation::LeakyRelu(0.1))
                .kernel_initializer(Initializer::Orthogonal { gain: 1.0 }),
            &[4],
            10,
            false,
        ),
        case(Dense::new(3).activation(Activation::Gelu).bias_initializer(Initializer::Constant(0.3)), &[4], 15, false),
        case(
            Dense::new(3)
                .kernel_regularizer(Regularizer::l1_l2(0.01, 0.02))
                .bias_constraint(Constraint::NonNeg)
                .kernel_constraint(Constraint::MaxNorm { max_value: 2.0, axis: 0 }),
            &[4],
            15,
            false,
        ),
        case(ActivationLayer::new(Activation::Silu), &[3, 4], 0, false),
        case(ActivationLayer::new(Activation::Selu), &[5], 0, false),
        // The self-normalising recipe: selu with lecun_normal weights (AlphaDropout is below).
        case(Dense::new(3).activation(Activation::Selu).kernel_initializer(Initializer::LecunNormal), &[4], 15, false),
        // The Keras activation layers (issue 14).
        case(ReLU::new(), &[2, 3], 0, false),
        case(ReLU::new().max_value(1.1).negative_slope(0.1).threshold(0.3), &[2, 3], 0, false),
        case(ReLU::new().max_value(6.0), &[4], 0, false),
        case(ReLU::new().threshold(-0.4), &[4], 0, false),
        case(LeakyReLU::new(), &[2, 3], 0, false),
        case(LeakyReLU::new().negative_slope(0.2), &[5], 0, false),
        // (alpha = 0, the default, is a stationary point of the harness's squared-output loss.)
        case(
            PReLU::new().alpha_initializer(Initializer::Constant(-0.3)).alpha_regularizer(Regularizer::l2(0.01)),
            &[4],
            4,
            false,
        ),
        case(
            PReLU::new()
                .alpha_initializer(Initializer::Constant(0.25))
                .shared_axes([1, 2])
                .alpha_constraint(Constraint::NonNeg),
            &[3, 4, 2],
            2,
            false,
        ),
        case(ELU::new(), &[2, 3], 0, false),
        case(ELU::new().alpha(0.5), &[4], 0, false),
        case(Softmax::new(), &[5], 0, false),
        case(Softmax::new().axis(1), &[3, 4], 0, false),
        case(ActivationLayer::new(Activation::Softmax), &[5], 0, false),
        case(Dropout::new(0.4), &[6], 0, true),
        case(Flatten::new(), &[2, 3, 2], 0, false),
        case(Reshape::new([-1, 2]), &[3, 4], 0, false),
        case(Permute::new([2, 1]), &[3, 4], 0, false),
        case(RepeatVector::new(3), &[4], 0, false),
        case(GaussianNoise::new(0.3), &[5], 0, true),
        // Samples in training and inference alike (as Keras' layer), from the seeded generator.
        case_many(Sampling::new(), &[&[3], &[3]]),
        case_many(Sampling::new().kl_weight(0.5), &[&[2, 3], &[2, 3]]),
        case(MinibatchDiscrimination::new(3, 2), &[4], 4 * 6, false),
        case(GaussianDropout::new(0.3), &[5], 0, true),
        case(AlphaDropout::new(0.3), &[5], 0, true),
        case(BatchNormalization::new(), &[4], 16, true),
        case(BatchNormalization::new().momentum(0.9).center(false), &[2, 3, 3], 9, true),
        case(LayerNormalization::new(), &[2, 5], 10, false),
        case(GroupNormalization::new().groups(2), &[3, 3, 4], 8, false),
        case(GroupNormalization::new().groups(-1), &[5, 3], 6, false),
        case(UnitNormalization::new(), &[2, 4], 0, false),
        case(WeightNormalization::new(Dense::new(3).activation(Activation::Tanh)), &[4], 4 * 3 + 3 + 3, false),
        case(
            WeightNormalization::new(Dense::new(2).activation(Activation::Sigmoid).use_bias(false)),
            &[5],
            5 * 2 + 2,
            false,
        ),
        case_many(Add::new(), &[&[3, 4], &[3, 4], &[3, 4]]),
        case_many(Add::new(), &[&[3, 4], &[1, 4]]),
        case_many(Subtract::new(), &[&[5], &[5]]),
        case_many(Multiply::new(), &[&[2, 3], &[2, 3]]),
        case_many(Average::new(), &[&[4], &[4], &[4]]),
        case_many(Maximum::new(), &[&[6], &[6]]),
        case_many(Minimum::new(), &[&[2, 2], &[2, 2]]),
        case_many(Concatenate::new(), &[&[2, 3], &[2, 1], &[2, 2]]),
        case_many(Concatenate::new().axis(1), &[&[2, 3], &[4, 3]]),
        // Convolutions: params = kernel + bias.
        case(Conv2D::new(3, &[3]).activation(Activation::Relu), &[6, 5, 2], 3 * 3 * 2 * 3 + 3, false),
        case(Conv2D::new(2, &[2, 3]).strides(&[2]).padding(Padding::Same), &[5, 7, 3], 2 * 3 * 3 * 2 + 2, false),
        case(
            SeparableConv2D::new(2, &[2])
                .kernel_regularizer(Regularizer::l2(0.03))
                .bias_regularizer(Regularizer::l1(0.01))
                .kernel_constraint(Constraint::UnitNorm { axis: 0 })
                .bias_constraint(Constraint::NonNeg),
            &[5, 4, 2],
            2 * 2 * 2 + 2 * 2 + 2,
            false,
        ),
        case(
            Conv2D::new(4, &[3]).dilation_rate(&[2]).padding(Padding::Same).groups(2).use_bias(false),
            &[6, 6, 2],
            3 * 3 * 4,
            false,
        ),
        case(Conv1D::new(3, 3).activation(Activation::Tanh), &[7, 2], 3 * 2 * 3 + 3, false),
        case(Conv1D::new(2, 2).padding(Padding::Causal).dilation_rate(&[2]), &[6, 3], 2 * 3 * 2 + 2, false),
        case(
            DepthwiseConv2D::new(&[3]).depth_multiplier(2).padding(Padding::Same),
            &[5, 5, 2],
            3 * 3 * 2 * 2 + 4,
            false,
        ),
        case(SeparableConv2D::new(3, &[2]).strides(&[2]), &[6, 5, 2], 2 * 2 * 2 + 2 * 3 + 3, false),
        case(Conv2DTranspose::new(2, &[3]).strides(&[2]).padding(Padding::Same), &[3, 4, 3], 3 * 3 * 2 * 3 + 2, false),
        case(
            Conv2DTranspose::new(2, &[2]).strides(&[2]).activation(Activation::Sigmoid),
            &[3, 3, 2],
            2 * 2 * 2 * 2 + 2,
            false,
        ),
        case(
            Conv2DTranspose::new(1, &[3]).strides(&[2]).output_padding(&[1]).padding(Padding::Same),
            &[3, 3, 2],
            19,
            false,
        ),
        // Pooling.
        case(MaxPooling2D::new(), &[4, 6, 3], 0, false),
        case(MaxPooling2D::new().pool_size(3).strides(&[2]).padding(Padding::Same), &[5, 5, 2], 0, false),
        case(AveragePooling2D::new().padding(Padding::Same), &[5, 3, 2], 0, false),
        case(MaxPooling1D::new(), &[7, 3], 0, false),
        case(AveragePooling1D::new().pool_size(3).strides(&[1]), &[6, 2], 0, false),
        case(GlobalAveragePooling2D::new(), &[3, 4, 5], 0, false),
        case(GlobalMaxPooling2D::new().keepdims(true), &[3, 4, 2], 0, false),
        case(GlobalAveragePooling1D::new(), &[5, 3], 0, false),
        case(GlobalMaxPooling1D::new(), &[5, 3], 0, false),
        // Reshaping and spatial dropout.
        case(UpSampling2D::new().size([2, 3]), &[2, 3, 2], 0, false),
        case(UpSampling2D::new().interpolation("bilinear"), &[3, 2, 2], 0, false),
        case(ZeroPadding2D::new().padding([[1, 0], [2, 1]]), &[3, 3, 2], 0, false),
        case(Cropping2D::new().cropping([[1, 0], [0, 2]]), &[4, 5, 2], 0, false),
        case(SpatialDropout2D::new(0.5), &[3, 3, 4], 0, true),
        case(SpatialDropout1D::new(0.5), &[4, 6], 0, true),
        // Recurrent layers: gradients through time on inputs, weights and initial states.
        case(SimpleRNN::new(3), &[4, 2], 2 * 3 + 3 * 3 + 3, false),
        case(
            SimpleRNN::new(3).return_sequences(true).go_backwards(true).activation(Activation::Softsign),
            &[4, 2],
            18,
            false,
        ),
        case(LSTM::new(3), &[4, 2], 4 * 3 * (2 + 3) + 4 * 3, false),
        case(LSTM::new(2).peephole(true).return_sequences(true), &[3, 2], 4 * 2 * (2 + 2) + 4 * 2 + 3 * 2, false),
        case(LSTM::new(3).dropout(0.3).recurrent_dropout(0.4).unit_forget_bias(false), &[4, 2], 72, true),
        case(GRU::new(3), &[4, 2], 3 * 3 * (2 + 3) + 2 * 3 * 3, false),
        case(GRU::new(3).reset_after(false).return_sequences(true).use_bias(false), &[4, 2], 45, false),
        case_states(GRU::new(2).return_sequences(true), &[&[3, 2], &[2]], 3 * 2 * (2 + 2) + 2 * 3 * 2),
        case_states(LSTM::new(2), &[&[3, 2], &[2], &[2]], 4 * 2 * (2 + 2) + 4 * 2),
        Case { ids: Some(7), ..case(Embedding::new(7, 3), &[5], 7 * 3, false) },
        Case { ids: Some(7), ..case(Embedding::new(7, 2).mask_zero(true), &[4], 7 * 2, false) },
        case(Masking::new().mask_value(0.5), &[4, 3], 0, false),
        case(Bidirectional::new(LSTM::new(2).return_sequences(true)), &[3, 2], 2 * (4 * 2 * (2 + 2) + 4 * 2), false),
        case(Bidirectional::new(GRU::new(2)).merge_mode("sum"), &[3, 2], 2 * (3 * 2 * (2 + 2) + 2 * 3 * 2), false),
        case(Bidirectional::new(SimpleRNN::new(2).return_sequences(true)).merge_mode("ave"), &[3, 2], 2 * 10, false),
        case_states(Bidirectional::new(GRU::new(2)).merge_mode("mul"), &[&[3, 2], &[2], &[2]], 72),
        case(TimeDistributed::new(Dense::new(3).activation(Activation::Tanh)), &[4, 5], 5 * 3 + 3, false),
        case(TimeDistributed::new(Conv2D::new(2, &[2]).name("conv")), &[3, 4, 4, 1], 2 * 2 * 2 + 2, false),
        // kernel [2, 2, 1, 8], recurrent_kernel [2, 2, 2, 8], bias [8].
        case(ConvLSTM2D::new(2, &[2]), &[3, 4, 4, 1], 2 * 2 * 8 + 2 * 2 * 2 * 8 + 8, false),
        case(
            ConvLSTM2D::new(2, &[3, 2]).padding(Padding::Same).return_sequences(true).go_backwards(true),
            &[2, 3, 4, 2],
            3 * 2 * 2 * 8 * 2 + 8,
            false,
        ),
        case(
            ConvLSTM2D::new(2, &[2]).strides(&[2]).unit_forget_bias(false).dropout(0.3).recurrent_dropout(0.3),
            &[2, 5, 5, 1],
            2 * 2 * 8 + 2 * 2 * 2 * 8 + 8,
            true,
        ),
        case_states(ConvLSTM2D::new(2, &[2]).use_bias(false), &[&[2, 3, 3, 1], &[2, 2, 2], &[2, 2, 2]], 32 + 64),
    ]
}

fn batch(input: &[usize], n: usize, seed: u64) -> Tensor {
    let mut dims = vec![n];
    dims.extend_from_slice(input);
    Tensor::rand_normal(dims, 0.0, 1.0, &mut Rng::seed(seed))
}

fn forward(layer: &mut dyn Layer, xs: &[Tensor], training: bool, seed: u64) -> Tensor {
    let mut rng = Rng::seed(seed);
    layer.forward_many(xs, &mut Ctx { training, rng: &mut rng })
}

fn batches(c: &Case, n: usize, seed: u64) -> Vec<Tensor> {
    let mut xs: Vec<Tensor> = c.inputs.iter().enumerate().map(|(i, s)| batch(s, n, seed + 100 * i as u64)).collect();
    if let Some(ids) = c.ids {
        let v: Vec<f32> = (0..xs[0].numel()).map(|i| ((i * 5 + seed as usize) % ids) as f32).collect();
        xs[0] = Tensor::from_vec(v, xs[0].shape().clone());
    }
    xs
}

fn assert_close(a: &Tensor, b: &Tensor, tol: f64, what: &str) {
    assert_eq!(a.dims(), b.dims(), "{what}: shapes differ");
    for (i, (x, y)) in a.to_vec_f64().iter().zip(b.to_vec_f64()).enumerate() {
        assert!((x - y).abs() <= tol * (1.0 + y.abs()), "{what}[{i}]: {x} vs {y}");
    }
}

/// Sum of `f(x) * r` for a fixed random `r`, the scalar the gradient check differentiates.
fn probe(layer: &mut dyn Layer, xs: &[Tensor], r: &Tensor, training: bool) -> Tensor {
    forward(layer, xs, training, 7).mul(r).sum_all()
}

fn gradcheck(layer: &mut dyn Layer, xs: &[Tensor], training: bool, name: &str, ids: bool) {
    for p in layer.params_mut() {
        p.value = p.value.to_dtype(DType::F64).detach().with_grad();
    }
    // Integer ids are not differentiated (nor moved by eps).
    let xs: Vec<Tensor> = xs
        .iter()
        .enumerate()
        .map(|(k, x)| if ids && k == 0 { x.to_dtype(DType::F64) } else { x.to_dtype(DType::F64).with_grad() })
        .collect();
    let out_dims = no_grad(|| forward(layer, &xs, training, 7)).dims().to_vec();
    let r = Tensor::rand_normal(out_dims, 0.0, 1.0, &mut Rng::seed(11)).to_dtype(DType::F64);
    let grads = probe(layer, &xs, &r, training).backward();
    let eps = 1e-6;
    // Gradient wrt each input.
    for (k, x) in xs.iter().enumerate().skip(usize::from(ids)) {
        let gx = grads.get(x).map(|g| g.to_vec_f64()).unwrap_or_else(|| vec![0.0; x.numel()]);
        let base = x.to_vec_f64();
        for j in 0..base.len() {
            let mut eval = |d: f64| {
                let mut v = base.clone();
                v[j] += d;
                let mut moved: Vec<Tensor> = xs.iter().map(Tensor::detach).collect();
                moved[k] = Tensor::from_vec_f64(v, x.shape().clone());
                no_grad(|| probe(layer, &moved, &r, training).item())
            };
            let num = (eval(eps) - eval(-eps)) / (2.0 * eps);
            assert!(
                (gx[j] - num).abs() <= 1e-6 * (1.0 + num.abs()),
                "{name}: d/dx{k}[{j}] analytic {} vs numeric {num}",
                gx[j]
            );
        }
    }
    let x: Vec<Tensor> = xs.iter().map(Tensor::detach).collect();
    // Parameter gradients.
    let n_params = layer.params().len();
    for pi in 0..n_params {
        let (pv, shape, analytic) = {
            let p = &layer.params()[pi];
            let g = grads.get(&p.value).map(|g| g.to_vec_f64()).unwrap_or_else(|| vec![0.0; p.value.numel()]);
            (p.value.to_vec_f64(), p.value.shape().clone(), g)
        };
        for j in 0..pv.len() {
            let mut eval = |d: f64| {
                let mut v = pv.clone();
                v[j] += d;
                layer.params_mut()[pi].value = Tensor::from_vec_f64(v, shape.clone()).with_grad();
                let out = no_grad(|| probe(layer, &x, &r, training).item());
                layer.params_mut()[pi].value = Tensor::from_vec_f64(pv.clone(), shape.clone()).with_grad();
                out
            };
            let num = (eval(eps) - eval(-eps)) / (2.0 * eps);
            assert!(
                (analytic[j] - num).abs() <= 1e-6 * (1.0 + num.abs()),
                "{name}: d/dparam{pi}[{j}] analytic {} vs numeric {num}",
                analytic[j]
            );
        }
    }
}

fn check_layer(c: &Case) {
    let class = c.cfg.class_name();
    let mut layer = c
        .cfg
        .build_many("probe".into(), &c.inputs, &mut Rng::seed(1))
        .unwrap_or_else(|e| panic!("{class}: build failed: {e}"));
    let name = format!("{class} {:?}", layer.config());
    let x = batches(c, 3, 2);

    // Declared output shape equals the produced one.
    let y = forward(layer.as_mut(), &x, false, 5);
    assert_eq!(&y.dims()[1..], layer.output_shape(), "{name}: output shape");
    // Parameter count.
    let count: usize = layer.params().iter().map(|p| p.value.numel()).sum();
    assert_eq!(count, c.params, "{name}: parameter count");

    // Config round-trip, then weight round-trip.
    let cfg: Value = layer.config();
    let rebuilt_cfg = layer_from_config(&cfg).unwrap_or_else(|e| panic!("{name}: from_config failed: {e}"));
    let mut rebuilt = rebuilt_cfg.build_many("probe".into(), &c.inputs, &mut Rng::seed(99)).unwrap();
    assert_eq!(rebuilt.config(), cfg, "{name}: config round-trip");
    // The same arguments by the command line's path (`layer_from_args`, checked against the
    // class's signature) rebuild the same config: signature, config and loader agree.
    if !NOT_DECLARABLE_BY_CONFIG.contains(&class) {
        let mut args = cfg.as_object().expect("a config is an object").clone();
        args.remove("class_name");
        let by_args = layer_from_args(class, &args).unwrap_or_else(|e| panic!("{name}: layer_from_args failed: {e}"));
        let built = by_args.build_many("probe".into(), &c.inputs, &mut Rng::seed(99)).unwrap();
        assert_eq!(built.config(), cfg, "{name}: config through layer_from_args");
    }
    for (dst, src) in rebuilt.params_mut().into_iter().zip(layer.params()) {
        dst.value.data_mut_f32().copy_from_slice(src.value.as_slice_f32());
    }
    assert_close(
        &forward(rebuilt.as_mut(), &x, false, 5),
        &y,
        0.0,
        &format!("{name}: outputs after weight round-trip"),
    );

    // Train vs inference.
    let yt = forward(layer.as_mut(), &x, true, 5);
    let same = yt.to_vec_f32() == y.to_vec_f32();
    assert_eq!(
        !same,
        c.train_differs,
        "{name}: training and inference outputs {} differ",
        if same { "do not" } else { "do" }
    );

    // One SGD step lowers a toy loss (mean of squared outputs).
    if c.params > 0 {
        let loss = |l: &mut dyn Layer| forward(l, &x, true, 5).square().mean_all();
        let before = loss(layer.as_mut());
        let grads = before.backward();
        for p in layer.params_mut() {
            if let Some(g) = grads.get(&p.value) {
                let g = g.to_vec_f32();
                p.value.data_mut_f32().iter_mut().zip(g).for_each(|(w, g)| *w -= 0.01 * g);
            }
        }
        let after = no_grad(|| loss(layer.as_mut()));
        assert!(
            after.item() < before.item(),
            "{name}: an SGD step did not lower the loss ({} -> {})",
            before.item(),
            after.item()
        );
    }

    // Gradients, in inference mode and (for stochastic layers, with a fixed seed) training mode.
    gradcheck(layer.as_mut(), &x, false, &name, c.ids.is_some());
    if c.train_differs {
        gradcheck(layer.as_mut(), &x, true, &name, c.ids.is_some());
    }
}

/// Hand-written classes whose config does not (yet) read back through `layer_from_args`.
const NOT_DECLARABLE_BY_CONFIG: &[&str] = &[];

#[test]
fn conformance_every_layer() {
    for c in cases() {
        check_layer(&c);
    }
}

#[test]
fn conformance_covers_every_registered_layer() {
    let covered: Vec<&str> = cases().iter().map(|c| c.cfg.class_name()).collect();
    for class in &covered {
        assert!(
            layer_classes().contains(class),
            "{class} has a conformance case but is missing from layer_classes() / layer_from_config"
        );
    }
    for class in layer_classes() {
        assert!(covered.contains(&class), "layer {class} has no conformance case");
        // The registry knows it too (a config with only the class name fails on a field, not the class).
        let err = layer_from_config(&serde_json::json!({"class_name": class})).err();
        assert!(
            err.is_none() || !err.unwrap().message.contains("unknown layer class"),
            "{class} is not in layer_from_config"
        );
    }
}

#[test]
fn conformance_build_errors_name_the_layer_and_value() {
    let e = Dense::new(0).build("dense".into(), &[3], &mut Rng::seed(0)).err().unwrap();
    assert_eq!(e.message, "Dense: units must be a positive integer, got 0");
    let e = Dropout::new(1.5).build("dropout".into(), &[3], &mut Rng::seed(0)).err().unwrap();
    assert_eq!(e.message, "Dropout: rate must be a float in the range [0, 1), got 1.5");
    let e = Reshape::new([5, -1]).build("reshape".into(), &[3, 4], &mut Rng::seed(0)).err().unwrap();
    assert!(
        e.message.contains("cannot reshape input of shape [3, 4] (12 values) to target_shape [5, -1]"),
        "{}",
        e.message
    );
    let e = Add::new().build_many("add".into(), &[vec![3], vec![4]], &mut Rng::seed(0)).err().unwrap();
    assert_eq!(e.message, "add (Add): inputs have incompatible shapes (None, 3) and (None, 4)");
    let e = Subtract::new().build_many("s".into(), &vec![vec![3]; 3], &mut Rng::seed(0)).err().unwrap();
    assert_eq!(e.message, "s (Subtract): needs exactly 2 inputs, got 3 (call it on a list of tensors)");
    let e = Concatenate::new().build_many("c".into(), &[vec![2, 3], vec![3, 3]], &mut Rng::seed(0)).err().unwrap();
    assert_eq!(
        e.message,
        "c (Concatenate): inputs must match except on axis -1, got shapes (None, 2, 3) and (None, 3, 3)"
    );
    let e = Dense::new(2).build_many("d".into(), &[vec![3], vec![3]], &mut Rng::seed(0)).err().unwrap();
    assert_eq!(e.message, "d (Dense): expects 1 input, got 2");
    let e = layer_from_config(&serde_json::json!({"class_name": "Dens"})).err().unwrap();
    assert_eq!(e.message, "unknown layer class \"Dens\"; did you mean \"Dense\"?");
    let conv_lstm = ConvLSTM2D::new(2, &[3]).strides(&[2]).dilation_rate(&[2]);
    let e = conv_lstm.build("c".into(), &[2, 9, 9, 1], &mut Rng::seed(0)).err().unwrap();
    assert_eq!(e.message, "ConvLSTM2D: strides [2, 2] and dilation_rate [2, 2] cannot both be above 1 (as in Keras)");
    let e = ConvLSTM2D::new(2, &[3]).build("c".into(), &[2, 9, 9], &mut Rng::seed(0)).err().unwrap();
    assert!(e.message.contains("expects [timesteps, rows, cols, channels], got shape [2, 9, 9]"), "{}", e.message);
}

#[test]
fn dense_activity_regularizer_penalises_the_output_once_per_forward() {
    let cfg = Dense::new(3).activation(Activation::Relu).activity_regularizer(Regularizer::l1(0.01));
    let mut layer = cfg.build("dense".into(), &[4], &mut Rng::seed(1)).unwrap();
    let x = vec![batch(&[4], 5, 2)];
    let y = forward(layer.as_mut(), &x, true, 0);
    let want = 0.01 * y.abs().sum_all().item() / 5.0;
    let got = layer.regularization_loss().expect("a penalty after forward").item();
    assert!((got - want).abs() < 1e-7, "{got} vs {want}");
    assert!(layer.regularization_loss().is_none(), "the activity penalty is taken once");
    let rebuilt = layer_from_config(&layer.config()).unwrap().build("dense".into(), &[4], &mut Rng::seed(1)).unwrap();
    assert_eq!(rebuilt.config(), layer.config());
}

#[test]
fn weight_normalization_starts_as_the_plain_dense_layer() {
    let dense = Dense::new(3).activation(Activation::Relu);
    let mut plain = dense.clone().build("d".into(), &[4], &mut Rng::seed(5)).unwrap();
    let mut wn = WeightNormalization::new(dense).build("wn".into(), &[4], &mut Rng::seed(5)).unwrap();
    let x = vec![batch(&[4], 6, 1)];
    assert_close(
        &forward(wn.as_mut(), &x, false, 0),
        &forward(plain.as_mut(), &x, false, 0),
        1e-6,
        "weight-normalised output at build",
    );
    assert_eq!(wn.params().iter().map(|p| p.name).collect::<Vec<_>>(), vec!["kernel", "g", "bias"]);
}
