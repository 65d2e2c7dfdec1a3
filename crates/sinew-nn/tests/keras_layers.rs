//! Parity with Keras 3 for layers: outputs (inference and training), gradients with respect to
//! the input and every trainable weight, and BatchNormalization's moving statistics after a
//! training call. Fixtures from `tests/fixtures/gen/gen_keras_layers.py`; no Python at test time.

use serde_json::Value;
use sinew_nn::*;
use sinew_tensor::{Rng, Tensor};

const FIXTURE: &str = include_str!("fixtures/keras_layers.json");

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}
fn dims(v: &Value) -> Vec<usize> {
    v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as usize).collect()
}

fn config(name: &str) -> Box<dyn LayerConfig> {
    match name {
        "dense_tanh" => Box::new(Dense::new(4).activation(Activation::Tanh)),
        "dense_softmax_nobias" => Box::new(Dense::new(3).activation(Activation::Softmax).use_bias(false)),
        "dense_gelu" => Box::new(Dense::new(3).activation(Activation::Gelu)),
        "batchnorm_infer" | "batchnorm_train_images" => Box::new(BatchNormalization::new()),
        "batchnorm_train" => Box::new(BatchNormalization::new().momentum(0.9)),
        "layernorm" => Box::new(LayerNormalization::new()),
        "groupnorm_2" => Box::new(GroupNormalization::new().groups(2)),
        "groupnorm_instance" => Box::new(GroupNormalization::new().groups(-1)),
        "unitnorm" => Box::new(UnitNormalization::new()),
        "activation_selu" => Box::new(ActivationLayer::new(Activation::Selu)),
        "activation_hard_sigmoid" => Box::new(ActivationLayer::new(Activation::HardSigmoid)),
        "activation_mish" => Box::new(ActivationLayer::new(Activation::Mish)),
        "leaky_relu_default" => Box::new(ActivationLayer::new(Activation::from_name("leaky_relu").unwrap())),
        "conv2d_same_even" => Box::new(Conv2D::new(3, &[4]).padding(Padding::Same).activation(Activation::Relu)),
        "conv2d_stride_valid" => Box::new(Conv2D::new(2, &[3, 2]).strides(&[2])),
        "conv2d_dilated_groups" => Box::new(Conv2D::new(4, &[3]).dilation_rate(&[2]).groups(2).padding(Padding::Same)),
        "conv1d_causal" => Box::new(Conv1D::new(3, 3).padding(Padding::Causal).dilation_rate(&[2])),
        "conv1d_same_stride" => Box::new(Conv1D::new(2, 4).strides(&[2]).padding(Padding::Same)),
        "depthwise_same" => Box::new(DepthwiseConv2D::new(&[3]).depth_multiplier(2).padding(Padding::Same)),
        "separable_stride" => Box::new(SeparableConv2D::new(3, &[2]).strides(&[2]).activation(Activation::Tanh)),
        "conv2d_transpose_same" => Box::new(Conv2DTranspose::new(2, &[3]).strides(&[2]).padding(Padding::Same)),
        "conv2d_transpose_valid" => Box::new(Conv2DTranspose::new(2, &[4]).strides(&[2])),
        "conv2d_transpose_output_padding" => {
            Box::new(Conv2DTranspose::new(2, &[3]).strides(&[2]).padding(Padding::Same).output_padding(&[1]))
        }
        "maxpool2d_same" => Box::new(MaxPooling2D::new().pool_size(3).strides(&[2]).padding(Padding::Same)),
        "avgpool2d_same" => Box::new(AveragePooling2D::new().padding(Padding::Same)),
        "maxpool1d" => Box::new(MaxPooling1D::new()),
        "avgpool1d_same" => Box::new(AveragePooling1D::new().pool_size(3).strides(&[2]).padding(Padding::Same)),
        "global_avg2d" => Box::new(GlobalAveragePooling2D::new()),
        "global_max2d" => Box::new(GlobalMaxPooling2D::new()),
        "global_max1d" => Box::new(GlobalMaxPooling1D::new()),
        "upsampling_nearest" => Box::new(UpSampling2D::new().size([2, 3])),
        "upsampling_bilinear" => Box::new(UpSampling2D::new().interpolation("bilinear")),
        "zeropadding" => Box::new(ZeroPadding2D::new().padding([[1, 0], [2, 1]])),
        "cropping" => Box::new(Cropping2D::new().cropping([[1, 0], [0, 2]])),
        "simple_rnn" => Box::new(SimpleRNN::new(3)),
        "simple_rnn_relu_seq_backwards" => {
            Box::new(SimpleRNN::new(3).activation(Activation::Relu).return_sequences(true).go_backwards(true))
        }
        "lstm" => Box::new(LSTM::new(4)),
        "lstm_seq" => Box::new(LSTM::new(3).return_sequences(true)),
        "lstm_relu_seq" => Box::new(LSTM::new(3).activation(Activation::Relu).return_sequences(true)),
        "gru" => Box::new(GRU::new(4)),
        "gru_reset_before_seq" => Box::new(GRU::new(3).reset_after(false).return_sequences(true)),
        "gru_backwards_seq" => Box::new(GRU::new(3).go_backwards(true).return_sequences(true)),
        "bidirectional_lstm_concat_seq" => Box::new(Bidirectional::new(LSTM::new(3).return_sequences(true))),
        "bidirectional_gru_sum" => Box::new(Bidirectional::new(GRU::new(3)).merge_mode("sum")),
        "time_distributed_conv" => Box::new(TimeDistributed::new(Conv2D::new(2, &[2]).activation(Activation::Tanh))),
        "conv_lstm2d" => Box::new(ConvLSTM2D::new(3, &[2])),
        "conv_lstm2d_same_stride_seq_backwards" => Box::new(
            ConvLSTM2D::new(2, &[3, 2]).strides(&[2]).padding(Padding::Same).return_sequences(true).go_backwards(true),
        ),
        other => panic!("no sinew layer for fixture case {other}"),
    }
}

