//! `sinew-bench claims`: reruns every accuracy (and forecast, loss) figure that `README.md`,
//! `BENCHMARKS.md` and the examples' headers state, at full length, through the examples
//! themselves, and prints claimed against measured with the seeds and the wall time. Exits 1
//! when a figure falls outside its band (the spread its seeds showed when it was stated), 2 when
//! an example fails to run.
//!
//! Usage: `sinew-bench claims [NAME...] [--list]` (names filter by substring). The examples are
//! built first (`cargo build --release -p sinew --examples`); the whole list takes about 30
//! minutes on the project's 2-core machine.

use std::process::Command;
use std::time::Instant;

/// Which way a figure is good.
#[derive(Clone, Copy, PartialEq)]
enum Better {
    Higher,
    Lower,
}

/// One stated figure and how to rerun it.
struct Claim {
    name: &'static str,
    /// Where the figure is stated.
    source: &'static str,
    example: &'static str,
    args: &'static [&'static str],
    seeds: &'static str,
    /// The text the example prints right before the figure (its last occurrence counts).
    marker: &'static str,
    claimed: f64,
    better: Better,
    /// How far the measured figure may fall short of the claim (the seed band when it was
    /// stated): absolute for accuracies, relative (a fraction) for errors and losses.
    band: f64,
}

