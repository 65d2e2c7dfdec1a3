//! The `sinew` binary end to end: the demo, every shipped spec, the bad-spec errors (file, line,
//! field, suggestion, exit code 2), output hygiene (`--quiet`, `--json`), evaluate/predict through
//! the saved preprocessing, and rebuilding a report.

mod common;

use common::{repo, tmp};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn sinew(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sinew")).args(args).current_dir(repo()).output().expect("run sinew")
}

fn stdout_json(o: &Output) -> Value {
    let text = String::from_utf8_lossy(&o.stdout);
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("stdout is not one JSON value ({e}): {text}"))
}

#[test]
fn demo_trains_both_models_and_writes_the_report() {
    let dir = tmp("demo");
    let o = sinew(&["--json", "demo", "--out", dir.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v = stdout_json(&o);
    for m in v["models"].as_array().unwrap() {
        assert!(m["accuracy"].as_f64().unwrap() >= 0.95, "{m}");
    }
    // Human output went to stderr under --json.
    assert!(String::from_utf8_lossy(&o.stderr).contains("Total params"));
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    for part in ["Model summary", "Learning curve: loss", "Confusion matrix", "Classification report", "sample wrong"] {
        assert!(html.contains(part), "report lacks {part:?}");
    }
    assert!(!html.contains("src=\"http") && !html.contains("href=\"http"), "no network fetches");
    // --seed reproduces a run exactly and changes it when it changes.
    let seeded = tmp("demo_seed");
    let again = |seed: &str| {
        stdout_json(&sinew(&["--json", "--quiet", "--seed", seed, "demo", "--out", seeded.to_str().unwrap()]))
    };
    assert_eq!(again("7")["models"], again("7")["models"]);
    assert_ne!(again("7")["models"], again("8")["models"]);
    let o = sinew(&["summary", dir.join("digits_cnn.sinew").to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("conv2d (Conv2D)"));
    // --quiet prints nothing; the report can be rebuilt from run.json.
    std::fs::remove_file(dir.join("report.html")).unwrap();
    let o = sinew(&["--quiet", "report", dir.to_str().unwrap()]);
    assert!(o.status.success() && o.stdout.is_empty());
    assert_eq!(std::fs::read_to_string(dir.join("report.html")).unwrap(), html);
}

#[test]
fn every_shipped_spec_checks_and_the_small_ones_train() {
    let mut specs: Vec<PathBuf> = std::fs::read_dir(repo().join("specs")).unwrap().map(|e| e.unwrap().path()).collect();
    specs.sort();
    assert!(specs.len() >= 7, "{specs:?}");
    // The transfer spec's base is a run of another spec: workflow.rs trains a shortened base and
    // checks and trains it against that.
    specs.retain(|s| !s.ends_with("mnist_transfer_5_9.toml"));
    for s in &specs {
        let o = sinew(&["--quiet", "check", s.to_str().unwrap()]);
        assert!(o.status.success(), "{}: {}", s.display(), String::from_utf8_lossy(&o.stderr));
    }
    for (name, target) in [
        ("digits_mlp", 0.95),
        ("digits_cnn", 0.95),
        ("breast_cancer_ann", 0.93),
        ("adult_income", 0.845),
        ("titanic", 0.78),
    ] {
        let dir = tmp(name);
        let spec = repo().join("specs").join(format!("{name}.toml"));
        let o = sinew(&["--quiet", "--json", "train", spec.to_str().unwrap(), "--out", dir.to_str().unwrap()]);
        assert!(o.status.success(), "{name}: {}", String::from_utf8_lossy(&o.stderr));
        let acc = stdout_json(&o)["metrics"]["accuracy"].as_f64().unwrap();
        assert!(acc >= target, "{name}: accuracy {acc} < {target}");
        assert!(dir.join("model.sinew").is_file() && dir.join("report.html").is_file());
        if name == "digits_cnn" {
            // Its spec adds CSVLogger and ModelCheckpoint (and ReduceLROnPlateau).
            assert!(std::fs::read_to_string(dir.join("history.csv")).unwrap().starts_with("epoch,"));
            assert!(dir.join("checkpoint.sinew").is_file());
        }
    }
    // The regression spec reports R² on its test split.
    let dir = tmp("diabetes");
    let o = sinew(&["--quiet", "--json", "train", "specs/diabetes_regression.toml", "--out", dir.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r2 = stdout_json(&o)["metrics"]["test_r2"].as_f64().unwrap();
    assert!(r2 > 0.3, "diabetes R² {r2}");
    assert!(std::fs::read_to_string(dir.join("report.html")).unwrap().contains("Regression report"));
    // One MNIST spec trains through the CLI too, for one epoch.
    let dir = tmp("mnist_cnn");
    let o =
        sinew(&["--quiet", "--json", "train", "specs/mnist_cnn.toml", "--epochs", "1", "--out", dir.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(stdout_json(&o)["metrics"]["accuracy"].as_f64().unwrap() > 0.97);
}

#[test]
fn predict_and_evaluate_raw_csv_rows_through_the_saved_preprocessing() {
    let dir = tmp("adult");
    let o = sinew(&["--quiet", "train", "specs/adult_income.toml", "--out", dir.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let header = "age,workclass,fnlwgt,education,education-num,marital-status,occupation,relationship,race,sex,capital-gain,capital-loss,hours-per-week,native-country";
    let rows = "52,Self-emp-inc,287927,HS-grad,9,Married-civ-spouse,Exec-managerial,Wife,White,Female,15024,0,40,United-States\n\
                19,Private,168294,HS-grad,9,Never-married,Craft-repair,Own-child,White,Male,0,0,40,";
    let input = dir.join("new.csv");
    std::fs::write(&input, format!("{header}\n{rows}\n")).unwrap();
    let model = dir.join("model.sinew");
    let o = sinew(&["predict", model.to_str().unwrap(), input.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let lines: Vec<Value> =
        String::from_utf8_lossy(&o.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["prediction"], ">50K");
    assert_eq!(lines[1]["prediction"], "<=50K");
    let labelled = dir.join("labelled.csv");
    std::fs::write(
        &labelled,
        format!(
            "{header},income\n{}\n",
            rows.replace("United-States", "United-States,>50K").replace("Male,0,0,40,", "Male,0,0,40,,<=50K")
        ),
    )
    .unwrap();
    let o = sinew(&["--json", "evaluate", model.to_str().unwrap(), labelled.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(stdout_json(&o)["accuracy"], 1.0);
    // Issue 18: a category unseen in training is refused by default, naming the file's line,
    // the column and the value; `--on-unknown ignore` predicts with a warning per column on
    // stderr and the unseen values in the row's JSON.
    std::fs::write(&input, format!("{header}\n{}\n", rows.replace("Self-emp-inc", "Martian"))).unwrap();
    let o = sinew(&["predict", model.to_str().unwrap(), input.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("new.csv:2: column \"workclass\" has category \"Martian\", unseen in training"), "{err}");
    let o = sinew(&["predict", model.to_str().unwrap(), input.to_str().unwrap(), "--on-unknown", "ignore"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("warning:") && err.contains("column \"workclass\": 1 row(s)") && err.contains("lines 2"),
        "{err}"
    );
    let lines: Vec<Value> =
        String::from_utf8_lossy(&o.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines[0]["unknown_categories"]["workclass"], "Martian");
    assert!(lines[1].get("unknown_categories").is_none());
    // A row missing a column the model needs is a clear error, exit code 1.
    std::fs::write(&input, "age,workclass\n52,Private\n").unwrap();
    let o = sinew(&["predict", model.to_str().unwrap(), input.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("lacks column(s)"), "{}", String::from_utf8_lossy(&o.stderr));
}

/// Writes `spec` and runs `sinew check` on it; returns (exit code, stderr).
fn check(name: &str, spec: &str) -> (Option<i32>, String) {
    let path = tmp(name).join(format!("{name}.toml"));
    std::fs::write(&path, spec).unwrap();
    let o = sinew(&["check", path.to_str().unwrap()]);
    (o.status.code(), String::from_utf8_lossy(&o.stderr).replace(path.to_str().unwrap(), "SPEC"))
}

const GOOD: &str = "[data]\nsource = \"digits\"\n\n[model]\n\n[[model.layers]]\nclass = \"Dense\"\nunits = 10\nactivation = \"softmax\"\n\n[compile]\nloss = \"sparse_categorical_crossentropy\"\nmetrics = [\"accuracy\"]\n\n[fit]\nepochs = 2\n";

#[test]
fn bad_specs_name_file_line_field_and_suggest() {
    assert_eq!(check("good", GOOD).0, Some(0));
    assert_eq!(check("good_distributed", &format!("{GOOD}\n[distributed]\noverlap = true\n")).0, Some(0));
    let cases = [
        (
            "functional_input",
            GOOD.replace("[model]\n", "[model]\ntype = \"functional\"\n")
                .replace("units = 10\n", "units = 10\ninputs = [\"inpt\"]\n"),
            "SPEC:10: model.layers.inputs: layer 1: no earlier node \"inpt\"; did you mean \"input\"?",
        ),
        (
            "step_kind",
            GOOD.replace("source = \"digits\"\n", "source = \"digits\"\n\n[[data.steps]]\nkind = \"extrakt\"\n"),
            "SPEC:5: data.steps.kind: unknown step \"extrakt\"; did you mean \"extract\"?",
        ),
        (
            "time_limit",
            GOOD.replace("epochs = 2\n", "epochs = 2\ntime_limit = -1.0\n"),
            "SPEC:17: fit.time_limit: must be in [0.001, 10000000], got -1",
        ),
        (
            "layer_arg",
            GOOD.replace("units = 10", "unit = 10"),
            "SPEC:8: model.layers.unit: layer 1: Dense: unknown argument \"unit\"; did you mean \"units\"?",
        ),
        (
            "layer_class",
            GOOD.replace("\"Dense\"", "\"Dens\""),
            "SPEC:7: model.layers.class: layer 1: unknown layer class \"Dens\"; did you mean \"Dense\"?",
        ),
        (
            "fit_field",
            GOOD.replace("epochs = 2", "epoch = 2"),
            "SPEC:16: fit.epoch: unknown field; did you mean \"epochs\"?",
        ),
        (
            "source",
            GOOD.replace("\"digits\"", "\"digit\""),
            "SPEC:2: data.source: unknown source \"digit\"; did you mean \"digits\"?",
        ),
        (
            "optimizer",
            GOOD.replace("[compile]\n", "[compile]\noptimizer = \"adamm\"\n"),
            "SPEC:12: compile.optimizer: unknown optimizer \"adamm\"; did you mean \"adam\"?",
        ),
        (
            "missing",
            GOOD.replace("units = 10\n", ""),
            "SPEC:7: model.layers.class: layer 1: Dense: missing required argument \"units\"",
        ),
        (
            "epochs_value",
            GOOD.replace("epochs = 2", "epochs = -2"),
            "SPEC:16: fit.epochs: must be a positive integer, got -2",
        ),
        (
            "targets_on_digits",
            GOOD.replace("source = \"digits\"\n", "source = \"digits\"\ntargets = \"shifted\"\n"),
            "SPEC:3: data.targets: applies to a text source",
        ),
        (
            "seed_text_on_digits",
            format!("{GOOD}\n[output]\nseed_text = \"ROMEO:\"\n"),
            "SPEC:19: output.seed_text: applies to a text source with targets = \"shifted\"",
        ),
        (
            "validation_data",
            GOOD.replace("epochs = 2\n", "epochs = 2\nvalidation_data = \"train\"\n"),
            "SPEC:17: fit.validation_data: the only value is \"test\"",
        ),
        (
            "distributed_overlap",
            format!("{GOOD}\n[distributed]\noverlap = \"yes\"\n"),
            "SPEC:19: distributed.overlap: expected true or false, got \"yes\"",
        ),
        (
            "distributed_field",
            format!("{GOOD}\n[distributed]\noverlapp = true\n"),
            "SPEC:19: distributed.overlapp: unknown field; did you mean \"overlap\"?",
        ),
        ("syntax", GOOD.replace("units = 10", "units = = 10"), "SPEC:8: invalid TOML"),
        ("no_data", GOOD.replace("[data]\nsource = \"digits\"\n", ""), "SPEC:1: missing required table [data]"),
        (
            "loss",
            GOOD.replace("sparse_categorical_crossentropy", "sparse_categorical_crossentropi"),
            "SPEC:12: compile.loss: unknown loss \"sparse_categorical_crossentropi\"; did you mean \"sparse_categorical_crossentropy\"?",
        ),
    ];
    for (name, spec, want) in cases {
        let (code, err) = check(name, &spec);
        assert_eq!(code, Some(2), "{name}: {err}");
        assert!(err.contains(want), "{name}: expected {want:?} in {err:?}");
    }
    let o = sinew(&["check", "/no/such/spec.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("/no/such/spec.toml: cannot read the spec"));
}

/// Issue 14: every loss name and alias the library accepts trains from a spec, its targets shaped
/// by what the loss says it takes (the CLI keeps no list of its own; `mape` once failed with a
/// shape error).
#[test]
fn every_loss_name_trains_from_a_spec() {
    use sinew::nn::{loss_from_name, TargetKind};
    let diabetes = "[data]\nsource = \"csv\"\npath = \"datasets/sklearn-small/diabetes_data_raw.csv.gz\"\ntarget_path = \"datasets/sklearn-small/diabetes_target.csv.gz\"\nheader = false\nseparator = \" \"\ncolumn_names = [\"age\", \"sex\", \"bmi\", \"bp\", \"s1\", \"s2\", \"s3\", \"s4\", \"s5\", \"s6\"]\ntarget = \"progression\"\nnumeric = [\"age\", \"sex\", \"bmi\", \"bp\", \"s1\", \"s2\", \"s3\", \"s4\", \"s5\", \"s6\"]\n";
    let cancer =
        "[data]\nsource = \"sklearn_csv\"\npath = \"datasets/sklearn-small/breast_cancer.csv\"\nscale = \"minmax\"\n";
    for name in sinew::nn::LOSS_NAMES {
        let kind = loss_from_name(name).unwrap().target_kind();
        let (data, units, act) = match kind {
            TargetKind::Values => (diabetes, 1, "softplus"),
            TargetKind::Binary => (cancer, 1, "sigmoid"),
            _ => (cancer, 2, "softmax"),
        };
        let spec = format!(
            "name = \"loss_{name}\"\n{data}\n[model]\n\n[[model.layers]]\nclass = \"Dense\"\nunits = 8\nactivation = \"relu\"\n\n[[model.layers]]\nclass = \"Dense\"\nunits = {units}\nactivation = \"{act}\"\n\n[compile]\nloss = \"{name}\"\n\n[fit]\nepochs = 2\n"
        );
        let dir = tmp(&format!("loss_{name}"));
        std::fs::create_dir_all(&dir).unwrap();
        let v = train_spec(&dir, &spec);
        let metrics = v["metrics"].as_object().unwrap_or_else(|| panic!("{name}: {v}"));
        // The test loss, and for a regression loss the regression report's RMSE.
        let keys: &[&str] = if kind == TargetKind::Values { &["loss", "test_rmse"] } else { &["loss"] };
        for key in keys {
            assert!(metrics.get(*key).and_then(Value::as_f64).is_some_and(f64::is_finite), "{name}: {key} in {v}");
        }
    }
}

/// Issue 14: `sinew check` reads a CSV's header, not its rows, to size a model without an input
/// shape; `sinew train` reads the rows and reports the bad one.
#[test]
fn check_reads_only_the_csv_header() {
    let dir = tmp("check_header");
    let csv = dir.join("t.csv");
    std::fs::write(&csv, "a,b,label\n1,2,x\n3,not a number,y\n5,6,x\n7,8,y\n9,10,x\n11,12,y\n").unwrap();
    let spec = |numeric: &str| {
        format!(
            "[data]\nsource = \"csv\"\npath = \"t.csv\"\ntarget = \"label\"\nnumeric = {numeric}\n\n[model]\n\n[[model.layers]]\nclass = \"Dense\"\nunits = 2\nactivation = \"softmax\"\n\n[compile]\nloss = \"sparse_categorical_crossentropy\"\n"
        )
    };
    let path = dir.join("spec.toml");
    std::fs::write(&path, spec("[\"a\", \"b\"]")).unwrap();
    let o = sinew(&["--json", "check", path.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(stdout_json(&o)["params"], 2 * 2 + 2);
    let o = sinew(&["--quiet", "train", path.to_str().unwrap(), "--out", dir.join("run").to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a number"), "{}", String::from_utf8_lossy(&o.stderr));
    // A numeric column the header lacks is named at check time.
    std::fs::write(&path, spec("[\"a\", \"c\"]")).unwrap();
    let o = sinew(&["check", path.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("column \"c\""), "{}", String::from_utf8_lossy(&o.stderr));
}

/// Writes a spec into `dir` and trains it; returns the JSON result.
fn train_spec(dir: &Path, spec: &str) -> Value {
    let path = dir.join("spec.toml");
    std::fs::write(&path, spec).unwrap();
    let out = dir.join("run");
    let o = sinew(&["--quiet", "--json", "train", path.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.join("report.html").is_file());
    stdout_json(&o)
}

fn predict_lines(model: &Path, input: &Path, extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["predict", model.to_str().unwrap(), input.to_str().unwrap()];
    args.extend(extra);
    let o = sinew(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

const DENSE_TAIL: &str = "[[model.layers]]\nclass = \"Dense\"\nunits = 32\nactivation = \"relu\"\n\n";

#[test]
fn time_series_image_folder_and_text_sources_train_and_predict() {
    // The airline series: 12 months of history predict the next month.
    let dir = tmp("series");
    let v = train_spec(&dir, &format!(
        "[data]\nsource = \"time_series\"\npath = \"{}\"\ncolumn = \"Passengers\"\nwindow = 12\n\n[model]\n\n{DENSE_TAIL}[[model.layers]]\nclass = \"Dense\"\nunits = 1\n\n[compile]\nloss = \"mse\"\nlearning_rate = 0.01\n\n[fit]\nepochs = 200\nbatch_size = 16\n",
        repo().join("../shared/data/airline-passengers/airline-passengers.csv").display()
    ));
    assert!(v["metrics"]["test_rmse"].as_f64().unwrap().is_finite());
    assert_eq!(v["epochs"], 200);
    // `[fit] time_limit` stops a long run after the batch that passes it.
    let limited = train_spec(&tmp("series_limited"), &format!(
        "[data]\nsource = \"time_series\"\npath = \"{}\"\ncolumn = \"Passengers\"\nwindow = 12\n\n[model]\n\n{DENSE_TAIL}[[model.layers]]\nclass = \"Dense\"\nunits = 1\n\n[compile]\nloss = \"mse\"\n\n[fit]\nepochs = 1000000\nbatch_size = 16\ntime_limit = 0.5\n",
        repo().join("../shared/data/airline-passengers/airline-passengers.csv").display()
    ));
    let epochs = limited["epochs"].as_u64().unwrap();
    assert!((1..1_000_000).contains(&epochs), "time_limit = 0.5 ran {epochs} epochs");
    let series = repo().join("../shared/data/airline-passengers/airline-passengers.csv");
    let next = predict_lines(&dir.join("run/model.sinew"), &series, &[]);
    let value = next[0]["next"].as_f64().unwrap();
    assert!(value > 200.0 && value < 1000.0, "next month {value}");
    assert_eq!(next[0]["after"], "1960-12");

    // Two classes of generated images: dark squares and bright squares, with noise.
    let dir = tmp("images");
    let mut state = 12345u32;
    let mut noise = || {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (state >> 24) as u8 / 4
    };
    for (class, base) in [("dark", 30u8), ("bright", 180)] {
        std::fs::create_dir_all(dir.join("imgs").join(class)).unwrap();
        for k in 0..30 {
            let mut px = vec![0u8; 8 * 8];
            px.iter_mut().for_each(|p| *p = base + noise());
            write_grey_png(&dir.join("imgs").join(class).join(format!("{k}.png")), 8, 8, &px);
        }
    }
    let v = train_spec(&dir, &format!(
        "seed = 3\n[data]\nsource = \"image_folder\"\ndir = \"{}\"\nimage_size = [8, 8]\nchannels = 1\ntest_size = 0.25\n\n[model]\ninput_shape = [8, 8, 1]\n\n[[model.layers]]\nclass = \"Flatten\"\n\n{DENSE_TAIL}[[model.layers]]\nclass = \"Dense\"\nunits = 2\nactivation = \"softmax\"\n\n[compile]\nloss = \"sparse_categorical_crossentropy\"\nmetrics = [\"accuracy\"]\nlearning_rate = 0.01\n\n[fit]\nepochs = 30\nbatch_size = 8\n",
        dir.join("imgs").display()
    ));
    assert_eq!(v["metrics"]["accuracy"].as_f64().unwrap(), 1.0);
    let o = sinew(&[
        "--json",
        "evaluate",
        dir.join("run/model.sinew").to_str().unwrap(),
        dir.join("imgs").to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(stdout_json(&o)["accuracy"], 1.0);
    let preds = predict_lines(&dir.join("run/model.sinew"), &dir.join("imgs/bright"), &[]);
    assert_eq!(preds.len(), 30);
    assert!(preds.iter().all(|p| p["prediction"] == "bright"), "{preds:?}");

    // A repetitive corpus: five characters of context determine the next one.
    let dir = tmp("text");
    std::fs::write(dir.join("corpus.txt"), "hello world ".repeat(300)).unwrap();
    let v = train_spec(&dir, &format!(
        "[data]\nsource = \"text\"\npath = \"{}\"\nseq_len = 5\nstep = 1\n\n[model]\ninput_shape = [5, 8]\n\n[[model.layers]]\nclass = \"Flatten\"\n\n{DENSE_TAIL}[[model.layers]]\nclass = \"Dense\"\nunits = 8\nactivation = \"softmax\"\n\n[compile]\nloss = \"sparse_categorical_crossentropy\"\nmetrics = [\"accuracy\"]\nlearning_rate = 0.01\n\n[fit]\nepochs = 5\n",
        dir.join("corpus.txt").display()
    ));
    assert!(v["metrics"]["accuracy"].as_f64().unwrap() > 0.99);
    std::fs::write(dir.join("seed.txt"), "hello").unwrap();
    let g = predict_lines(
        &dir.join("run/model.sinew"),
        &dir.join("seed.txt"),
        &["--length", "12", "--temperature", "0.05"],
    );
    assert_eq!(g[0]["generated"], " world hello");
    // The wrong kind of loss for the data is a clear error.
    let path = dir.join("bad.toml");
    std::fs::write(&path, format!("[data]\nsource = \"text\"\npath = \"{}\"\nseq_len = 5\n\n[model]\n\n[[model.layers]]\nclass = \"Dense\"\nunits = 1\n\n[compile]\nloss = \"mse\"\n", dir.join("corpus.txt").display())).unwrap();
    let o = sinew(&["train", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("does not fit this data, whose targets are classes"));
}

/// A grey PNG (the image crate is already in sinew's tree).
fn write_grey_png(path: &Path, w: u32, h: u32, px: &[u8]) {
    image::GrayImage::from_raw(w, h, px.to_vec()).expect("w * h pixels").save(path).unwrap();
}

/// The notes' two recurrent programs as shipped specs, on shortened runs: the RSCCASN forecast
/// (`forecast_rmse` and `baseline_rmse` in the series' units; `predict --horizon`) and the
/// Shakespeare GRU (`val_loss`, the report's generated samples, `predict --seed-text`).
#[test]
fn the_recurrent_specs_forecast_and_generate() {
    let dir = tmp("rsccasn");
    let spec = repo().join("specs/rsccasn_lstm.toml");
    let out = dir.join("run");
    let o =
        sinew(&["--quiet", "--json", "train", spec.to_str().unwrap(), "--epochs", "3", "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v = stdout_json(&o);
    let (rmse, base) = (v["forecast_rmse"].as_f64().unwrap(), v["baseline_rmse"].as_f64().unwrap());
    // The last training year repeated, scored on the last 18 months (as the issue measured it).
    assert!((base - 4319.38).abs() < 0.1, "baseline {base}");
    assert!(rmse > 0.0 && rmse < 20_000.0, "forecast RMSE {rmse} after 3 epochs");
    let report = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(report.contains("<h3>Forecast</h3>"));
    let series = repo().join("../shared/data/rsccasn/RSCCASN.csv");
    let f = predict_lines(&out.join("model.sinew"), &series, &["--horizon", "18"]);
    let values = f[0]["forecast"].as_array().unwrap();
    assert_eq!(values.len(), 18);
    assert!(values.iter().all(|x| (5_000.0..50_000.0).contains(&x.as_f64().unwrap())), "{values:?}");

    // The Shakespeare spec, cut down: a tenth of the text, GRU(64), one epoch of 47 steps,
    // training windows every 30 characters (overlapping). A step count, not the spec's
    // wall-clock budget: a 6-second budget reached 2.76 on one machine and 3.03 on a slower or
    // busier one (CI, 2026-12-07), so the figure measured the machine, not the model.
    let dir = tmp("shakespeare");
    let text = std::fs::read_to_string(repo().join("specs/shakespeare_gru.toml")).unwrap();
    let short = text
        .replace("max_chars = 2000000", "max_chars = 200000\nstep = 30")
        .replace("units = 256", "units = 64")
        .replace("datasets/tinyshakespeare", &repo().join("../shared/data/tinyshakespeare").display().to_string());
    let v = train_spec(&dir, &short.replace("epochs = 10000", "epochs = 1"));
    assert_eq!(v["epochs"], 1);
    let val = v["val_loss"].as_f64().unwrap();
    assert!(val < 3.0, "validation loss {val} nats per character after 47 steps (4.17 untrained)");
    // The budget itself: `time_limit` stops training inside the first epoch (47 steps take
    // seconds), where 10,000 epochs were asked for.
    let budget = tmp("shakespeare_budget");
    let v = train_spec(&budget, &short.replace("time_limit = 504", "time_limit = 0.2"));
    assert_eq!(v["epochs"], 1, "a 0.2 s budget ran {} epochs", v["epochs"]);
    let report = std::fs::read_to_string(dir.join("run/report.html")).unwrap();
    assert!(report.contains("Generated samples") && report.contains("temperature 0.5, seed &quot;ROMEO:&quot;"));
    let model = dir.join("run/model.sinew");
    let o =
        sinew(&["predict", model.to_str().unwrap(), "--seed-text", "ROMEO:", "--length", "40", "--temperature", "0.5"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let g: Value = serde_json::from_str(String::from_utf8_lossy(&o.stdout).trim()).unwrap();
    assert_eq!(g["generated"].as_str().unwrap().chars().count(), 40);
    // A character the text never had, and a vocabulary the model cannot hold, are clear errors.
    let o = sinew(&["predict", model.to_str().unwrap(), "--seed-text", "ROMEO~€", "--length", "5"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("seed text"), "{}", String::from_utf8_lossy(&o.stderr));
    let narrow = short.replace("input_dim = 65", "input_dim = 40");
    let path = dir.join("narrow.toml");
    std::fs::write(&path, narrow).unwrap();
    let o = sinew(&["train", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("input_dim is 40") && e.contains("65 distinct characters"), "{e}");
    // A seed text the model cannot read fails before training, not after it.
    let path = dir.join("bad_seed.toml");
    std::fs::write(&path, short.replace("seed_text = \"ROMEO:\"", "seed_text = \"ROMEO~€\"")).unwrap();
    let t = std::time::Instant::now();
    let o = sinew(&["train", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("output.seed_text"), "{e}");
    assert!(t.elapsed().as_secs_f64() < 5.0, "the bad seed text was found only after training");
    // Flags that do not apply to the model are refused.
    let o = sinew(&["predict", model.to_str().unwrap(), "--seed-text", "ROMEO:", "--horizon", "3"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--horizon applies to a time-series model"));
}

/// Issue 16: an autoencoder from a spec: `[[model.encoder]]` and `[[model.decoder]]`, each a
/// model inside the autoencoder, trained to give back the input; the report shows test images
/// over their reconstructions, and `run.json` rebuilds it.
#[test]
fn an_autoencoder_trains_from_a_spec_and_shows_its_reconstructions() {
    let dir = tmp("autoencoder");
    let o = sinew(&[
        "--quiet",
        "--json",
        "train",
        "specs/mnist_denoising_autoencoder.toml",
        "--epochs",
        "1",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let loss = stdout_json(&o)["metrics"]["loss"].as_f64().unwrap();
    assert!(loss < 0.2, "test BCE after one epoch: {loss}");
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("Reconstructions of test images") && html.contains("encoder (Sequential)"));
    std::fs::remove_file(dir.join("report.html")).unwrap();
    let o = sinew(&["--quiet", "report", dir.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(std::fs::read_to_string(dir.join("report.html")).unwrap().contains("Reconstructions of test images"));
    // `sinew predict` serves classifiers: an autoencoder's model file is refused, not misread.
    let model = dir.join("model.sinew");
    let o = sinew(&["predict", model.to_str().unwrap(), dir.join("digit.png").to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("outputs 784 values per image"), "{err}");

    // A decoder that does not give back the input's shape is refused before training, at its line.
    let bad = tmp("autoencoder_bad");
    let spec = "[data]\nsource = \"digits\"\n\n[model]\ntype = \"autoencoder\"\n\n[[model.encoder]]\nclass = \"Dense\"\nunits = 8\n\n[[model.decoder]]\nclass = \"Dense\"\nunits = 10\n\n[compile]\nloss = \"mse\"\n";
    let path = bad.join("spec.toml");
    std::fs::write(&path, spec).unwrap();
    let o = sinew(&["check", path.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains(":11: model.decoder") && err.contains("[64]"), "{err}");
    // Encoder and decoder lists belong to an autoencoder.
    std::fs::write(&path, spec.replace("type = \"autoencoder\"\n", "")).unwrap();
    let o = sinew(&["check", path.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("applies to model.type = \"autoencoder\""), "{err}");
}

/// Issue 16: a GAN from a spec, trained the notes' way; the report shows a row of samples per
/// epoch and the two losses.
#[test]
fn a_gan_trains_from_a_spec_and_shows_its_samples() {
    let dir = tmp("gan");
    let o =
        sinew(&["--quiet", "--json", "train", "specs/mnist_gan.toml", "--epochs", "1", "--out", dir.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v = stdout_json(&o);
    for key in ["d_loss", "g_loss"] {
        assert!(v["metrics"][key].as_f64().is_some_and(f64::is_finite), "{v}");
    }
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(
        html.contains("Generated samples") && html.contains("epoch 1") && html.contains("discriminator (Sequential)")
    );
    // A GAN needs images.
    let bad = tmp("gan_bad");
    let spec = std::fs::read_to_string(repo().join("specs/mnist_gan.toml"))
        .unwrap()
        .replace("source = \"mnist\"", "source = \"sklearn_csv\"\npath = \"datasets/sklearn-small/iris.csv\"");
    let path = bad.join("spec.toml");
    std::fs::write(&path, spec).unwrap();
    let o = sinew(&["--quiet", "train", path.to_str().unwrap(), "--out", bad.join("run").to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("a GAN trains on images"), "{err}");
}

/// Issue 18: `[data] source = "mnist"` with `dir` naming the user's own folder of IDX files in
/// MNIST's layout (another data set, another image size) trains: only the headers and sizes
/// are checked there, not MNIST's checksums. A truncated file is still refused, by name.
#[test]
fn an_mnist_layout_folder_of_the_users_own_trains() {
    let dir = tmp("own_idx");
    let idx = |dims: &[u32], data: Vec<u8>| {
        let mut b = vec![0, 0, 8, dims.len() as u8];
        dims.iter().for_each(|d| b.extend(d.to_be_bytes()));
        b.extend(data);
        b
    };
    let images = |n: u32| idx(&[n, 8, 8], (0..n * 64).map(|i| (i * 37 % 256) as u8).collect());
    let labels = |n: u32| idx(&[n], (0..n).map(|i| (i % 10) as u8).collect());
    std::fs::write(dir.join("train-images-idx3-ubyte"), images(200)).unwrap();
    std::fs::write(dir.join("train-labels-idx1-ubyte"), labels(200)).unwrap();
    std::fs::write(dir.join("t10k-images-idx3-ubyte"), images(50)).unwrap();
    std::fs::write(dir.join("t10k-labels-idx1-ubyte"), labels(50)).unwrap();
    let spec = format!(
        "[data]\nsource = \"mnist\"\ndir = \"{}\"\n\n[model]\n\n[[model.layers]]\nclass = \"Dense\"\nunits = 10\nactivation = \"softmax\"\n\n[compile]\nloss = \"sparse_categorical_crossentropy\"\n",
        dir.display()
    );
    let v = train_spec(&dir, &spec);
    assert!(v["metrics"]["loss"].as_f64().is_some_and(f64::is_finite), "{v}");
    let truncated = images(50);
    std::fs::write(dir.join("t10k-images-idx3-ubyte"), &truncated[..truncated.len() - 10]).unwrap();
    let path = dir.join("spec.toml");
    let o = sinew(&["--quiet", "train", path.to_str().unwrap(), "--out", dir.join("run2").to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("t10k-images-idx3-ubyte") && err.contains("truncated"), "{err}");
}

/// Issue 18: a CSV with a header and no rows, and one too small for a stratified split, each get
/// their own message, naming the file or the counts.
#[test]
fn empty_and_too_small_csv_inputs_get_their_own_messages() {
    let dir = tmp("small_csv");
    let spec = "[data]\nsource = \"csv\"\npath = \"t.csv\"\ntarget = \"label\"\nnumeric = [\"a\", \"b\"]\n\n[model]\n\n[[model.layers]]\nclass = \"Dense\"\nunits = 2\nactivation = \"softmax\"\n\n[compile]\nloss = \"sparse_categorical_crossentropy\"\n";
    let path = dir.join("spec.toml");
    std::fs::write(&path, spec).unwrap();
    let run = |csv: &str| {
        std::fs::write(dir.join("t.csv"), csv).unwrap();
        let o = sinew(&["--quiet", "train", path.to_str().unwrap(), "--out", dir.join("run").to_str().unwrap()]);
        assert!(!o.status.success());
        String::from_utf8_lossy(&o.stderr).to_string()
    };
    let e = run("a,b,label\n");
    assert!(e.contains("t.csv: has a header and no data rows"), "{e}");
    let e = run("a,b,label\n1,2,x\n3,4,y\n");
    assert!(e.contains("class 0 has only 1 sample") && e.contains("at least 2 per class"), "{e}");
    // A bad value is named at its line of the file (the header is line 1), wherever the shuffle
    // and the split put its row.
    let rows: Vec<String> = (0..12).map(|i| format!("{i},{},{}", i * 2, ["x", "y"][i % 2])).collect();
    for (bad, what) in [("inf", "is inf"), ("oops", "\"oops\" is not a number")] {
        let mut r = rows.clone();
        r[7] = format!("7,{bad},y");
        let e = run(&format!("a,b,label\n{}\n", r.join("\n")));
        assert!(e.contains("t.csv:9: ") && e.contains("column \"b\", line 9") && e.contains(what), "{e}");
    }
}

/// Issue 18: a run whose loss becomes NaN or infinite stops there (TerminateOnNaN is always on)
/// and fails naming the epoch and the batch.
#[test]
fn a_diverging_run_stops_and_names_the_epoch_and_batch() {
    let dir = tmp("diverge");
    let spec = "[data]\nsource = \"csv\"\npath = \"datasets/sklearn-small/diabetes_data_raw.csv.gz\"\ntarget_path = \"datasets/sklearn-small/diabetes_target.csv.gz\"\nheader = false\nseparator = \" \"\ncolumn_names = [\"age\", \"sex\", \"bmi\", \"bp\", \"s1\", \"s2\", \"s3\", \"s4\", \"s5\", \"s6\"]\ntarget = \"progression\"\nnumeric = [\"age\", \"sex\", \"bmi\", \"bp\", \"s1\", \"s2\", \"s3\", \"s4\", \"s5\", \"s6\"]\n\n[model]\n\n[[model.layers]]\nclass = \"Dense\"\nunits = 1\n\n[compile]\noptimizer = \"sgd\"\nlearning_rate = 10.0\nloss = \"mse\"\n\n[fit]\nepochs = 20\n";
    let path = dir.join("spec.toml");
    std::fs::write(&path, spec).unwrap();
    let o = sinew(&["--quiet", "train", path.to_str().unwrap(), "--out", dir.join("run").to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("training diverged: the loss of epoch 1, batch "), "{err}");
    assert!(!dir.join("run").join("model.sinew").exists());
}

/// Issue 18, determinism: a seeded spec trained twice writes byte-identical model files.
#[test]
fn a_seeded_spec_trains_to_identical_bytes() {
    let model = |name: &str| {
        let dir = tmp(name);
        let o = sinew(&["--quiet", "train", "specs/breast_cancer_ann.toml", "--out", dir.to_str().unwrap()]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        std::fs::read(dir.join("model.sinew")).unwrap()
    };
    // Three processes: the header's key order once varied from process to process (a HashMap).
    let a = model("same_a");
    for name in ["same_b", "same_c"] {
        let b = model(name);
        assert!(a == b, "two seeded runs wrote different model files ({} and {} bytes)", a.len(), b.len());
    }
}
