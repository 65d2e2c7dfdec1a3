//! The training workflow of issue 20 through `sinew train`: `[fit] lr_find` runs the range test
//! before training and puts its curve and pick in the report; `[fit] one_cycle` trains under the
//! one-cycle policy peaking at that pick.

mod common;
use common::{repo, tmp};
use serde_json::Value;
use std::process::Command;

#[test]
fn lr_find_and_one_cycle_from_a_spec() {
    let dir = tmp("one_cycle");
    let spec = std::fs::read_to_string(repo().join("specs/mnist_one_cycle.toml"))
        .unwrap()
        .replace("source = \"mnist\"", "source = \"digits\"");
    let path = dir.join("spec.toml");
    std::fs::write(&path, spec).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_sinew"))
        .args(["--json", "train", path.to_str().unwrap(), "--epochs", "10", "--out", dir.join("run").to_str().unwrap()])
        .current_dir(repo())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("learning-rate range test:") && err.contains("suggested rate"), "{err}");
    assert!(err.contains("one-cycle policy: peak rate"), "{err}");
    let v: Value = serde_json::from_str(String::from_utf8_lossy(&o.stdout).trim()).unwrap();
    assert!(v["metrics"]["accuracy"].as_f64().is_some_and(|a| a >= 0.9), "{v}");
    let html = std::fs::read_to_string(dir.join("run/report.html")).unwrap();
    assert!(html.contains("Learning-rate range test") && html.contains("suggested rate"));
    let run: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("run/run.json")).unwrap()).unwrap();
    let f = &run["models"][0]["lr_finder"];
    assert!(f["lrs"].as_array().is_some_and(|a| a.len() >= 10) && f["suggestion"].as_f64().is_some(), "{f}");
}

/// `[fit] diagnostics = true`: a deep sigmoid MLP's report plots each layer's gradient norm and
/// names the vanishing gradients with their remedy.
#[test]
fn diagnostics_from_a_spec_flag_vanishing_gradients() {
    let dir = tmp("diagnostics");
    let mut spec = String::from("[data]\nsource = \"digits\"\n\n");
    for _ in 0..8 {
        spec += "[[model.layers]]\nclass = \"Dense\"\nunits = 32\nactivation = \"sigmoid\"\n\n";
    }
    spec += "[[model.layers]]\nclass = \"Dense\"\nunits = 10\nactivation = \"softmax\"\n\n";
    spec += "[compile]\noptimizer = \"sgd\"\nloss = \"categorical_crossentropy\"\n\n[fit]\nepochs = 2\ndiagnostics = true\n";
    let path = dir.join("spec.toml");
    std::fs::write(&path, spec).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_sinew"))
        .args(["train", path.to_str().unwrap(), "--out", dir.join("run").to_str().unwrap()])
        .current_dir(repo())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(text.contains("diagnostics: vanishing gradients"), "{text}");
    let html = std::fs::read_to_string(dir.join("run/report.html")).unwrap();
    assert!(
        html.contains("Training diagnostics")
            && html.contains("Gradient norm per layer")
            && html.contains("Remedy: use ReLU")
    );
    let run: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("run/run.json")).unwrap()).unwrap();
    assert_eq!(run["models"][0]["diagnostics"]["grad_norms"].as_array().map(Vec::len), Some(9));
}
