//! The cases every differentiable op is checked with: one or more per op, each a function of
//! its inputs. `gradcheck.rs` checks their gradients against finite differences;
//! `isa_paths.rs` runs them on every instruction-set path and compares the results.
#![allow(dead_code)]

use sinew_tensor::*;

pub type F = Box<dyn Fn(&[Tensor]) -> Tensor>;

pub struct Case {
    pub name: &'static str,
    pub inputs: Vec<Tensor>,
    pub f: F,
    pub eps: f64,
    pub tol: f64,
}

pub fn rn(shape: &[usize], seed: u64) -> Tensor {
    Tensor::rand_normal(shape, 0.0, 1.0, &mut Rng::seed(seed)).to_dtype(DType::F64)
}
/// Values in [lo, hi): keeps inputs away from kinks and poles.
pub fn un(shape: &[usize], lo: f64, hi: f64, seed: u64) -> Tensor {
    Tensor::rand_uniform(shape, lo, hi, &mut Rng::seed(seed)).to_dtype(DType::F64)
}
/// Random values in [0.3, 1.3) with random signs: never near 0, so relu/abs/leaky are smooth.
pub fn signed(shape: &[usize], seed: u64) -> Tensor {
    let m = un(shape, 0.3, 1.3, seed);
    let s = Tensor::bernoulli(shape, 0.5, &mut Rng::seed(seed + 1000)).to_dtype(DType::F64).affine(2.0, -1.0);
    no_grad(|| m.mul(&s))
}
pub fn case(name: &'static str, inputs: Vec<Tensor>, f: impl Fn(&[Tensor]) -> Tensor + 'static) -> Case {
    Case { name, inputs, f: Box::new(f), eps: 1e-6, tol: 1e-6 }
}

/// `n` replicas that are all this one: a sum is `n` times the value.
pub struct Mirrors(pub usize);
impl runtime::Replicas for Mirrors {
    fn size(&self) -> usize {
        self.0
    }
    fn sum(&self, buf: &mut [f64]) {
        buf.iter_mut().for_each(|v| *v *= self.0 as f64);
    }
    fn share(&self) -> f64 {
        1.0 / self.0 as f64
    }
}

