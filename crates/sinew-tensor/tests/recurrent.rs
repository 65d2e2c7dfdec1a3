//! `Tensor::recurrent` against a reference written from the cells' equations with the engine's
//! primitive ops, one step at a time (f64): Keras' SimpleRNN, LSTM and GRU (both forms), and the
//! peephole LSTM as the notes write it (input and forget gates see `c_{t-1}`, the output gate
//! `c_t`). Masks, recurrent dropout, initial states and `go_backwards` included.

use sinew_tensor::*;

fn rn(shape: &[usize], seed: u64, scale: f64) -> Tensor {
    Tensor::rand_normal(shape, 0.0, scale, &mut Rng::seed(seed)).to_dtype(DType::F64)
}

struct Setup {
    x: Tensor,
    w: Tensor,
    u: Tensor,
    bias: Tensor,
    peep: Tensor,
    h0: Tensor,
    c0: Tensor,
    mask: Tensor,
    rec: Tensor,
}

const B: usize = 3;
const T: usize = 5;
const F: usize = 4;
const U: usize = 6;

fn setup(cell: RecurrentCell) -> Setup {
    let g = cell.gates();
    let bias_shape: Vec<usize> =
        if cell == (RecurrentCell::Gru { reset_after: true }) { vec![2, g * U] } else { vec![g * U] };
    let mask: Vec<f64> = (0..B * T).map(|i| if i % 4 == 1 || i == 2 * T { 0.0 } else { 1.0 }).collect();
    let rec: Vec<f64> = (0..B * U).map(|i| if i % 3 == 0 { 0.0 } else { 1.5 }).collect();
    Setup {
        x: rn(&[B, T, F], 1, 1.0),
        w: rn(&[F, g * U], 2, 0.5),
        u: rn(&[U, g * U], 3, 0.5),
        bias: rn(&bias_shape, 4, 0.5),
        peep: rn(&[3, U], 5, 0.5),
        h0: rn(&[B, U], 6, 0.5),
        c0: rn(&[B, U], 7, 0.5),
        mask: Tensor::from_vec_f64(mask, [B, T]),
        rec: Tensor::from_vec_f64(rec, [B, U]),
    }
}

/// Columns `k*U .. (k+1)*U` of a `(rows, g*U)` matrix.
fn gate(m: &Tensor, k: usize) -> Tensor {
    m.narrow(-1, k * U, U)
}

/// One step at a time from the equations; returns (outputs in processing order, h, c).
fn reference(cell: RecurrentCell, s: &Setup, masked: bool, back: bool) -> (Tensor, Tensor, Tensor) {
    let mut h = s.h0.clone();
    let mut c = s.c0.clone();
    let mut prev_out = Tensor::zeros([B, U]).to_dtype(DType::F64);
    let mut outs = Vec::new();
    for step in 0..T {
        let t = if back { T - 1 - step } else { step };
        let xt = s.x.narrow(1, t, 1).squeeze(1);
        let hp = h.mul(&s.rec);
        let (h_new, c_new) = match cell {
            RecurrentCell::SimpleRnn => (xt.matmul(&s.w).add(&hp.matmul(&s.u)).add(&s.bias).tanh(), c.clone()),
            RecurrentCell::Lstm { peephole } => {
                let z = xt.matmul(&s.w).add(&hp.matmul(&s.u)).add(&s.bias);
                let p = |k: usize| s.peep.narrow(0, k, 1).squeeze(0);
                let (mut zi, mut zf) = (gate(&z, 0), gate(&z, 1));
                if peephole {
                    zi = zi.add(&p(0).mul(&c));
                    zf = zf.add(&p(1).mul(&c));
                }
                let cn = zf.sigmoid().mul(&c).add(&zi.sigmoid().mul(&gate(&z, 2).tanh()));
                let mut zo = gate(&z, 3);
                if peephole {
                    zo = zo.add(&p(2).mul(&cn));
                }
                (zo.sigmoid().mul(&cn.tanh()), cn)
            }
            RecurrentCell::Gru { reset_after } => {
                let bin = if reset_after { s.bias.narrow(0, 0, 1).squeeze(0) } else { s.bias.clone() };
                let xz = xt.matmul(&s.w).add(&bin);
                let hh = if reset_after {
                    let rz = hp.matmul(&s.u).add(&s.bias.narrow(0, 1, 1).squeeze(0));
                    let z = gate(&xz, 0).add(&gate(&rz, 0)).sigmoid();
                    let r = gate(&xz, 1).add(&gate(&rz, 1)).sigmoid();
                    let cand = gate(&xz, 2).add(&r.mul(&gate(&rz, 2))).tanh();
                    (z, cand)
                } else {
                    let rz = hp.matmul(&s.u.narrow(1, 0, 2 * U));
                    let z = gate(&xz, 0).add(&gate(&rz, 0)).sigmoid();
                    let r = gate(&xz, 1).add(&gate(&rz, 1)).sigmoid();
                    let cand = gate(&xz, 2).add(&r.mul(&hp).matmul(&s.u.narrow(1, 2 * U, U))).tanh();
                    (z, cand)
                };
                let (z, cand) = hh;
                (z.mul(&h).add(&z.neg().add_scalar(1.0).mul(&cand)), c.clone())
            }
        };
        let keep = if masked { s.mask.narrow(1, t, 1) } else { Tensor::ones([B, 1]).to_dtype(DType::F64) };
        let drop = keep.neg().add_scalar(1.0);
        h = keep.mul(&h_new).add(&drop.mul(&h));
        c = keep.mul(&c_new).add(&drop.mul(&c));
        prev_out = keep.mul(&h_new).add(&drop.mul(&prev_out));
        outs.push(prev_out.clone());
    }
    let refs: Vec<&Tensor> = outs.iter().collect();
    (Tensor::stack(&refs, 1), h, c)
}

