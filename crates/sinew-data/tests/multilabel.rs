//! Multi-label metrics and `MultiLabelBinarizer` against scikit-learn
//! (`tests/fixtures/sklearn_multilabel.json`, written by
//! `tests/fixtures/gen_sklearn_multilabel.py`): a case with a label never present and one never
//! predicted, where scikit-learn's zero-division default decides the scores.

use serde_json::Value;
use sinew_data::{multilabel_report, MultiLabelBinarizer};
use sinew_tensor::Tensor;

fn matrix(v: &Value) -> Tensor {
    let rows: Vec<Vec<f64>> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect())
        .collect();
    let (n, k) = (rows.len(), rows[0].len());
    Tensor::from_vec_f64(rows.concat(), [n, k])
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

#[test]
fn the_report_matches_scikit_learn() {
    let f: Value = serde_json::from_str(include_str!("fixtures/sklearn_multilabel.json")).unwrap();
    let names: Vec<String> = (0..5).map(|j| format!("label {j}")).collect();
    let r = multilabel_report(&matrix(&f["truth"]), &matrix(&f["scores"]), &names, 0.5).unwrap();
    let close = |a: f64, b: f64, what: &str| assert!((a - b).abs() < 1e-12, "{what}: {a} against scikit-learn's {b}");
    close(r.subset_accuracy, f["subset_accuracy"].as_f64().unwrap(), "subset accuracy");
    close(r.hamming_loss, f["hamming_loss"].as_f64().unwrap(), "Hamming loss");
    close(r.micro_f1, f["micro_f1"].as_f64().unwrap(), "micro F1");
    close(r.macro_f1, f["macro_f1"].as_f64().unwrap(), "macro F1");
    for (j, l) in r.labels.iter().enumerate() {
        close(l.precision, floats(&f["precision"])[j], "precision");
        close(l.recall, floats(&f["recall"])[j], "recall");
        close(l.f1, floats(&f["f1"])[j], "f1");
        assert_eq!(l.support as f64, floats(&f["support"])[j]);
    }
    assert!(r.to_string().contains("Hamming loss"));
}

#[test]
fn the_binarizer_matches_scikit_learn_and_names_an_unseen_label() {
    let f: Value = serde_json::from_str(include_str!("fixtures/sklearn_multilabel.json")).unwrap();
    let sets: Vec<Vec<String>> = f["sets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_string()).collect())
        .collect();
    let mlb = MultiLabelBinarizer::fit(&sets).unwrap();
    let classes: Vec<String> =
        f["classes"].as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_string()).collect();
    assert_eq!(mlb.classes(), &classes[..]);
    let y = mlb.transform(&sets).unwrap();
    assert_eq!(y.to_vec_f64(), matrix(&f["binarized"]).to_vec_f64());
    let back = mlb.inverse_transform(&y, 0.5).unwrap();
    let sorted: Vec<Vec<String>> = sets
        .iter()
        .map(|s| {
            let mut s = s.clone();
            s.sort();
            s
        })
        .collect();
    assert_eq!(back, sorted);
    let err = mlb.transform(&[vec!["z".to_string()]]).unwrap_err().to_string();
    assert!(err.contains("sample 0: label \"z\" was not seen"), "{err}");
}