pub fn cases() -> Vec<Case> {
    let mut v = vec![
        Case {
            name: "cast",
            inputs: vec![rn(&[3, 2], 1)],
            f: Box::new(|x| x[0].to_dtype(DType::F32).square().to_dtype(DType::F64)),
            eps: 1e-2,
            tol: 2e-3,
        },
        case("add_broadcast", vec![rn(&[2, 3, 4], 1), rn(&[3, 1], 2)], |x| x[0].add(&x[1])),
        case("sub_broadcast", vec![rn(&[4], 1), rn(&[2, 3, 4], 2)], |x| x[0].sub(&x[1])),
        case("mul_broadcast", vec![rn(&[2, 1, 4], 1), rn(&[3, 1], 2)], |x| x[0].mul(&x[1])),
        case("div_broadcast", vec![rn(&[2, 3], 1), un(&[3], 0.5, 2.0, 2)], |x| x[0].div(&x[1])),
        case("div_scalar_tensor", vec![rn(&[2, 3], 1), un(&[1], 0.5, 2.0, 2)], |x| {
            x[1].div(&x[0].abs().add_scalar(1.0))
        }),
        case("maximum", vec![rn(&[3, 4], 1), rn(&[3, 4], 2)], |x| x[0].maximum(&x[1])),
        case("minimum", vec![rn(&[3, 4], 1), rn(&[4], 2)], |x| x[0].minimum(&x[1])),
        case("pow", vec![un(&[2, 3], 0.5, 2.0, 1), rn(&[3], 2)], |x| x[0].pow(&x[1])),
        case("neg_exp", vec![rn(&[5], 1)], |x| x[0].neg().exp()),
        case("log_sqrt", vec![un(&[5], 0.2, 3.0, 1)], |x| x[0].log().add(&x[0].sqrt())),
        case("abs", vec![signed(&[6], 1)], |x| x[0].abs()),
        case("square_powf", vec![un(&[5], 0.2, 3.0, 1)], |x| x[0].square().add(&x[0].powf(1.7))),
        case("clamp", vec![un(&[8], -2.0, 2.0, 3)], |x| x[0].clamp(-1.03, 1.07)),
        case("affine", vec![rn(&[4], 1)], |x| x[0].affine(-2.5, 0.3)),
        case("relu", vec![signed(&[3, 4], 1)], |x| x[0].relu()),
        case("leaky_relu", vec![signed(&[3, 4], 1)], |x| x[0].leaky_relu(0.2)),
        case("elu", vec![signed(&[3, 4], 1)], |x| x[0].elu(1.0)),
        case("selu", vec![signed(&[3, 4], 1)], |x| x[0].selu()),
        case("gelu", vec![rn(&[3, 4], 1)], |x| x[0].gelu()),
        case("gelu_tanh", vec![rn(&[3, 4], 1)], |x| x[0].gelu_tanh()),
        case("sigmoid", vec![rn(&[3, 4], 1).mul_scalar(3.0)], |x| x[0].sigmoid()),
        case("hard_sigmoid", vec![un(&[8], -2.9, 2.9, 1)], |x| x[0].hard_sigmoid()),
        case("tanh", vec![rn(&[3, 4], 1)], |x| x[0].tanh()),
        case("softplus", vec![rn(&[3, 4], 1).mul_scalar(4.0)], |x| x[0].softplus()),
        case("softsign", vec![signed(&[3, 4], 1)], |x| x[0].softsign()),
        case("silu", vec![rn(&[3, 4], 1)], |x| x[0].silu()),
        case("mish", vec![rn(&[3, 4], 1)], |x| x[0].mish()),
        case("where", vec![rn(&[3, 4], 1), rn(&[4], 2)], |x| {
            Tensor::where_(&x[0].gt(&x[0].zeros_like()), &x[0], &x[1])
        }),
        case("masked_select", vec![rn(&[3, 4], 1)], |x| {
            x[0].masked_select(&rn(&[3, 4], 5).gt(&Tensor::full([1], 0.0, DType::F64)))
        }),
        case("sum_axes", vec![rn(&[2, 3, 4], 1)], |x| x[0].sum(&[0, 2], false)),
        case("sum_keepdims", vec![rn(&[2, 3, 4], 1)], |x| x[0].sum(&[-1], true)),
        case("mean", vec![rn(&[2, 3, 4], 1)], |x| x[0].mean(&[1], true).add(&x[0].mean_all())),
        case("max", vec![rn(&[2, 3, 4], 1)], |x| x[0].max(&[1, 2], false)),
        // Three replicas that all hold this input (each the same computation, share 1/3): the
        // sum is 3x, and the gradient of the objective for the one input is the three
        // replicas' gradients together, which the op's backward must give.
        case("replica_sum", vec![rn(&[2, 3], 1)], |x| {
            runtime::with_replicas(Some(std::sync::Arc::new(Mirrors(3))), || x[0].replica_sum().mul(&x[0].tanh()))
        }),
        case("min", vec![rn(&[2, 3, 4], 1)], |x| x[0].min(&[0], true)),
        case("var_std", vec![rn(&[3, 5], 1)], |x| x[0].var(&[1], false).add(&x[0].std(&[0], false).sum_all())),
        case("logsumexp", vec![rn(&[3, 5], 1).mul_scalar(5.0)], |x| x[0].logsumexp(&[1], true)),
        case("matmul_2d", vec![rn(&[3, 4], 1), rn(&[4, 5], 2)], |x| x[0].matmul(&x[1])),
        case("matmul_batched_rhs2d", vec![rn(&[2, 3, 4], 1), rn(&[4, 5], 2)], |x| x[0].matmul(&x[1])),
        case("matmul_broadcast_batch", vec![rn(&[3, 4], 1), rn(&[2, 4, 5], 2)], |x| x[0].matmul(&x[1])),
        case("matmul_vector", vec![rn(&[4], 1), rn(&[2, 4, 3], 2)], |x| x[0].matmul(&x[1])),
        case("reshape_permute", vec![rn(&[2, 3, 4], 1)], |x| {
            x[0].reshape([6, 4]).t().reshape([4, 3, 2]).permute(&[2, 0, 1])
        }),
        case("narrow_split", vec![rn(&[5, 3], 1)], |x| {
            let p = x[0].split(0, &[2, 3]);
            p[1].narrow(1, 1, 2).sum_all().add(&p[0].sum_all())
        }),
        case("pad", vec![rn(&[2, 3], 1)], |x| x[0].pad(&[(1, 0), (2, 1)], 0.5)),
        case("concat_stack", vec![rn(&[2, 3], 1), rn(&[2, 1], 2)], |x| {
            let c = Tensor::concat(&[&x[0], &x[1]], 1);
            Tensor::stack(&[&c, &c.mul(&c)], 0)
        }),
        case("broadcast_to", vec![rn(&[3, 1], 1)], |x| x[0].broadcast_to([2, 3, 4])),
        case("index_select", vec![rn(&[4, 3], 1)], |x| x[0].index_select(0, &[3, 0, 3, 1])),
        case("gather", vec![rn(&[3, 4], 1)], |x| {
            x[0].gather(1, &Tensor::from_vec(vec![0., 3., 3., 1., 2., 0.], [3, 2]))
        }),
        case("scatter_add", vec![rn(&[3, 4], 1), rn(&[3, 2], 2)], |x| {
            x[0].scatter_add(1, &Tensor::from_vec(vec![0., 3., 3., 3., 2., 0.], [3, 2]), &x[1])
        }),
        case("softmax_inner", vec![rn(&[2, 3, 4], 1)], |x| x[0].softmax(1)),
        case("softmax_last", vec![rn(&[3, 5], 1)], |x| x[0].softmax(-1)),
        case("log_softmax", vec![rn(&[2, 3, 4], 1)], |x| x[0].log_softmax(-1).add(&x[0].log_softmax(0))),
        case("softmax_cross_entropy", vec![rn(&[4, 5], 1), rn(&[4, 5], 2).softmax(-1)], |x| {
            x[0].softmax_cross_entropy(&x[1])
        }),
        case("sparse_softmax_cross_entropy", vec![rn(&[4, 5], 1)], |x| {
            x[0].sparse_softmax_cross_entropy(&[0, 4, 2, 2])
        }),
        case("sigmoid_cross_entropy", vec![rn(&[3, 4], 1).mul_scalar(3.0), un(&[3, 4], 0.0, 1.0, 2)], |x| {
            x[0].sigmoid_cross_entropy(&x[1])
        }),
        case("bias_act_tanh", vec![rn(&[2, 3, 4], 1), rn(&[4], 2)], |x| x[0].bias_act(&x[1], Activation::Tanh)),
        case("bias_act_linear", vec![rn(&[5, 4], 1), rn(&[4], 2)], |x| x[0].bias_act(&x[1], Activation::Linear)),
        case("dropout", vec![rn(&[4, 16], 1)], |x| x[0].dropout(0.3, &mut Rng::seed(5))),
    ];
    v.extend(image_cases());
    v.extend(recurrent_cases());
    v
}