fn close(a: &Tensor, b: &Tensor, what: &str) {
    assert_eq!(a.dims(), b.dims(), "{what}: shapes");
    let worst = a.to_vec_f64().iter().zip(b.to_vec_f64()).map(|(p, q)| (p - q).abs()).fold(0.0, f64::max);
    assert!(worst < 1e-12, "{what}: differs from the equations by {worst}");
}

#[test]
fn every_cell_matches_its_equations() {
    let cells = [
        RecurrentCell::SimpleRnn,
        RecurrentCell::Lstm { peephole: false },
        RecurrentCell::Lstm { peephole: true },
        RecurrentCell::Gru { reset_after: true },
        RecurrentCell::Gru { reset_after: false },
    ];
    for cell in cells {
        let s = setup(cell);
        for (masked, back) in [(false, false), (true, false), (true, true)] {
            let lstm = cell.states() == 2;
            let st = if lstm { vec![s.h0.clone(), s.c0.clone()] } else { vec![s.h0.clone()] };
            let inp = RecurrentInputs {
                bias: Some(&s.bias),
                peephole: (cell == RecurrentCell::Lstm { peephole: true }).then_some(&s.peep),
                initial_state: &st,
                mask: masked.then_some(&s.mask),
                recurrent_mask: Some(&s.rec),
            };
            let what = format!("{cell:?} masked={masked} go_backwards={back}");
            let (ys, h, c) = reference(cell, &s, masked, back);
            for seq in [true, false] {
                let o = RecurrentOpts { return_sequences: seq, go_backwards: back, ..RecurrentOpts::new(cell) };
                let out = s.x.recurrent(&s.w, &s.u, inp, o);
                let want_y = if seq { ys.clone() } else { ys.narrow(1, T - 1, 1).squeeze(1) };
                close(&out[0], &want_y, &format!("{what} output (sequences={seq})"));
                close(&out[1], &h, &format!("{what} h"));
                if lstm {
                    close(&out[2], &c, &format!("{what} c"));
                }
            }
        }
    }
}

#[test]
fn an_unused_output_and_no_initial_state_are_fine() {
    // Only h reaches the loss: the output's and c's gradients are absent, not zero tensors.
    let cell = RecurrentCell::Lstm { peephole: false };
    let s = setup(cell);
    let x = s.x.with_grad();
    let w = s.w.with_grad();
    let out = x.recurrent(&w, &s.u, RecurrentInputs::default(), RecurrentOpts::new(cell));
    let g = out[1].sum_all().backward();
    assert_eq!(g.get(&x).unwrap().dims(), [B, T, F]);
    assert_eq!(g.get(&w).unwrap().dims(), [F, 4 * U]);
    assert!(g.get(&s.u).is_none(), "the recurrent kernel does not require grad here");
}

