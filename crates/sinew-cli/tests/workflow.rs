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

/// `[search]`: every trial of the grid trains with its values in place of the placeholders, the
/// trials are ranked (and written as CSV), the best trial's configuration is trained as the
/// run's model, and the report shows the table and a chart per hyperparameter.
#[test]
fn a_grid_search_from_a_spec_ranks_trials_and_trains_the_best() {
    let dir = tmp("search");
    let o = Command::new(env!("CARGO_BIN_EXE_sinew"))
        .args(["--json", "train", "specs/breast_cancer_search.toml", "--epochs", "30", "--out", dir.to_str().unwrap()])
        .current_dir(repo())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("search: 12 trials ranked by val_loss, 2 at once"), "{err}");
    let v: Value = serde_json::from_str(String::from_utf8_lossy(&o.stdout).trim()).unwrap();
    assert!(v["metrics"]["accuracy"].as_f64().is_some_and(|a| a >= 0.93), "{v}");
    let csv = std::fs::read_to_string(dir.join("trials.csv")).unwrap();
    assert!(csv.starts_with("units,dropout,learning_rate,val_loss,best_epoch,epochs_run,seconds\n"), "{csv}");
    assert_eq!(csv.lines().count(), 13);
    let run: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("run.json")).unwrap()).unwrap();
    let s = &run["models"][0]["search"];
    let scores: Vec<f64> = s["trials"].as_array().unwrap().iter().map(|t| t["score"].as_f64().unwrap()).collect();
    assert_eq!(scores.len(), 12);
    assert!(scores.windows(2).all(|w| w[0] <= w[1]), "best (lowest val_loss) first: {scores:?}");
    // The run's model is the best trial's: its hidden layer has the winning width.
    let best_units: usize = s["trials"][0]["values"][0].as_str().unwrap().parse().unwrap();
    let summary = run["models"][0]["summary"].as_str().unwrap();
    assert!(summary.contains(&format!("(None, {best_units})")), "{summary}");
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("Hyperparameter search") && html.contains("val_loss against learning_rate"));
}

/// A search's mistakes are caught by `sinew check`, at their line.
#[test]
fn bad_searches_are_refused_at_their_line() {
    let good = std::fs::read_to_string(repo().join("specs/breast_cancer_search.toml")).unwrap();
    let dir = tmp("bad_search");
    let cases = [
        (
            "placeholder",
            good.replace("\"$dropout\"", "\"$dropuot\""),
            "\"$dropuot\" names no hyperparameter of [search]; did you mean \"dropout\"?",
        ),
        ("unused", good.replace("\"$dropout\"", "0.2"), "search.dropout: no \"$dropout\" in the spec uses it"),
        (
            "value",
            good.replace("units = [8, 32, 128]", "units = [8, -32]"),
            "model.layers.units: layer 1: Dense: units must be a non-negative integer, got -32 (in the search's trial with units=-32, dropout=0.0, learning_rate=0.001)",
        ),
        (
            "setting",
            good.replace("patience = 10\nworkers", "patience = 10\ntrials = 4\nworkers"),
            "search.trials: applies to strategy = \"random\"",
        ),
        (
            "validation",
            good.replace("validation_split = 0.2\n", ""),
            "search.objective: \"val_loss\" needs validation data",
        ),
        (
            "data",
            good.replace("test_size = 0.25", "test_size = \"$dropout\""),
            "\"$dropout\" in [data]: a search varies [model], [compile] and [fit] only",
        ),
    ];
    for (name, spec, want) in cases {
        let path = dir.join(format!("{name}.toml"));
        std::fs::write(&path, spec).unwrap();
        let o = Command::new(env!("CARGO_BIN_EXE_sinew"))
            .args(["check", path.to_str().unwrap()])
            .current_dir(repo())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{name}: {err}");
        assert!(err.contains(want), "{name}: expected {want:?} in {err:?}");
        assert!(err.contains(&format!("{name}.toml:")), "{name}: names the file and line: {err}");
    }
}

