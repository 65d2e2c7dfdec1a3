//! `mpirun -np 2 sinew train` (the binary built with feature `mpi`) against one process: the
//! same accuracy band, rank 0 alone writes the run, and the report states the ranks. Run by
//! `.ci/run` with `cargo test -p sinew-cli --features mpi --test mpi`.
#![cfg(feature = "mpi")]

mod common;
use common::{repo, tmp};
use serde_json::Value;
use std::process::Command;

fn train(ranks: usize, spec: &str, dir: &std::path::Path, extra: &[&str]) -> Value {
    let o = Command::new("mpirun")
        .args(["--allow-run-as-root", "--oversubscribe", "-np", &ranks.to_string()])
        // Containers often forbid the cross-memory attach OpenMPI's shared-memory transport
        // tries first; copying through the shared segment works everywhere.
        .env("OMPI_MCA_btl_vader_single_copy_mechanism", "none")
        .args([env!("CARGO_BIN_EXE_sinew"), "--json", "train", spec, "--out", dir.to_str().unwrap()])
        .args(extra)
        .current_dir(repo())
        .output()
        .expect("mpirun (OpenMPI's openmpi-bin) must be installed for the mpi feature's tests");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout);
    // Rank 0 alone prints: one JSON result.
    assert_eq!(out.trim().lines().count(), 1, "{out}");
    serde_json::from_str(out.trim()).unwrap()
}

/// The notes' MNIST CNN for one epoch and the digits MLP: 2 ranks reach one process's accuracy
/// band (on 2026-12-07: the CNN 98.14% on one process, 98.23% on two).
#[test]
fn two_ranks_train_a_spec_to_the_accuracy_of_one_process() {
    for (spec, extra, band) in
        [("specs/mnist_cnn.toml", &["--epochs", "1"][..], 0.01), ("specs/digits_mlp.toml", &[][..], 0.03)]
    {
        let (one, two) = (tmp("mpi-one"), tmp("mpi-two"));
        let a = train(1, spec, &one, extra)["metrics"]["accuracy"].as_f64().unwrap();
        let b = train(2, spec, &two, extra)["metrics"]["accuracy"].as_f64().unwrap();
        eprintln!("{spec}: accuracy {a:.4} on one process, {b:.4} on two ranks");
        assert!((a - b).abs() <= band, "{spec}: {a} against {b}");
        let html = std::fs::read_to_string(two.join("report.html")).unwrap();
        assert!(html.contains("trained data-parallel on 2 MPI ranks"), "the report states the ranks");
        assert!(!std::fs::read_to_string(one.join("report.html")).unwrap().contains("MPI ranks"));
    }
}

/// The spec side of the distributed options: the digits MLP with a synchronised
/// BatchNormalization (`synchronized = true`, Keras' argument) and `[distributed] overlap =
/// true` trains on 2 ranks to one process's accuracy band, and the saved model keeps the flag.
#[test]
fn a_spec_with_synchronized_batch_norm_and_overlap_trains_on_two_ranks() {
    let digits = std::fs::read_to_string(repo().join("specs/digits_mlp.toml")).unwrap();
    let spec = digits
        .replace("class = \"Dropout\"\nrate = 0.1", "class = \"BatchNormalization\"\nsynchronized = true")
        .replace("name = \"digits_mlp\"", "name = \"digits_syncbn\"")
        + "\n[distributed]\noverlap = true\n";
    assert!(spec.contains("synchronized = true"), "the digits spec changed: {digits}");
    let dir = tmp("mpi-syncbn");
    let path = dir.join("digits_syncbn.toml");
    std::fs::write(&path, &spec).unwrap();
    let (one, two) = (dir.join("one"), dir.join("two"));
    let a = train(1, path.to_str().unwrap(), &one, &[])["metrics"]["accuracy"].as_f64().unwrap();
    let b = train(2, path.to_str().unwrap(), &two, &[])["metrics"]["accuracy"].as_f64().unwrap();
    eprintln!("digits with synchronised BatchNormalization: accuracy {a:.4} on one process, {b:.4} on two ranks");
    assert!((a - b).abs() <= 0.03, "{a} against {b}");
    // The architecture is JSON inside the safetensors header, itself a JSON string there.
    let model = std::fs::read(two.join("model.sinew")).unwrap();
    assert!(String::from_utf8_lossy(&model).contains(r#"\"synchronized\":true"#), "the saved config keeps the flag");
}
