//! `mpirun -np N sinew-dist-check cnn|cnn-bn|cnn-syncbn|ae|mlp|mlp-bn|mlp-syncbn STEPS [overlap]`:
//! the notes' MNIST CNN (`cnn-bn`, `cnn-syncbn`: with a per-rank or synchronised
//! BatchNormalization after the convolution), the
//! dense autoencoder (sinew-bench's b5) on MNIST's first 64 × STEPS images, or an MLP on the
//! breast-cancer table (`mlp-bn`, `mlp-syncbn`: with per-rank or synchronised
//! BatchNormalization, on one row more than STEPS full batches, so the last batch has fewer
//! rows than ranks), trained data-parallel for STEPS
//! steps of a global batch of 64 from seed 1; rank 0 prints every weight as one JSON line, and
//! each rank checks that it holds rank 0's model bit for bit, with the fit's seconds and
//! samples per second. Run with `-np 1` for the one-process reference. `overlap` sums the
//! gradients beside the backward pass instead of after it.

use sinew_data::{find_dataset, load_mnist, load_sklearn_csv, to_categorical};
use sinew_dist::{Communicator, DataParallel, Mpi};
use sinew_nn::{Activation, BatchNormalization, Conv2D, Dense, Flatten, MaxPooling2D};
use sinew_optim::Optimizer;
use sinew_tensor::Tensor;
use sinew_train::{Fit, Sequential};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: sinew-dist-check cnn|cnn-bn|cnn-syncbn|ae|mlp|mlp-bn|mlp-syncbn STEPS [overlap]";
    let (which, steps, overlap) = match &args[1..] {
        [w, s] => (w.as_str(), s.parse::<usize>()?, false),
        [w, s, q] if q == "overlap" => (w.as_str(), s.parse::<usize>()?, true),
        _ => return Err(usage.into()),
    };
    let mpi = Mpi::init()?;
    let comm = mpi.comm();
    let batch = 64;
    let mut m = Sequential::new();
    m.seed(1);
    let (x, y) = match which {
        "cnn" | "cnn-bn" | "cnn-syncbn" => {
            let d = load_mnist(&find_dataset("mnist")?)?;
            let n = batch * steps;
            let x = d.x_train.narrow(0, 0, n).reshape([n, 28, 28, 1]).mul_scalar(1.0 / 255.0);
            let y = to_categorical(&d.y_train.narrow(0, 0, n), 10)?;
            m.input(&[28, 28, 1]);
            m.add(Conv2D::new(32, [4, 4]).activation(Activation::Relu));
            if which != "cnn" {
                m.add(BatchNormalization::new().synchronized(which == "cnn-syncbn"));
            }
            m.add(MaxPooling2D::new())
                .add(Flatten::new())
                .add(Dense::new(128).activation(Activation::Relu))
                .add(Dense::new(10).activation(Activation::Softmax));
            m.compile(Optimizer::adam(1e-3), "categorical_crossentropy", &[])?;
            (x, y)
        }
        "ae" => {
            // The notes' dense autoencoder (sinew-bench's b5): 784-400-200-100-50-25 and back,
            // SGD 1.5, binary cross-entropy, on MNIST's images as their own targets.
            let d = load_mnist(&find_dataset("mnist")?)?;
            let n = batch * steps;
            let x = d.x_train.narrow(0, 0, n).reshape([n, 784]).mul_scalar(1.0 / 255.0);
            m.input(&[784]);
            for units in [400, 200, 100, 50, 25, 50, 100, 200, 400] {
                m.add(Dense::new(units).activation(Activation::Relu));
            }
            m.add(Dense::new(784).activation(Activation::Sigmoid));
            m.compile(Optimizer::sgd(1.5), "binary_crossentropy", &[])?;
            (x.clone(), x)
        }
        "mlp" | "mlp-bn" | "mlp-syncbn" => {
            let (x, y) = load_sklearn_csv(&find_dataset("sklearn-small")?.join("breast_cancer.csv"))?;
            // With BatchNormalization, one row past the last full batch: the last batch has
            // fewer rows than ranks.
            let n = if which == "mlp" { batch * steps } else { batch * steps + 1 }.min(x.dims()[0]);
            let x = x.narrow(0, 0, n);
            // Standardised with the rows' own statistics, as every rank computes them alike.
            let mean = x.mean(&[0], true);
            let std = x.sub(&mean).square().mean(&[0], true).sqrt().add_scalar(1e-6);
            let x = x.sub(&mean).div(&std);
            let y = y.narrow(0, 0, n).reshape([n, 1]);
            m.input(&[30]);
            m.add(Dense::new(32).activation(Activation::Relu));
            match which {
                "mlp-bn" => {
                    m.add(BatchNormalization::new());
                }
                "mlp-syncbn" => {
                    m.add(BatchNormalization::new().synchronized(true));
                }
                _ => {}
            }
            m.add(Dense::new(1).activation(Activation::Sigmoid));
            m.compile(Optimizer::adam(1e-2), "binary_crossentropy", &[])?;
            (x, y)
        }
        other => {
            return Err(
                format!("unknown model {other:?}: cnn, cnn-bn, cnn-syncbn, ae, mlp, mlp-bn or mlp-syncbn").into()
            )
        }
    };
    let fit = Fit::new().epochs(1).batch_size(batch).verbose(0);
    let t = std::time::Instant::now();
    let h = DataParallel::new(comm.clone()).overlap(overlap).fit(&mut m, &x, &y, fit)?;
    let seconds = t.elapsed().as_secs_f64();
    let weights: Vec<Vec<f32>> = m.get_weights().iter().map(Tensor::to_vec_f32).collect();
    // Every rank must hold rank 0's model: the sum of its bits against rank 0's.
    let mut flat: Vec<f64> = weights.iter().flatten().map(|&v| f64::from(v)).collect();
    let mine = flat.clone();
    comm.broadcast(&mut flat);
    if flat != mine {
        return Err(format!("rank {} holds another model than rank 0", comm.rank()).into());
    }
    // The gradient exchange alone: 20 all-reduces of the model's weight count in f32, the
    // measured cost per step behind the cost model in BENCHMARKS.md.
    let mut grads = vec![1f32; flat.len()];
    let t = std::time::Instant::now();
    for _ in 0..20 {
        comm.all_reduce_sum_f32(&mut grads);
    }
    let allreduce_ms = t.elapsed().as_secs_f64() * 1e3 / 20.0;
    if comm.rank() == 0 {
        let loss = h.get("loss").and_then(|l| l.last().copied()).unwrap_or(f64::NAN);
        let images_per_second = x.dims()[0] as f64 / seconds;
        println!(
            "{}",
            serde_json::json!({"ranks": comm.size(), "concurrent": comm.concurrent(), "overlap": overlap, "loss": loss, "fit_seconds": seconds,
                "samples_per_second": images_per_second, "steps": steps, "gradient_bytes": 4 * flat.len(),
                "allreduce_ms": allreduce_ms, "weights": weights})
        );
    }
    Ok(())
}