/// Sequences of a batch are independent: a batch large enough for the time loop to be split
/// across threads (one task per chunk of sequences) gives each sequence's outputs and input
/// gradient as that sequence alone (which runs unsplit), and the weight gradients as their sum.
#[test]
fn a_split_batch_equals_its_sequences_one_by_one() {
    // Large enough that both passes split the batch across two threads (see `batch_chunks`).
    let (b, t, f, u) = (6, 16, 5, 96);
    for cell in [
        RecurrentCell::Lstm { peephole: true },
        RecurrentCell::Gru { reset_after: true },
        RecurrentCell::Gru { reset_after: false },
    ] {
        let g = cell.gates();
        let x = rn(&[b, t, f], 11, 1.0);
        let w = rn(&[f, g * u], 12, 0.3).with_grad();
        let uu = rn(&[u, g * u], 13, 0.1).with_grad();
        let peep = rn(&[3, u], 14, 0.3).with_grad();
        let peephole = (cell == RecurrentCell::Lstm { peephole: true }).then_some(&peep);
        let mask: Vec<f64> = (0..b * t).map(|i| if i % 7 == 3 { 0.0 } else { 1.0 }).collect();
        let mask = Tensor::from_vec_f64(mask, [b, t]);
        let rec: Vec<f64> = (0..b * u).map(|i| if i % 5 == 0 { 0.0 } else { 1.25 }).collect();
        let rec = Tensor::from_vec_f64(rec, [b, u]);
        let o = RecurrentOpts { return_sequences: true, ..RecurrentOpts::new(cell) };
        let run = |x: &Tensor, m: &Tensor, r: &Tensor| {
            let inp = RecurrentInputs { peephole, mask: Some(m), recurrent_mask: Some(r), ..Default::default() };
            x.recurrent(&w, &uu, inp, o)
        };
        let xg = x.with_grad();
        let whole = run(&xg, &mask, &rec);
        let grads = whole[0].square().sum_all().backward();
        let mut gw_sum = Tensor::zeros([f, g * u]).to_dtype(DType::F64);
        for i in 0..b {
            let xi = x.narrow(0, i, 1).with_grad();
            let one = run(&xi, &mask.narrow(0, i, 1), &rec.narrow(0, i, 1));
            close(&one[0], &whole[0].narrow(0, i, 1), &format!("{cell:?} sequence {i} outputs"));
            let gi = one[0].square().sum_all().backward();
            close(gi.get(&xi).unwrap(), &grads.get(&xg).unwrap().narrow(0, i, 1), &format!("{cell:?} sequence {i} dx"));
            gw_sum = gw_sum.add(gi.get(&w).unwrap());
        }
        close(&gw_sum, grads.get(&w).unwrap(), &format!("{cell:?} dW"));
    }
}

/// `recurrent_embedded` is the embedding lookup followed by `recurrent`, outputs and gradients
/// (table, kernels, bias) alike, with and without `go_backwards`.
#[test]
fn the_embedded_op_equals_lookup_then_recurrent() {
    let (b, t, vocab, f, u) = (3, 6, 7, 4, 5);
    let ids_v: Vec<f64> = (0..b * t).map(|i| ((i * 5 + 2) % vocab) as f64).collect();
    let ids = Tensor::from_vec_f64(ids_v.clone(), [b, t]);
    let idx: Vec<usize> = ids_v.iter().map(|&v| v as usize).collect();
    for (cell, back) in
        [(RecurrentCell::Lstm { peephole: false }, false), (RecurrentCell::Gru { reset_after: true }, true)]
    {
        let g = cell.gates();
        let bias_shape: Vec<usize> =
            if matches!(cell, RecurrentCell::Gru { .. }) { vec![2, g * u] } else { vec![g * u] };
        let params =
            [rn(&[vocab, f], 21, 1.0), rn(&[f, g * u], 22, 0.4), rn(&[u, g * u], 23, 0.4), rn(&bias_shape, 24, 0.3)];
        let o = RecurrentOpts { return_sequences: true, go_backwards: back, ..RecurrentOpts::new(cell) };
        let run = |fused: bool| {
            let p: Vec<Tensor> = params.iter().map(|t| t.with_grad()).collect();
            let inp = RecurrentInputs { bias: Some(&p[3]), ..Default::default() };
            let y = if fused {
                Tensor::recurrent_embedded(&p[0], &ids, &p[1], &p[2], inp, o).swap_remove(0)
            } else {
                p[0].index_select(0, &idx).reshape([b, t, f]).recurrent(&p[1], &p[2], inp, o).swap_remove(0)
            };
            let g = y.square().sum_all().backward();
            let grads: Vec<Tensor> = p.iter().map(|t| g.get(t).unwrap().clone()).collect();
            (y, grads)
        };
        let ((y1, g1), (y2, g2)) = (run(true), run(false));
        close(&y1, &y2, &format!("{cell:?} outputs"));
        for (i, (a, c)) in g1.iter().zip(&g2).enumerate() {
            close(a, c, &format!("{cell:?} gradient of input {i}"));
        }
    }
}
