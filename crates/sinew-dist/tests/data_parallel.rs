//! Data-parallel fit on ranks in threads (`ThreadGroup`): the same arithmetic as over MPI,
//! without MPI. Two ranks train to the weights one process reaches with the same global batch
//! and seed, and a last batch with fewer rows than ranks leaves no NaN anywhere.

use sinew_dist::{shard, Communicator, DataParallel, ThreadGroup};
use sinew_nn::{Activation, BatchNormalization, Dense};
use sinew_optim::Optimizer;
use sinew_tensor::{Rng, Tensor};
use sinew_train::{Fit, Model, Sequential};

/// Two Gaussian blobs in 4 dimensions, labels 0/1 as `[n, 1]`.
fn blobs(n: usize, seed: u64) -> (Tensor, Tensor) {
    let mut rng = Rng::seed(seed);
    let y = Tensor::bernoulli([n, 1], 0.5, &mut rng);
    let x = Tensor::rand_normal([n, 4], 0.0, 1.0, &mut rng).add(&y.affine(3.0, -1.5));
    (x, y)
}

/// The tabular MLP: plain, with per-rank BatchNormalization, or with synchronised statistics.
#[derive(Clone, Copy, PartialEq)]
enum Norm {
    None,
    PerRank,
    Synchronized,
}

fn mlp(norm: Norm) -> Model {
    let mut m = Sequential::new();
    m.seed(3).input(&[4]);
    m.add(Dense::new(16).activation(Activation::Relu));
    match norm {
        Norm::None => {}
        Norm::PerRank => {
            m.add(BatchNormalization::new());
        }
        Norm::Synchronized => {
            m.add(BatchNormalization::new().synchronized(true));
        }
    }
    m.add(Dense::new(1).activation(Activation::Sigmoid));
    m.compile(Optimizer::adam(0.01), "binary_crossentropy", &["accuracy"]).unwrap();
    m
}

fn weights(m: &Model) -> Vec<Vec<f32>> {
    m.get_weights().iter().map(Tensor::to_vec_f32).collect()
}

/// The largest difference between two models' weights.
fn largest_difference(a: &[Vec<f32>], b: &[Vec<f32>]) -> f32 {
    a.iter().flatten().zip(b.iter().flatten()).map(|(p, q)| (p - q).abs()).fold(0.0, f32::max)
}

/// Trains `mlp` on `ranks` thread ranks; returns each rank's final weights, loss history and
/// accuracy history.
type Run = (Vec<Vec<f32>>, Vec<f64>, Vec<f64>);
fn on_ranks(ranks: usize, norm: Norm, x: &Tensor, y: &Tensor, epochs: usize) -> Vec<Run> {
    on_ranks_with(ranks, norm, x, y, epochs, false)
}

/// `on_ranks`, with the gradient exchange overlapping the backward pass or after it.
fn on_ranks_with(ranks: usize, norm: Norm, x: &Tensor, y: &Tensor, epochs: usize, overlap: bool) -> Vec<Run> {
    ThreadGroup::run(ranks, |comm| {
        let mut m = mlp(norm);
        let fit = Fit::new().epochs(epochs).batch_size(32).verbose(0);
        let h = DataParallel::new(comm).overlap(overlap).fit(&mut m, x, y, fit).unwrap();
        (weights(&m), h.get("loss").unwrap().to_vec(), h.get("accuracy").unwrap().to_vec())
    })
}

#[test]
fn shards_cover_the_batch_once_and_leave_no_rank_a_step_on_zero_rows() {
    for (n, size) in [(32, 2), (33, 4), (1, 2), (7, 3), (5, 8)] {
        let shards: Vec<(usize, usize)> = (0..size).map(|r| shard(n, r, size)).collect();
        assert_eq!(shards.iter().map(|s| s.1).sum::<usize>(), n);
        if n < size {
            // Fewer rows than ranks: rank 0 runs the batch whole.
            assert_eq!(shards[0], (0, n), "{n} rows on {size} ranks: {shards:?}");
            continue;
        }
        let mut next = 0;
        for &(start, len) in shards.iter().filter(|s| s.1 > 0) {
            assert_eq!(start, next);
            next += len;
        }
        let (min, max) = (shards.iter().map(|s| s.1).min().unwrap(), shards.iter().map(|s| s.1).max().unwrap());
        assert!(max - min <= 1, "{n} rows on {size} ranks: {shards:?}");
    }
}