/// `fit.stream`: the adult table (3.9 MB) trains under a 1 MB limit on what a data file may
/// hold in memory, which the in-memory reader of the same file refuses; the report plots the
/// prequential accuracy, and the saved model predicts raw rows with the final running scaling.
#[test]
fn a_csv_larger_than_the_memory_limit_streams_through_prequential_training() {
    let dir = tmp("stream");
    let run = |spec: &str| {
        Command::new(env!("CARGO_BIN_EXE_sinew"))
            .args(["--json", "train", spec, "--out", dir.to_str().unwrap()])
            .env("SINEW_MAX_INPUT_BYTES", "1000000")
            .current_dir(repo())
            .output()
            .unwrap()
    };
    let o = run("specs/adult_income.toml");
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("past the limit of 1000000 bytes"));
    let o = run("specs/adult_stream.toml");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("column \"native-country\": new category \"Japan\" takes a reserved slot"), "{err}");
    assert!(err.contains("category \"Scotland\" was not in the first chunk and no reserved slot is left"), "{err}");
    let v: Value = serde_json::from_str(String::from_utf8_lossy(&o.stdout).trim()).unwrap();
    assert_eq!((v["rows"].as_u64(), v["chunks"].as_u64()), (Some(32561), Some(33)));
    let acc = v["metrics"]["prequential_accuracy"].as_f64().unwrap();
    assert!(acc >= 0.8, "{acc}");
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("Prequential accuracy (each chunk scored before it is learned)"));
    let header = "age,workclass,fnlwgt,education,education-num,marital-status,occupation,relationship,race,sex,capital-gain,capital-loss,hours-per-week,native-country";
    let rows = "52,Self-emp-inc,287927,HS-grad,9,Married-civ-spouse,Exec-managerial,Wife,White,Female,15024,0,40,United-States\n\
                19,Private,168294,HS-grad,9,Never-married,Craft-repair,Own-child,White,Male,0,0,40,United-States";
    let input = dir.join("new.csv");
    std::fs::write(&input, format!("{header}\n{rows}\n")).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_sinew"))
        .args(["predict", dir.join("model.sinew").to_str().unwrap(), input.to_str().unwrap()])
        .current_dir(repo())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let preds: Vec<Value> =
        String::from_utf8_lossy(&o.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!((preds[0]["prediction"].as_str(), preds[1]["prediction"].as_str()), (Some(">50K"), Some("<=50K")));
    // What a stream cannot do is refused at its line.
    let spec = std::fs::read_to_string(repo().join("specs/adult_stream.toml")).unwrap();
    for (edit, want) in [
        ("stream = true\nvalidation_split = 0.2\n", "fit.validation_split: does not apply with stream = true"),
        ("stream = true\n\n[fit.early_stopping]\n", "fit.early_stopping: does not apply with stream = true"),
    ] {
        let path = dir.join("bad.toml");
        std::fs::write(&path, spec.replace("stream = true\n", edit)).unwrap();
        let o = Command::new(env!("CARGO_BIN_EXE_sinew")).args(["check", path.to_str().unwrap()]).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.code() == Some(2) && err.contains(want) && err.contains("bad.toml:"), "{err}");
    }
    let path = dir.join("minmax.toml");
    std::fs::write(&path, spec.replace("scale = \"standard\"", "scale = \"minmax\"")).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_sinew")).args(["check", path.to_str().unwrap()]).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("data.scale: with fit.stream the numeric columns are standardised"), "{err}");
}

