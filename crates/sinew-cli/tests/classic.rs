//! `sinew train` on the classic models' specs (issue 17): the iris SOM and the word2vec spec as
//! shipped (word2vec for one epoch), an RBM on the built-in digits from a spec written here, and
//! the errors a classic spec gets for what does not apply to it.

mod common;
use common::{repo, tmp};
use serde_json::Value;
use std::process::{Command, Output};

fn sinew(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sinew")).args(args).current_dir(repo()).output().expect("run sinew")
}

fn train(spec: &str, dir: &std::path::Path, extra: &[&str]) -> Value {
    let mut args = vec!["--quiet", "--json", "train", spec, "--out", dir.to_str().unwrap()];
    args.extend(extra);
    let o = sinew(&args);
    assert!(o.status.success(), "{spec}: {}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_str(String::from_utf8_lossy(&o.stdout).trim()).unwrap()
}

#[test]
fn the_iris_som_spec_maps_the_species() {
    let dir = tmp("iris_som");
    let v = train("specs/iris_som.toml", &dir, &[]);
    let m = &v["metrics"];
    let (qe, acc) = (m["quantization_error"].as_f64().unwrap(), m["winner_label_accuracy"].as_f64().unwrap());
    assert!(qe < 0.6 && acc >= 0.85, "{v}");
    assert!(m["topographic_error"].as_f64().is_some_and(|t| (0.0..=1.0).contains(&t)), "{v}");
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("U-matrix") && html.contains("Self-organizing map 7x7"), "the report shows the map");
}

#[test]
fn the_word2vec_spec_writes_vectors_gensim_reads() {
    let dir = tmp("w2v");
    let v = train("specs/shakespeare_word2vec.toml", &dir, &["--epochs", "1"]);
    assert_eq!(v["metrics"]["words"].as_f64(), Some(208_503.0), "{v}");
    let kv = sinew::classic::KeyedVectors::load_word2vec_format(dir.join("vectors.txt")).unwrap();
    assert_eq!(kv.len() as f64, v["metrics"]["vocabulary"].as_f64().unwrap());
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("nearest to &quot;king&quot;"), "the report lists the neighbours");
}

#[test]
fn an_rbm_spec_trains_on_the_digits_and_shows_its_filters() {
    let dir = tmp("rbm");
    let spec = dir.join("digits_rbm.toml");
    std::fs::write(
        &spec,
        "[data]\nsource = \"digits\"\nscale = \"minmax\"\n\n[model]\ntype = \"rbm\"\nhidden = 32\nlearning_rate = 0.05\n\n[fit]\nepochs = 3\nbatch_size = 10\n",
    )
    .unwrap();
    let v = train(spec.to_str().unwrap(), &dir.join("run"), &[]);
    let m = &v["metrics"];
    assert!(m["pseudo_log_likelihood"].as_f64().is_some_and(|p| p < 0.0 && p > -40.0), "{v}");
    assert!(m["reconstruction_error"].as_f64().is_some_and(|r| r < 0.1), "{v}");
    let html = std::fs::read_to_string(dir.join("run/report.html")).unwrap();
    assert!(html.contains("Filters") && html.contains("Gibbs chains") && html.contains("pseudo_log_likelihood"));
}

#[test]
fn classic_specs_refuse_what_does_not_apply() {
    let dir = tmp("classic_bad");
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let run = |p: &std::path::Path| {
        let o = sinew(&["--quiet", "train", p.to_str().unwrap(), "--out", dir.join("run").to_str().unwrap()]);
        assert!(!o.status.success());
        String::from_utf8_lossy(&o.stderr).to_string()
    };
    let p = write("a.toml", "[data]\nsource = \"digits\"\n[model]\ntype = \"som\"\n[compile]\nloss = \"mse\"\n");
    let err = run(&p);
    assert!(err.contains("a.toml:5") && err.contains("compile: applies to models trained by backpropagation"), "{err}");
    let p = write("b.toml", "[data]\nsource = \"digits\"\n[model]\ntype = \"word2vec\"\n");
    let err = run(&p);
    assert!(err.contains("trains on a text source"), "{err}");
    let p = write("c.toml", "[data]\nsource = \"digits\"\n[model]\ntype = \"som\"\ntopolgy = \"hexagonal\"\n");
    let err = run(&p);
    assert!(err.contains("c.toml:5") && err.contains("topology"), "{err}");
    // Iris' measurements, unscaled, are no probabilities.
    let p = write(
        "d.toml",
        "[data]\nsource = \"sklearn_csv\"\npath = \"datasets/sklearn-small/iris.csv\"\n[model]\ntype = \"rbm\"\n",
    );
    let err = run(&p);
    assert!(err.contains("[0, 1]") && err.contains("data.scale = \"minmax\""), "{err}");
}

/// `[pretrain]` (a deep belief network): the sigmoid layers are pretrained as RBMs, then the
/// model is fine-tuned and saved as any other; a layer that is not a sigmoid Dense is refused.
#[test]
fn a_pretrained_network_fine_tunes_and_saves() {
    let dir = tmp("dbn");
    let layers = |act: &str| {
        format!(
            "[[model.layers]]\nclass = \"Dense\"\nunits = 64\nactivation = \"{act}\"\n\n[[model.layers]]\nclass = \"Dense\"\nunits = 10\nactivation = \"softmax\"\n"
        )
    };
    let spec = |act: &str| {
        format!(
            "[data]\nsource = \"digits\"\n\n{}\n[pretrain]\nepochs = 2\n\n[compile]\noptimizer = \"sgd\"\nlearning_rate = 0.1\nmomentum = 0.9\nloss = \"categorical_crossentropy\"\nmetrics = [\"accuracy\"]\n\n[fit]\nepochs = 10\nbatch_size = 20\n",
            layers(act)
        )
    };
    let path = dir.join("dbn.toml");
    std::fs::write(&path, spec("sigmoid")).unwrap();
    let o = sinew(&["--json", "train", path.to_str().unwrap(), "--out", dir.join("run").to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("pretraining layer 1 epoch 2/2"), "{err}");
    let v: Value = serde_json::from_str(String::from_utf8_lossy(&o.stdout).trim()).unwrap();
    assert!(v["metrics"]["accuracy"].as_f64().is_some_and(|a| a >= 0.9), "{v}");
    assert!(dir.join("run/model.sinew").is_file());
    std::fs::write(&path, spec("relu")).unwrap();
    let o = sinew(&["--quiet", "train", path.to_str().unwrap(), "--out", dir.join("run2").to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("pretrains sigmoid Dense layers"), "{err}");
    // Momentum is SGD's (Keras `SGD(momentum=...)`).
    std::fs::write(&path, spec("sigmoid").replace("\"sgd\"", "\"adam\"")).unwrap();
    let o = sinew(&["--quiet", "check", path.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("compile.momentum: applies to optimizer = \"sgd\""), "{err}");
}