pub fn image_cases() -> Vec<Case> {
    let c2 = |stride: [usize; 2], padding: [usize; 4], dilation: [usize; 2], groups: usize| Conv2dOpts {
        stride,
        padding,
        dilation,
        groups,
    };
    vec![
        case("conv2d_valid", vec![rn(&[2, 5, 6, 3], 1), rn(&[3, 2, 3, 4], 2)], move |x| {
            x[0].conv2d(&x[1], c2([1, 1], [0; 4], [1, 1], 1))
        }),
        case("conv2d_stride_pad_dil", vec![rn(&[1, 7, 6, 2], 1), rn(&[3, 3, 2, 3], 2)], move |x| {
            x[0].conv2d(&x[1], c2([2, 1], [1, 2, 0, 1], [1, 2], 1))
        }),
        case("conv2d_groups", vec![rn(&[2, 4, 4, 4], 1), rn(&[2, 2, 2, 6], 2)], move |x| {
            x[0].conv2d(&x[1], c2([1, 1], [1, 1, 1, 1], [1, 1], 2))
        }),
        case("conv1d", vec![rn(&[2, 7, 3], 1), rn(&[3, 3, 2], 2)], |x| {
            x[0].conv1d(&x[1], Conv1dOpts { stride: 2, padding: [1, 1], dilation: 1, groups: 1 })
        }),
        case("conv_transpose2d", vec![rn(&[2, 3, 3, 4], 1), rn(&[4, 4, 2, 4], 2)], |x| {
            x[0].conv_transpose2d(
                &x[1],
                ConvTranspose2dOpts { stride: [2, 2], padding: [1, 1, 1, 1], ..Default::default() },
            )
        }),
        case("conv_transpose2d_outpad", vec![rn(&[1, 3, 2, 2], 1), rn(&[3, 2, 3, 2], 2)], |x| {
            x[0].conv_transpose2d(
                &x[1],
                ConvTranspose2dOpts { stride: [2, 3], output_padding: [1, 2], ..Default::default() },
            )
        }),
        // Issue 22: dilation and groups in the transposed convolution.
        case("conv_transpose2d_dilation", vec![rn(&[1, 3, 3, 2], 1), rn(&[2, 2, 3, 2], 2)], |x| {
            x[0].conv_transpose2d(
                &x[1],
                ConvTranspose2dOpts { stride: [1, 2], dilation: [2, 2], padding: [1, 0, 0, 1], ..Default::default() },
            )
        }),
        case("conv_transpose2d_groups", vec![rn(&[2, 3, 2, 4], 1), rn(&[2, 3, 2, 4], 2)], |x| {
            x[0].conv_transpose2d(&x[1], ConvTranspose2dOpts { stride: [2, 2], groups: 2, ..Default::default() })
        }),
        case("max_pool2d_overlap", vec![rn(&[2, 5, 5, 3], 1)], |x| {
            x[0].max_pool2d(Pool2dOpts { kernel: [3, 3], stride: [2, 2], padding: [1, 1, 1, 1] })
        }),
        // The fused conv + bias + activation + max pooling, differentiated as one op.
        case("conv2d_bias_act_pool_sigmoid", vec![rn(&[2, 7, 6, 2], 1), rn(&[3, 3, 2, 4], 2), rn(&[4], 3)], move |x| {
            let pool = Pool2dOpts { kernel: [3, 3], stride: [2, 2], padding: [1, 1, 1, 1] };
            x[0].conv2d_bias_act(
                &x[1],
                Some(&x[2]),
                Activation::Sigmoid,
                c2([1, 2], [1, 1, 0, 1], [1, 1], 1),
                Some(pool),
            )
        }),
        case("conv2d_bias_act_pool_tanh", vec![rn(&[3, 6, 6, 1], 1), rn(&[2, 2, 1, 3], 2)], move |x| {
            x[0].conv2d_bias_act(
                &x[1],
                None,
                Activation::Tanh,
                c2([1, 1], [0; 4], [2, 1], 1),
                Some(Pool2dOpts::square(2)),
            )
        }),
        case("max_pool1d", vec![rn(&[2, 7, 2], 1)], |x| x[0].max_pool1d(2, 2, [0, 0])),
        case("avg_pool2d", vec![rn(&[2, 5, 4, 2], 1)], |x| {
            let o = Pool2dOpts { kernel: [2, 3], stride: [2, 1], padding: [1, 0, 1, 1] };
            x[0].avg_pool2d(o, false).sum_all().add(&x[0].avg_pool2d(o, true).mul_scalar(0.5).sum_all())
        }),
        // A two-output op: both pieces feed one product, so their gradients meet in one backward.
        case("split_two_outputs", vec![rn(&[2, 5, 3], 1)], |x| {
            let p = x[0].split(1, &[2, 3]);
            p[0].sum(&[1], true).mul(&p[1].tanh())
        }),
        // Only one piece reaches the loss: the other's slot gets zeros.
        case("split_one_output_used", vec![rn(&[3, 4], 1)], |x| x[0].split(-1, &[1, 3])[1].square()),
        case("avg_pool1d", vec![rn(&[2, 7, 2], 1)], |x| x[0].avg_pool1d(3, 2, [1, 1], false)),
        case("upsample_nearest2d", vec![rn(&[2, 3, 2, 2], 1)], |x| x[0].upsample_nearest2d([2, 3])),
        case("upsample_bilinear2d", vec![rn(&[1, 3, 4, 2], 1)], |x| x[0].upsample_bilinear2d([7, 5])),
    ]
}

