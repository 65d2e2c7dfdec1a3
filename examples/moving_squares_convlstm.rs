//! Next-frame prediction with ConvLSTM2D on generated moving squares, after the Keras example the
//! notes point to ("conv_lstm": squares of random size drifting across a canvas; the model reads
//! frames `0..T-1` and predicts frames `1..T`). Smaller than Keras' (16x16 frames instead of
//! 40x40, two ConvLSTM2D layers of 16 filters instead of four of 40) so that it trains on two
//! cores in a minute or two:
//!
//! `ConvLSTM2D(16, 3, same, return_sequences) -> ConvLSTM2D(16, 3, same, return_sequences) ->
//! TimeDistributed(Conv2D(1, 3, same, sigmoid))`, binary cross-entropy, Adam. (Keras puts a
//! BatchNormalization after each ConvLSTM2D; on runs this short its moving statistics are still
//! far from the data's, and in inference it made the model worse than persistence: 1.16x its MSE
//! after 10 epochs on 400 sequences, against 0.59x without it after 6.)
//!
//! Scored on held-out sequences by the pixel MSE of the predicted next frames (after the first
//! two, which carry no motion yet), against persistence, the forecast "the next frame is this
//! one". A model that learned the motion beats it; one that blurs every frame does not.
//!
//! Figures: BENCHMARKS.md ("Recurrent networks"), from
//! `cargo run --release --example moving_squares_convlstm` (defaults: 1,200 training sequences,
//! 12 epochs). The test trains 400 sequences for 6 epochs and asserts the model's MSE is below
//! 0.8 times persistence's.
//!
//! Run: `cargo run --release --example moving_squares_convlstm [SEQUENCES] [EPOCHS]`

use sinew::prelude::*;

/// Frames per sequence and frame side.
const T: usize = 10;
const SIDE: usize = 16;

/// `n` sequences of `T + 1` frames: 1 to 3 squares of side 2 or 3 drifting by up to one pixel
/// per frame in each direction, on a canvas twice the frame's size (so squares enter and leave),
/// of which the centre is shown. Returns the frames `[n, T + 1, SIDE, SIDE, 1]` with 0/1 pixels.
fn moving_squares(n: usize, rng: &mut Rng) -> Tensor {
    let mut v = vec![0f32; n * (T + 1) * SIDE * SIDE];
    let pick = |rng: &mut Rng, k: usize| (rng.next_f64() * k as f64) as usize;
    for s in 0..n {
        for _ in 0..1 + pick(rng, 3) {
            let size = 2 + pick(rng, 2) as i64;
            // Start inside the shown frame, move in one of the 8 directions (or stay).
            let (mut r, mut c) =
                ((SIDE / 2) as i64 + pick(rng, SIDE) as i64, (SIDE / 2) as i64 + pick(rng, SIDE) as i64);
            let (dr, dc) = (pick(rng, 3) as i64 - 1, pick(rng, 3) as i64 - 1);
            for t in 0..=T {
                for y in r..r + size {
                    for x in c..c + size {
                        let (fy, fx) = (y - (SIDE / 2) as i64, x - (SIDE / 2) as i64);
                        if (0..SIDE as i64).contains(&fy) && (0..SIDE as i64).contains(&fx) {
                            v[((s * (T + 1) + t) * SIDE + fy as usize) * SIDE + fx as usize] = 1.0;
                        }
                    }
                }
                r += dr;
                c += dc;
            }
        }
    }
    Tensor::from_vec(v, [n, T + 1, SIDE, SIDE, 1])
}

/// Inputs (frames `0..T`) and targets (frames `1..T+1`).
fn split(frames: &Tensor) -> (Tensor, Tensor) {
    (frames.narrow(1, 0, T), frames.narrow(1, 1, T))
}

/// Pixel MSE between `pred` and `truth` over frames 2.. (the first two carry no motion yet).
fn mse_from_frame_2(pred: &Tensor, truth: &Tensor) -> f64 {
    let (p, q) = (pred.narrow(1, 2, T - 2), truth.narrow(1, 2, T - 2));
    p.sub(&q).square().mean_all().item()
}

fn model() -> Result<Sequential, Box<dyn std::error::Error>> {
    let mut m = Sequential::new();
    m.seed(3);
    m.input(&[T, SIDE, SIDE, 1]);
    m.add(ConvLSTM2D::new(16, &[3]).padding(Padding::Same).return_sequences(true));
    m.add(ConvLSTM2D::new(16, &[3]).padding(Padding::Same).return_sequences(true));
    m.add(TimeDistributed::new(Conv2D::new(1, &[3]).padding(Padding::Same).activation(Activation::Sigmoid)));
    m.compile(Optimizer::adam(0.003), "binary_crossentropy", &[])?;
    Ok(m)
}

/// Trains on `n` sequences for `epochs`; returns the model's and persistence's MSE on 200
/// held-out sequences.
fn run(n: usize, epochs: usize, verbose: u8) -> Result<(f64, f64), Box<dyn std::error::Error>> {
    let mut rng = Rng::seed(11);
    let (x, y) = split(&moving_squares(n, &mut rng));
    let (xt, yt) = split(&moving_squares(200, &mut rng));
    let mut m = model()?;
    m.fit(&x, &y, Fit::new().epochs(epochs).batch_size(16).verbose(verbose))?;
    let pred = m.predict(&xt, 32)?;
    Ok((mse_from_frame_2(&pred, &yt), mse_from_frame_2(&xt, &yt)))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args().nth(1).map(|s| s.parse()).transpose()?.unwrap_or(1200);
    let epochs: usize = std::env::args().nth(2).map(|s| s.parse()).transpose()?.unwrap_or(12);
    let t = std::time::Instant::now();
    let (model, persistence) = run(n, epochs, 1)?;
    println!(
        "{n} sequences, {epochs} epochs ({:.0} s): next-frame MSE {model:.5}, persistence {persistence:.5} ({:.2}x)",
        t.elapsed().as_secs_f64(),
        model / persistence
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    /// A shortened run (400 sequences, 6 epochs) already predicts the motion: its next-frame
    /// MSE is below 0.8 times persistence's.
    #[test]
    fn convlstm_learns_the_motion_of_squares() {
        let (model, persistence) = super::run(400, 6, 0).unwrap();
        assert!(model < 0.8 * persistence, "model MSE {model:.5}, persistence {persistence:.5}");
    }
}