const CLAIMS: &[Claim] = &[
    Claim {
        name: "mnist_mlp accuracy",
        source: "examples/mnist_mlp.rs",
        example: "mnist_mlp",
        args: &[],
        seeds: "1",
        marker: "Test accuracy:",
        claimed: 0.9850,
        better: Better::Higher,
        band: 0.003,
    },
    Claim {
        name: "mnist_cnn mean accuracy",
        source: "BENCHMARKS.md (Example accuracies)",
        example: "mnist_cnn",
        args: &[],
        seeds: "1-3",
        marker: "mean test accuracy over seeds [1, 2, 3]:",
        claimed: 0.9864,
        better: Better::Higher,
        band: 0.002,
    },
    Claim {
        name: "mnist_convnet accuracy",
        source: "BENCHMARKS.md (Example accuracies)",
        example: "mnist_convnet",
        args: &[],
        seeds: "1",
        marker: "Test accuracy:",
        claimed: 0.9923,
        better: Better::Higher,
        band: 0.0015,
    },
    Claim {
        name: "mnist_resnet accuracy",
        source: "BENCHMARKS.md (Example accuracies)",
        example: "mnist_resnet",
        args: &[],
        seeds: "1",
        marker: "Test accuracy:",
        claimed: 0.9945,
        better: Better::Higher,
        band: 0.0015,
    },
    Claim {
        name: "mnist_selu accuracy",
        source: "examples/mnist_selu.rs",
        example: "mnist_selu",
        args: &[],
        seeds: "1",
        marker: "Test accuracy:",
        claimed: 0.9732,
        better: Better::Higher,
        band: 0.003,
    },
    Claim {
        name: "digits_mlp accuracy",
        source: "examples/digits_mlp.rs",
        example: "digits_mlp",
        args: &[],
        seeds: "fixed",
        marker: "final test accuracy",
        claimed: 0.97,
        better: Better::Higher,
        band: 0.01,
    },
    Claim {
        name: "breast_cancer_ann mean accuracy",
        source: "examples/breast_cancer_ann.rs, BENCHMARKS.md",
        example: "breast_cancer_ann",
        args: &[],
        seeds: "1-5",
        marker: "mean test accuracy over seeds [1, 2, 3, 4, 5]:",
        claimed: 0.954,
        better: Better::Higher,
        band: 0.01,
    },
    Claim {
        name: "titanic mean accuracy",
        source: "examples/titanic.rs",
        example: "titanic",
        args: &[],
        seeds: "1-3",
        marker: "mean held-out accuracy over seeds [1, 2, 3]:",
        claimed: 0.823,
        better: Better::Higher,
        band: 0.011,
    },
    Claim {
        name: "adult_income accuracy",
        source: "examples/adult_income.rs",
        example: "adult_income",
        args: &[],
        seeds: "1",
        marker: "test accuracy",
        claimed: 0.856,
        better: Better::Higher,
        band: 0.004,
    },
    Claim {
        name: "diabetes_regression mean R²",
        source: "examples/diabetes_regression.rs",
        example: "diabetes_regression",
        args: &[],
        seeds: "1-3",
        marker: "mean test R² over seeds 1-3:",
        claimed: 0.398,
        better: Better::Higher,
        band: 0.01,
    },
    Claim {
        name: "rsccasn recipe mean forecast RMSE",
        source: "BENCHMARKS.md (recurrent networks)",
        example: "rsccasn_lstm",
        args: &["5"],
        seeds: "0-4",
        marker: "the notes' recipe: forecast RMSE over 5 seed(s): mean",
        claimed: 4776.0,
        better: Better::Lower,
        band: 0.05,
    },
    Claim {
        name: "rsccasn variant mean forecast RMSE",
        source: "BENCHMARKS.md (recurrent networks), examples/rsccasn_lstm.rs",
        example: "rsccasn_lstm",
        args: &["5"],
        seeds: "0-4",
        marker: "seasonal differencing: forecast RMSE over 5 seed(s): mean",
        claimed: 2063.0,
        better: Better::Lower,
        band: 0.05,
    },
    Claim {
        name: "moving squares next-frame MSE",
        source: "BENCHMARKS.md (recurrent networks)",
        example: "moving_squares_convlstm",
        args: &[],
        seeds: "3",
        marker: "next-frame MSE",
        claimed: 0.00110,
        better: Better::Lower,
        band: 0.5,
    },
    Claim {
        name: "shakespeare GRU(256) validation loss, 504 s",
        source: "BENCHMARKS.md (recurrent networks)",
        example: "shakespeare_gru",
        args: &["256", "504", "0.1", "0", "3300"],
        seeds: "7",
        marker: "validation loss",
        claimed: 1.542,
        better: Better::Lower,
        band: 0.03,
    },
    Claim {
        name: "shakespeare GRU(1026) validation loss, 480 s",
        source: "BENCHMARKS.md (recurrent networks)",
        example: "shakespeare_gru",
        args: &["1026", "480", "0", "0", "0"],
        seeds: "7",
        marker: "validation loss",
        claimed: 1.843,
        better: Better::Lower,
        band: 0.03,
    },
    Claim {
        name: "som_iris quantization error (seed 1)",
        source: "examples/som_iris.rs",
        example: "som_iris",
        args: &[],
        seeds: "1",
        marker: "seed 1: quantization error",
        claimed: 0.326,
        better: Better::Lower,
        band: 0.05,
    },
    Claim {
        name: "som_mnist winner's-digit test accuracy (seed 1)",
        source: "examples/som_mnist.rs",
        example: "som_mnist",
        args: &[],
        seeds: "1",
        marker: "winner's digit right for",
        claimed: 83.94,
        better: Better::Higher,
        band: 0.5,
    },
    Claim {
        name: "rbm_mnist test pseudo-log-likelihood (seed 1)",
        source: "examples/rbm_mnist.rs",
        example: "rbm_mnist",
        args: &[],
        seeds: "1",
        marker: "test set: pseudo-log-likelihood",
        claimed: -56.254,
        better: Better::Higher,
        band: 2.0,
    },
    Claim {
        name: "dbn_mnist pretrained, 1,000 labels (mean of 3 seeds)",
        source: "examples/dbn_mnist.rs",
        example: "dbn_mnist",
        args: &[],
        seeds: "1-3",
        marker: "1,000 labels, pretrained: mean test accuracy",
        claimed: 93.48,
        better: Better::Higher,
        band: 0.5,
    },
    Claim {
        name: "autoencoder_iris reconstruction MSE (seed 1)",
        source: "examples/autoencoder_iris.rs",
        example: "autoencoder_iris",
        args: &[],
        seeds: "1",
        marker: "reconstruction MSE: autoencoder",
        claimed: 0.00158,
        better: Better::Lower,
        band: 0.05,
    },
    Claim {
        name: "denoising_autoencoder test BCE",
        source: "examples/denoising_autoencoder.rs",
        example: "denoising_autoencoder",
        args: &[],
        seeds: "1, 2",
        marker: "test BCE against the clean images: denoised",
        claimed: 0.1003,
        better: Better::Lower,
        band: 0.03,
    },
    Claim {
        name: "autoencoders_mnist convolutional test BCE",
        source: "examples/autoencoders_mnist.rs",
        example: "autoencoders_mnist",
        args: &[],
        seeds: "1, 2",
        marker: "convolutional autoencoder: code [7, 7, 32], test BCE",
        claimed: 0.0675,
        better: Better::Lower,
        band: 0.03,
    },
    Claim {
        name: "autoencoders_mnist sparse code mean activation",
        source: "examples/autoencoders_mnist.rs",
        example: "autoencoders_mnist",
        args: &[],
        seeds: "3, 4",
        marker: "mean code activation",
        claimed: 0.0227,
        better: Better::Lower,
        band: 0.1,
    },
    Claim {
        name: "gan_mnist sample entropy after 4 epochs",
        source: "examples/gan_mnist.rs",
        example: "gan_mnist",
        args: &[],
        seeds: "42",
        marker: "entropy",
        claimed: 3.00,
        better: Better::Higher,
        band: 0.15,
    },
    Claim {
        name: "vae_mnist test negative ELBO, 30 epochs",
        source: "examples/vae_mnist.rs",
        example: "vae_mnist",
        args: &[],
        seeds: "1",
        marker: "test loss (negative ELBO per sample):",
        claimed: 151.22,
        better: Better::Lower,
        band: 0.02,
    },
];