/// Two ranks against one process, the same global batch of 32 and seed, 3 epochs of 200 rows
/// (21 steps, the last one of 8 rows). The reduced gradient is the global batch's mean-loss
/// gradient summed in another order (each rank's partial sums, in f64, then rounded to f32),
/// so the weights agree to float rounding carried through 21 Adam steps, not bit for bit. On
/// 2026-12-07 the largest difference was 6e-8 (one f32 ulp at these magnitudes); the bound is
/// 1e-6, since Adam divides by the root of its second moment, which can amplify rounding in a
/// weight whose gradient is tiny.
#[test]
fn two_ranks_reach_the_weights_of_one_process() {
    let (x, y) = blobs(200, 1);
    let mut single = mlp(Norm::None);
    let h = single.fit(&x, &y, Fit::new().epochs(3).batch_size(32).verbose(0)).unwrap();
    let ranks = on_ranks(2, Norm::None, &x, &y, 3);
    assert_eq!(ranks[0].0, ranks[1].0, "both ranks hold the same model, bit for bit");
    assert_eq!(ranks[0].1, ranks[1].1, "and report the same losses");
    let worst = largest_difference(&ranks[0].0, &weights(&single));
    eprintln!("largest weight difference, 2 ranks against 1 process: {worst:e}");
    assert!(worst < 1e-6, "largest weight difference {worst}");
    let single_loss = h.get("loss").unwrap();
    for (a, b) in ranks[0].1.iter().zip(single_loss) {
        assert!((a - b).abs() < 1e-5, "epoch losses {:?} against {single_loss:?}", ranks[0].1);
    }
    // The training accuracy is the global batch's, as one process reports it.
    assert_eq!(ranks[0].2, h.get("accuracy").unwrap(), "training accuracy per epoch");
}

/// 33 rows in batches of 32: the last batch has 1 row for 2 ranks, so rank 0 runs it alone.
/// With BatchNormalization (whose moving statistics are averaged over the ranks by their rows), no
/// weight and no moving statistic becomes NaN, and both ranks keep the same model.
#[test]
fn a_last_batch_with_fewer_rows_than_ranks_leaves_no_nan() {
    let (x, y) = blobs(33, 2);
    let ranks = on_ranks(2, Norm::PerRank, &x, &y, 4);
    for (w, losses, _) in &ranks {
        assert!(w.iter().flatten().all(|v| v.is_finite()), "a weight or moving statistic is not finite");
        assert!(losses.iter().all(|l| l.is_finite()), "{losses:?}");
    }
    assert_eq!(ranks[0].0, ranks[1].0);
    // The moving statistics (BatchNormalization's last two weights) moved from their start.
    let start = weights(&mlp(Norm::PerRank));
    assert_ne!(start[4], ranks[0].0[4], "moving mean");
    assert_ne!(start[5], ranks[0].0[5], "moving variance");
}

/// A broadcast gives rank 0's weights to ranks that built theirs from another seed.
#[test]
fn rank_zeros_weights_are_broadcast_first() {
    let got = ThreadGroup::run(2, |comm| {
        let mut m = Sequential::new();
        m.seed(10 + comm.rank() as u64).input(&[4]);
        m.add(Dense::new(3));
        DataParallel::new(comm).broadcast_weights(&mut m).unwrap();
        weights(&m)
    });
    assert_eq!(got[0], got[1]);
}

/// Synchronised batch statistics: two ranks with `BatchNormalization::new().synchronized(true)`
/// normalise each shard with the global batch's moments, forward and backward, so they reach
/// one process's weights (moving statistics included) to float rounding, like the plain MLP
/// above (on 2026-12-07: 2.4e-7 after 4 epochs of 200 rows, the last batch of each 8 rows;
/// bound 1e-6). Per-rank statistics, the default, train a different model: each shard of 16
/// rows normalised by its own moments (6.5e-2 away after the same steps).
#[test]
fn synchronized_batch_norm_on_two_ranks_is_one_process_batch_norm() {
    let (x, y) = blobs(200, 4);
    let fit = || Fit::new().epochs(4).batch_size(32).verbose(0);
    let mut single = mlp(Norm::Synchronized);
    single.fit(&x, &y, fit()).unwrap();
    let mut plain = mlp(Norm::PerRank);
    plain.fit(&x, &y, fit()).unwrap();
    assert_eq!(weights(&single), weights(&plain), "on one process, synchronized changes nothing");

    let synced = on_ranks(2, Norm::Synchronized, &x, &y, 4);
    assert_eq!(synced[0].0, synced[1].0, "both ranks hold the same model, bit for bit");
    let worst = largest_difference(&synced[0].0, &weights(&single));
    eprintln!("synchronized: largest weight difference, 2 ranks against 1 process: {worst:e}");
    assert!(worst < 1e-6, "synchronized BatchNormalization: largest weight difference {worst}");

    let per_rank = on_ranks(2, Norm::PerRank, &x, &y, 4);
    let apart = largest_difference(&per_rank[0].0, &weights(&single));
    eprintln!("per-rank statistics: largest weight difference, 2 ranks against 1 process: {apart:e}");
    assert!(apart > 1e-4, "per-rank statistics should not match one process: {apart}");
}

