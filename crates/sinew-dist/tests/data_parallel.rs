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

fn mlp(batch_norm: bool) -> Model {
    let mut m = Sequential::new();
    m.seed(3).input(&[4]);
    m.add(Dense::new(16).activation(Activation::Relu));
    if batch_norm {
        m.add(BatchNormalization::new());
    }
    m.add(Dense::new(1).activation(Activation::Sigmoid));
    m.compile(Optimizer::adam(0.01), "binary_crossentropy", &["accuracy"]).unwrap();
    m
}

/// Trains `mlp` on `ranks` thread ranks; returns each rank's final weights, loss history and
/// accuracy history.
type Run = (Vec<Vec<f32>>, Vec<f64>, Vec<f64>);
fn on_ranks(ranks: usize, batch_norm: bool, x: &Tensor, y: &Tensor, epochs: usize) -> Vec<Run> {
    let group = ThreadGroup::new(ranks);
    std::thread::scope(|s| {
        let handles: Vec<_> = group
            .into_iter()
            .map(|comm| {
                s.spawn(move || {
                    let mut m = mlp(batch_norm);
                    let fit = Fit::new().epochs(epochs).batch_size(32).verbose(0);
                    let h = DataParallel::new(comm).fit(&mut m, x, y, fit).unwrap();
                    let w = m.get_weights().iter().map(Tensor::to_vec_f32).collect();
                    (w, h.get("loss").unwrap().to_vec(), h.get("accuracy").unwrap().to_vec())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

#[test]
fn shards_cover_the_batch_once_and_leave_no_rank_a_step_on_zero_rows() {
    for (n, size) in [(32, 2), (33, 4), (1, 2), (7, 3), (5, 8)] {
        let shards: Vec<(usize, usize)> = (0..size).map(|r| shard(n, r, size)).collect();
        assert_eq!(shards.iter().map(|s| s.1).sum::<usize>(), n);
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
    let mut single = mlp(false);
    let h = single.fit(&x, &y, Fit::new().epochs(3).batch_size(32).verbose(0)).unwrap();
    let want: Vec<Vec<f32>> = single.get_weights().iter().map(Tensor::to_vec_f32).collect();
    let ranks = on_ranks(2, false, &x, &y, 3);
    assert_eq!(ranks[0].0, ranks[1].0, "both ranks hold the same model, bit for bit");
    assert_eq!(ranks[0].1, ranks[1].1, "and report the same losses");
    let mut worst = 0.0f32;
    for (a, b) in ranks[0].0.iter().flatten().zip(want.iter().flatten()) {
        worst = worst.max((a - b).abs());
    }
    eprintln!("largest weight difference, 2 ranks against 1 process: {worst:e}");
    assert!(worst < 1e-6, "largest weight difference {worst}");
    let single_loss = h.get("loss").unwrap();
    for (a, b) in ranks[0].1.iter().zip(single_loss) {
        assert!((a - b).abs() < 1e-5, "epoch losses {:?} against {single_loss:?}", ranks[0].1);
    }
    // The training accuracy is the global batch's, as one process reports it.
    assert_eq!(ranks[0].2, h.get("accuracy").unwrap(), "training accuracy per epoch");
}

/// 33 rows in batches of 32: the last batch has 1 row for 2 ranks, so rank 1 has none. With
/// BatchNormalization (whose moving statistics are averaged over the ranks by their rows), no
/// weight and no moving statistic becomes NaN, and both ranks keep the same model.
#[test]
fn a_last_batch_with_fewer_rows_than_ranks_leaves_no_nan() {
    let (x, y) = blobs(33, 2);
    let ranks = on_ranks(2, true, &x, &y, 4);
    for (w, losses, _) in &ranks {
        assert!(w.iter().flatten().all(|v| v.is_finite()), "a weight or moving statistic is not finite");
        assert!(losses.iter().all(|l| l.is_finite()), "{losses:?}");
    }
    assert_eq!(ranks[0].0, ranks[1].0);
    // The moving statistics (BatchNormalization's last two weights) moved from their start.
    let start: Vec<Vec<f32>> = mlp(true).get_weights().iter().map(Tensor::to_vec_f32).collect();
    assert_ne!(start[4], ranks[0].0[4], "moving mean");
    assert_ne!(start[5], ranks[0].0[5], "moving variance");
}

/// A broadcast gives rank 0's weights to ranks that built theirs from another seed.
#[test]
fn rank_zeros_weights_are_broadcast_first() {
    let group = ThreadGroup::new(2);
    let weights: Vec<Vec<Vec<f32>>> = std::thread::scope(|s| {
        let hs: Vec<_> = group
            .into_iter()
            .map(|comm| {
                s.spawn(move || {
                    let mut m = Sequential::new();
                    m.seed(10 + comm.rank() as u64).input(&[4]);
                    m.add(Dense::new(3));
                    DataParallel::new(comm).broadcast_weights(&mut m).unwrap();
                    m.get_weights().iter().map(Tensor::to_vec_f32).collect()
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(weights[0], weights[1]);
}