fn close(case: &str, what: &str, got: &[f64], want: &[f64]) {
    // TensorFlow's float64 GELU gradient differs from the exact one by up to ~3e-8 relative;
    // sinew's erf agrees with Python's math.erf to 2.2e-16 over [-4.5, 4.5], so the GELU case
    // gets a looser bound. Everything else agrees to float64 rounding.
    // tf.image.resize (UpSampling2D bilinear) computes in float32 even for float64 inputs.
    let tol = if case.contains("gelu") {
        1e-7
    } else if case.contains("bilinear") {
        1e-6
    } else {
        1e-8
    };
    assert_eq!(got.len(), want.len(), "{case}: {what} length");
    for (i, (a, b)) in got.iter().zip(want).enumerate() {
        assert!((a - b).abs() <= tol * (1.0 + b.abs()), "{case}: {what}[{i}] sinew {a} vs Keras {b}");
    }
}

#[test]
fn layers_match_keras_outputs_gradients_and_state() {
    let root: Value = serde_json::from_str(FIXTURE).unwrap();
    let cases = root["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 48);
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let x_shape = dims(&c["x_shape"]);
        let mut layer = config(name).build("probe".into(), &x_shape[1..], &mut Rng::seed(0)).unwrap();
        assert_eq!(layer.class_name(), c["class"].as_str().unwrap(), "{name}: class");
        // Keras weights, by name, as f64.
        for w in c["weights"].as_array().unwrap() {
            let wname = w["name"].as_str().unwrap();
            let p = layer
                .params_mut()
                .into_iter()
                .find(|p| p.name == wname)
                .unwrap_or_else(|| panic!("{name}: no weight {wname}"));
            assert_eq!(p.value.dims(), dims(&w["shape"]).as_slice(), "{name}: shape of {wname}");
            let t = Tensor::from_vec_f64(floats(&w["value"]), dims(&w["shape"]));
            p.value = if p.trainable { t.with_grad() } else { t };
        }
        let x = Tensor::from_vec_f64(floats(&c["x"]), x_shape).with_grad();
        let training = c["training"].as_bool().unwrap();
        let mut rng = Rng::seed(0);
        let y = layer.forward(&x, &mut Ctx { training, rng: &mut rng });
        assert_eq!(y.dims(), dims(&c["y_shape"]).as_slice(), "{name}: output shape");
        close(name, "y", &y.to_vec_f64(), &floats(&c["y"]));
        let up = Tensor::from_vec_f64(floats(&c["upstream"]), y.shape().clone());
        let g = y.mul(&up).sum_all().backward();
        close(name, "grad_x", &g.get(&x).unwrap().to_vec_f64(), &floats(&c["grad_x"]));
        for (wname, want) in c["grad_weights"].as_object().unwrap() {
            let p = layer.params().into_iter().find(|p| p.name == wname.as_str()).unwrap();
            close(name, &format!("grad {wname}"), &g.get(&p.value).unwrap().to_vec_f64(), &floats(want));
        }
        for (wname, want) in c["non_trainable_after"].as_object().unwrap() {
            let p = layer.params().into_iter().find(|p| p.name == wname.as_str()).unwrap();
            close(name, &format!("{wname} after the call"), &p.value.to_vec_f64(), &floats(want));
        }
    }
}