/// Summing the gradients while the backward pass goes on (on a thread of each rank's own) or
/// after it (the default) gives the same model, bit for bit: the same buckets, summed in the same
/// order. With synchronised BatchNormalization the step's own collectives (the batch moments)
/// run beside the exchange thread's, each on its own communicator.
#[test]
fn overlapped_and_sequential_exchanges_give_the_same_model() {
    let (x, y) = blobs(200, 5);
    for norm in [Norm::None, Norm::Synchronized] {
        let overlapped = on_ranks_with(2, norm, &x, &y, 2, true);
        let sequential = on_ranks_with(2, norm, &x, &y, 2, false);
        assert_eq!(overlapped[0].0, sequential[0].0);
        assert_eq!(overlapped[0].1, sequential[0].1);
    }
}

/// A model larger than one bucket (a 784-400-784 autoencoder: 628,384 weights in two buckets,
/// one per layer, each over the 262,144-value minimum), its buckets summed while the backward
/// pass goes on, still reaches one process's weights to float rounding.
#[test]
fn a_model_of_several_buckets_reaches_one_process() {
    let x = Tensor::rand_uniform([64, 784], 0.0, 1.0, &mut Rng::seed(6));
    let build = || {
        let mut m = Sequential::new();
        m.seed(2).input(&[784]);
        m.add(Dense::new(400).activation(Activation::Relu));
        m.add(Dense::new(784).activation(Activation::Sigmoid));
        m.compile(Optimizer::sgd(0.5), "binary_crossentropy", &[]).unwrap();
        m
    };
    let fit = || Fit::new().epochs(2).batch_size(32).verbose(0);
    let mut single = build();
    single.fit(&x, &x, fit()).unwrap();
    let ranks = ThreadGroup::run(2, |comm| {
        let mut m = build();
        DataParallel::new(comm).overlap(true).fit(&mut m, &x, &x, fit()).unwrap();
        weights(&m)
    });
    assert_eq!(ranks[0], ranks[1]);
    let worst = largest_difference(&ranks[0], &weights(&single));
    eprintln!("several buckets: largest weight difference {worst:e}");
    assert!(worst < 1e-6, "{worst}");
}

/// Unequal shares with synchronised statistics: a global batch of 33 gives the ranks 17 and 16
/// rows in every step, so each rank's gradients through the summed moments are weighted by a
/// different share. Two ranks still reach one process's weights to float rounding (on
/// 2026-12-07: 1.2e-7; bound 1e-6).
#[test]
fn synchronized_batch_norm_with_unequal_shares_is_one_process_batch_norm() {
    let (x, y) = blobs(198, 7);
    let fit = || Fit::new().epochs(3).batch_size(33).verbose(0);
    let mut single = mlp(Norm::Synchronized);
    single.fit(&x, &y, fit()).unwrap();
    let ranks = ThreadGroup::run(2, |comm| {
        let mut m = mlp(Norm::Synchronized);
        DataParallel::new(comm).fit(&mut m, &x, &y, fit()).unwrap();
        weights(&m)
    });
    assert_eq!(ranks[0], ranks[1]);
    let worst = largest_difference(&ranks[0], &weights(&single));
    eprintln!("synchronized, shares 17/33 and 16/33: largest weight difference {worst:e}");
    assert!(worst < 1e-6, "{worst}");
}

/// A Sequential model without an input shape (built at its first batch) is refused with a
/// message, not trained from different weights on each rank.
#[test]
fn a_model_without_an_input_shape_is_refused() {
    let (x, y) = blobs(64, 8);
    let errors = ThreadGroup::run(2, |comm| {
        let mut m = Sequential::new();
        m.add(Dense::new(1).activation(Activation::Sigmoid));
        m.compile(Optimizer::sgd(0.1), "binary_crossentropy", &[]).unwrap();
        DataParallel::new(comm).fit(&mut m, &x, &y, Fit::new().verbose(0)).unwrap_err().to_string()
    });
    assert!(errors[0].contains("the model has no input shape yet"), "{}", errors[0]);
}

/// A rank that panics breaks its group: the rank waiting for it in a sum panics too, and
/// `ThreadGroup::run` ends with a panic instead of hanging.
#[test]
fn a_panicking_rank_ends_the_group_instead_of_hanging_it() {
    let outcome = std::panic::catch_unwind(|| {
        ThreadGroup::run(2, |comm| {
            if comm.rank() == 1 {
                panic!("rank 1 fails before its first sum");
            }
            let mut buf = [1.0];
            comm.all_reduce_sum(&mut buf);
            buf[0]
        })
    });
    assert!(outcome.is_err());
}