/// Transfer learning from specs: a base CNN learns 6,000 images of the digits 0-4; the transfer
/// spec loads it with its head popped and frozen under a new head for 5-9, trained on 200 of
/// their images, then fine-tunes the base's top block. Only the head trains in the first phase,
/// and the features carry over to digits the base never saw.
#[test]
fn transfer_learning_from_specs_freezes_the_base_and_fine_tunes_its_top() {
    let dir = tmp("transfer");
    let sinew =
        |args: &[&str]| Command::new(env!("CARGO_BIN_EXE_sinew")).args(args).current_dir(repo()).output().unwrap();
    let base_spec = std::fs::read_to_string(repo().join("specs/mnist_digits_0_4.toml"))
        .unwrap()
        .replace("classes = [0, 1, 2, 3, 4]\n", "classes = [0, 1, 2, 3, 4]\ntrain_rows = 6000\n");
    let base_path = dir.join("base.toml");
    std::fs::write(&base_path, base_spec).unwrap();
    let base_run = dir.join("base");
    let o = sinew(&["--quiet", "train", base_path.to_str().unwrap(), "--out", base_run.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let spec = std::fs::read_to_string(repo().join("specs/mnist_transfer_5_9.toml"))
        .unwrap()
        .replace("../runs/mnist_digits_0_4/model.sinew", base_run.join("model.sinew").to_str().unwrap())
        .replace("train_rows = 500", "train_rows = 200");
    let path = dir.join("transfer.toml");
    std::fs::write(&path, &spec).unwrap();
    let o = sinew(&["check", path.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(text.contains("base (Sequential)") && text.contains("Trainable params: 645"), "{text}");
    let o = sinew(&["--json", "train", path.to_str().unwrap(), "--out", dir.join("run").to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("fine-tuning: top unfrozen, learning rate 1.0e-4, 10 epochs"), "{err}");
    let v: Value = serde_json::from_str(String::from_utf8_lossy(&o.stdout).trim()).unwrap();
    assert_eq!(v["epochs"], 30);
    let acc = v["metrics"]["accuracy"].as_f64().unwrap();
    assert!(acc >= 0.8, "digits 5-9 from 200 images on a base that learned 0-4: {acc}");
    // A layer the base does not have is named with the file, before any training.
    std::fs::write(&path, spec.replace("unfreeze = [\"top\"]", "unfreeze = [\"tpo\"]")).unwrap();
    let o = sinew(&["check", path.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("fine_tune.unfreeze") && err.contains("tpo"), "{err}");
}

/// A multi-output model from a spec: two heads on one trunk, a loss and metrics per output,
/// loss weights; the report has a classification report for one head and a regression report
/// for the other, and predict names each output's prediction by its target.
#[test]
fn a_multi_output_spec_trains_reports_and_predicts_each_output() {
    let dir = tmp("multi");
    let sinew =
        |args: &[&str]| Command::new(env!("CARGO_BIN_EXE_sinew")).args(args).current_dir(repo()).output().unwrap();
    let o =
        sinew(&["--json", "train", "specs/adult_multi_output.toml", "--epochs", "3", "--out", dir.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_str(String::from_utf8_lossy(&o.stdout).trim()).unwrap();
    let m = &v["metrics"];
    assert!(m["income_accuracy"].as_f64().unwrap() >= 0.8, "{m}");
    assert!(m["age_r2"].as_f64().unwrap() >= 0.2, "{m}");
    assert!(m["age_mae"].is_number() && m.get("age_accuracy").is_none() && m.get("income_mae").is_none(), "{m}");
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("output income:") && html.contains("output age:") && html.contains("R2:"));
    let rows = dir.join("rows.csv");
    std::fs::write(&rows, "age,workclass,fnlwgt,education,education-num,marital-status,occupation,relationship,race,sex,capital-gain,capital-loss,hours-per-week,native-country\n\
        19,Private,168294,HS-grad,9,Never-married,Craft-repair,Own-child,White,Male,0,0,40,United-States\n").unwrap();
    let o = sinew(&["predict", dir.join("model.sinew").to_str().unwrap(), rows.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let p: Value = serde_json::from_str(String::from_utf8_lossy(&o.stdout).trim()).unwrap();
    assert_eq!(p["predictions"]["income"], "<=50K", "{p}");
    assert!(p["predictions"]["age"].as_f64().is_some_and(|a| (15.0..60.0).contains(&a)), "{p}");
    // One loss for two outputs, or a metrics table naming no output, is refused at its line.
    let spec = std::fs::read_to_string(repo().join("specs/adult_multi_output.toml")).unwrap();
    for (edit, want) in [
        (
            spec.replace("loss = [\"binary_crossentropy\", \"mse\"]", "loss = \"binary_crossentropy\""),
            "compile.loss_weights: 2 weights for 1 losses (one per output)",
        ),
        (
            spec.replace("age = [\"mae\"]", "aeg = [\"mae\"]"),
            "compile.metrics: no output named \"aeg\"; did you mean \"age\"?",
        ),
        (
            spec.replace("target = [\"income\", \"age\"]", "target = \"income\""),
            "data.target: 1 target column(s) for 2 model output(s)",
        ),
    ] {
        let path = dir.join("bad.toml");
        std::fs::write(&path, edit).unwrap();
        let o = sinew(&["check", path.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.code() == Some(2) && err.contains(want) && err.contains("bad.toml:"), "{want}: {err}");
    }
}