/// Every output of a recurrent op in one flat vector, so each reaches the checked loss.
pub fn flat(outs: Vec<Tensor>) -> Tensor {
    let parts: Vec<Tensor> = outs.iter().map(|t| t.reshape([t.numel()])).collect();
    Tensor::concat(&parts.iter().collect::<Vec<_>>(), 0)
}

/// A 0/1 mask `(batch, time)` from its rows.
pub fn mask(rows: &[&[f64]]) -> Tensor {
    let v: Vec<f64> = rows.iter().flat_map(|r| r.iter().copied()).collect();
    Tensor::from_vec_f64(v, [rows.len(), rows[0].len()])
}

/// The recurrent time loop, through time: inputs, both kernels, biases, peepholes and initial
/// states, for each cell, with masks (a masked first step, a masked run in the middle),
/// recurrent dropout, `go_backwards`, both output forms and activations other than the default.
pub fn recurrent_cases() -> Vec<Case> {
    use RecurrentCell::*;
    let (b, t, f, u) = (2, 4, 3, 3);
    let w = |g: usize, seed| rn(&[f, g * u], seed).mul_scalar(0.6);
    let uu = |g: usize, seed| rn(&[u, g * u], seed).mul_scalar(0.6);
    let x = || rn(&[b, t, f], 1);
    let h0 = || rn(&[b, u], 7).mul_scalar(0.5);
    let m = move || mask(&[&[0.0, 1.0, 1.0, 1.0], &[1.0, 0.0, 0.0, 1.0]]);
    let rec_drop = move || Tensor::from_vec_f64(vec![2.0, 0.0, 2.0, 0.0, 2.0, 2.0], [b, u]);
    let opts =
        |cell, seq, back| RecurrentOpts { return_sequences: seq, go_backwards: back, ..RecurrentOpts::new(cell) };
    vec![
        case("simple_rnn_sequences_h0", vec![x(), w(1, 2), uu(1, 3), rn(&[u], 4), h0()], move |v| {
            let st = [v[4].clone()];
            let inp = RecurrentInputs { bias: Some(&v[3]), initial_state: &st, ..Default::default() };
            flat(v[0].recurrent(&v[1], &v[2], inp, opts(SimpleRnn, true, false)))
        }),
        case("simple_rnn_relu_masked_backwards", vec![x(), w(1, 2), uu(1, 3)], move |v| {
            let mk = m();
            let inp = RecurrentInputs { mask: Some(&mk), ..Default::default() };
            let o = RecurrentOpts { activation: Activation::Softsign, ..opts(SimpleRnn, true, true) };
            flat(v[0].recurrent(&v[1], &v[2], inp, o))
        }),
        case("lstm_states", vec![x(), w(4, 2), uu(4, 3), rn(&[4 * u], 4), h0(), rn(&[b, u], 8)], move |v| {
            let st = [v[4].clone(), v[5].clone()];
            let inp = RecurrentInputs { bias: Some(&v[3]), initial_state: &st, ..Default::default() };
            flat(v[0].recurrent(&v[1], &v[2], inp, opts(Lstm { peephole: false }, false, false)))
        }),
        case(
            "lstm_peephole_masked_dropout",
            vec![x(), w(4, 2), uu(4, 3), rn(&[4 * u], 4), rn(&[3, u], 5), h0(), rn(&[b, u], 8)],
            move |v| {
                let st = [v[5].clone(), v[6].clone()];
                let (mk, rd) = (m(), rec_drop());
                let inp = RecurrentInputs {
                    bias: Some(&v[3]),
                    peephole: Some(&v[4]),
                    initial_state: &st,
                    mask: Some(&mk),
                    recurrent_mask: Some(&rd),
                };
                flat(v[0].recurrent(&v[1], &v[2], inp, opts(Lstm { peephole: true }, true, true)))
            },
        ),
        case("lstm_other_activations", vec![x(), w(4, 2), uu(4, 3), rn(&[4 * u], 4)], move |v| {
            let inp = RecurrentInputs { bias: Some(&v[3]), ..Default::default() };
            let o = RecurrentOpts {
                activation: Activation::Elu(1.0),
                recurrent_activation: Activation::Softsign,
                ..opts(Lstm { peephole: false }, true, false)
            };
            flat(v[0].recurrent(&v[1], &v[2], inp, o))
        }),
        case("gru_reset_after", vec![x(), w(3, 2), uu(3, 3), rn(&[2, 3 * u], 4), h0()], move |v| {
            let st = [v[4].clone()];
            let rd = rec_drop();
            let inp = RecurrentInputs {
                bias: Some(&v[3]),
                initial_state: &st,
                recurrent_mask: Some(&rd),
                ..Default::default()
            };
            flat(v[0].recurrent(&v[1], &v[2], inp, opts(Gru { reset_after: true }, true, false)))
        }),
        case("gru_reset_before_masked_backwards", vec![x(), w(3, 2), uu(3, 3), rn(&[3 * u], 4), h0()], move |v| {
            let st = [v[4].clone()];
            let (mk, rd) = (m(), rec_drop());
            let inp = RecurrentInputs {
                bias: Some(&v[3]),
                initial_state: &st,
                mask: Some(&mk),
                recurrent_mask: Some(&rd),
                ..Default::default()
            };
            flat(v[0].recurrent(&v[1], &v[2], inp, opts(Gru { reset_after: false }, true, true)))
        }),
        // Embedding and recurrent layer in one op: the gradient reaches the table's rows.
        case("gru_embedded_backwards", vec![rn(&[5, f], 1), w(3, 2), uu(3, 3), rn(&[2, 3 * u], 4)], move |v| {
            let ids = Tensor::from_vec_f64(vec![0.0, 3.0, 3.0, 1.0, 4.0, 0.0, 2.0, 3.0], [b, t]);
            let inp = RecurrentInputs { bias: Some(&v[3]), ..Default::default() };
            flat(Tensor::recurrent_embedded(
                &v[0],
                &ids,
                &v[1],
                &v[2],
                inp,
                opts(Gru { reset_after: true }, true, true),
            ))
        }),
        case("gru_last_output_gelu", vec![x(), w(3, 2), uu(3, 3)], move |v| {
            let o = RecurrentOpts { activation: Activation::Gelu, ..opts(Gru { reset_after: false }, false, false) };
            flat(v[0].recurrent(&v[1], &v[2], RecurrentInputs::default(), o))
        }),
    ]
}