/// The number right after the last `marker` in `out`.
fn figure(out: &str, marker: &str) -> Option<f64> {
    let at = out.rfind(marker)? + marker.len();
    let rest = out[at..].trim_start();
    let end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-')).unwrap_or(rest.len());
    rest[..end].trim_end_matches('.').parse().ok()
}

/// Whether `measured` holds the claim within its band.
fn holds(c: &Claim, measured: f64) -> bool {
    match c.better {
        Better::Higher => measured >= c.claimed - c.band,
        Better::Lower => measured <= c.claimed * (1.0 + c.band),
    }
}

pub fn run(filters: &[&str], list: bool) {
    let chosen: Vec<&Claim> =
        CLAIMS.iter().filter(|c| filters.is_empty() || filters.iter().any(|f| c.name.contains(f))).collect();
    if list || chosen.is_empty() {
        for c in CLAIMS {
            println!("{:<44} {:<24} claimed {} ({})", c.name, c.example, c.claimed, c.source);
        }
        if chosen.is_empty() {
            eprintln!("no claim matches {filters:?}");
            std::process::exit(2);
        }
        return;
    }
    let build = Command::new("cargo").args(["build", "--release", "-q", "-p", "sinew", "--examples"]).status();
    if !build.is_ok_and(|s| s.success()) {
        eprintln!("claims: `cargo build --release -p sinew --examples` failed");
        std::process::exit(2);
    }
    println!("| claim | example | seeds | claimed | measured | band | minutes | holds |");
    println!("|---|---|---|---|---|---|---|---|");
    let (mut short, mut broken) = (0, 0);
    // Examples that state several figures from one run run once.
    let mut outputs: Vec<(&str, &[&str], String, f64)> = vec![];
    for c in chosen {
        let cached =
            outputs.iter().find(|(e, a, _, _)| *e == c.example && *a == c.args).map(|(_, _, o, m)| (o.clone(), *m));
        let (out, minutes) = match cached {
            Some(hit) => hit,
            None => {
                let t = Instant::now();
                let run = Command::new("cargo")
                    .args(["run", "--release", "-q", "-p", "sinew", "--example", c.example, "--"])
                    .args(c.args)
                    .output();
                let minutes = t.elapsed().as_secs_f64() / 60.0;
                match run {
                    Ok(o) if o.status.success() => {
                        let out = String::from_utf8_lossy(&o.stdout).into_owned();
                        outputs.push((c.example, c.args, out.clone(), minutes));
                        (out, minutes)
                    }
                    Ok(o) => {
                        eprintln!("{}: exited with {}:\n{}", c.example, o.status, String::from_utf8_lossy(&o.stderr));
                        broken += 1;
                        continue;
                    }
                    Err(e) => {
                        eprintln!("{}: cannot run cargo: {e}", c.example);
                        broken += 1;
                        continue;
                    }
                }
            }
        };
        let Some(measured) = figure(&out, c.marker) else {
            eprintln!("{}: no figure after {:?} in the output", c.example, c.marker);
            broken += 1;
            continue;
        };
        let ok = holds(c, measured);
        short += usize::from(!ok);
        let band = match c.better {
            Better::Higher => format!("-{}", c.band),
            Better::Lower => format!("+{:.0}%", c.band * 100.0),
        };
        println!(
            "| {} | `{}{}` | {} | {} | {:.4} | {band} | {minutes:.1} | {} |",
            c.name,
            c.example,
            if c.args.is_empty() { String::new() } else { format!(" -- {}", c.args.join(" ")) },
            c.seeds,
            c.claimed,
            measured,
            if ok { "yes" } else { "NO" }
        );
    }
    if broken > 0 {
        std::process::exit(2);
    }
    if short > 0 {
        eprintln!("{short} claim(s) fall outside their band");
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn figures_are_read_after_the_last_marker() {
        let out = "Test accuracy: 0.9000\nTest loss: 0.1\nTest accuracy: 0.9851\n";
        assert_eq!(super::figure(out, "Test accuracy:"), Some(0.9851));
        let seeds = "mean test accuracy over seeds [1, 2, 3]: 0.9864\n";
        assert_eq!(super::figure(seeds, "mean test accuracy over seeds [1, 2, 3]:"), Some(0.9864));
        assert_eq!(super::figure("R² over seeds 1-3: 0.414", "R² over seeds 1-3:"), Some(0.414));
        assert_eq!(super::figure("RMSE over 5 seed(s): mean 2063, range", "mean"), Some(2063.0));
        assert_eq!(super::figure("nothing here", "Test accuracy:"), None);
    }

    /// Every claim names an example that exists, so the command cannot rot silently.
    #[test]
    fn every_claim_names_an_existing_example() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
        for c in super::CLAIMS {
            assert!(root.join(format!("{}.rs", c.example)).is_file(), "{}: no examples/{}.rs", c.name, c.example);
        }
    }
}
