//! The streaming metrics against scikit-learn (issue 22): Precision, Recall, F1, F2 and binary
//! accuracy at the 0.5 threshold, and R², on edge cases (ties at the threshold, perfect and
//! inverted scores, no positives, nothing predicted positive, several outputs). Fixtures from
//! `tests/fixtures/gen/gen_sklearn_metrics.py`; no Python at test time. Each case is fed in two
//! batches, so the accumulation across batches is checked too.

use serde_json::Value;
use sinew_tensor::Tensor;
use sinew_train::*;

const FIXTURE: &str = include_str!("fixtures/sklearn_metrics.json");

fn floats(v: &Value) -> Vec<f32> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect()
}

/// Runs `m` over the rows of `y` and `p` (each `[n, c]`) in two batches.
fn result(m: &mut dyn Metric, y: &[f32], p: &[f32], c: usize) -> f64 {
    let n = y.len() / c;
    let cut = n / 2;
    for (a, b) in [(0, cut), (cut, n)] {
        let t = |v: &[f32]| Tensor::from_vec(v[a * c..b * c].to_vec(), [b - a, c]);
        m.update(&t(y), &t(p));
    }
    m.result()
}

#[test]
fn confusion_metrics_match_scikit_learn() {
    let doc: Value = serde_json::from_str(FIXTURE).unwrap();
    for case in doc["binary"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let (y, s) = (floats(&case["y_true"]), floats(&case["y_score"]));
        let mut metrics: Vec<(&str, Box<dyn Metric>)> = vec![
            ("precision", Box::new(Confusion::new("p", ConfusionKind::Precision))),
            ("recall", Box::new(Confusion::new("r", ConfusionKind::Recall))),
            ("f1", Box::new(Confusion::new("f1", ConfusionKind::FBeta(1.0)))),
            ("f2", Box::new(Confusion::new("f2", ConfusionKind::FBeta(2.0)))),
            ("accuracy", Box::new(Accuracy::new("a", AccuracyKind::Binary))),
        ];
        for (key, m) in metrics.iter_mut() {
            let got = result(m.as_mut(), &y, &s, 1);
            let want = case[*key].as_f64().unwrap();
            assert!((got - want).abs() <= 1e-6, "{name}: {key} {got} vs scikit-learn {want}");
        }
    }
}

/// The streaming `AUC` counts at 200 fixed thresholds (Keras), so it differs from the exact
/// area where a positive and a negative score fall between the same two thresholds. Each such
/// pair moves the area by at most `1 / (P N)`; pairs closer than a bucket's width (1/199) are
/// counted, a superset of those, and bound the difference.
#[test]
fn streaming_auc_is_within_its_bucket_bound_of_scikit_learn() {
    let doc: Value = serde_json::from_str(FIXTURE).unwrap();
    let mut compared = 0;
    for case in doc["binary"].as_array().unwrap() {
        let Some(want) = case["roc_auc"].as_f64() else { continue };
        let name = case["name"].as_str().unwrap();
        let (y, s) = (floats(&case["y_true"]), floats(&case["y_score"]));
        let got = result(&mut Auc::new("auc", false), &y, &s, 1);
        let pos: Vec<f32> = y.iter().zip(&s).filter(|(t, _)| **t > 0.5).map(|(_, &v)| v).collect();
        let neg: Vec<f32> = y.iter().zip(&s).filter(|(t, _)| **t <= 0.5).map(|(_, &v)| v).collect();
        let close_pairs =
            pos.iter().map(|p| neg.iter().filter(|q| (p - *q).abs() < 1.0 / 199.0).count()).sum::<usize>();
        let bound = close_pairs as f64 / (pos.len() * neg.len()) as f64 + 1e-9;
        assert!((got - want).abs() <= bound, "{name}: streaming AUC {got} vs scikit-learn {want} (bound {bound})");
        compared += 1;
    }
    assert!(compared >= 4, "only {compared} cases have both classes");
}

#[test]
fn r2_matches_scikit_learn() {
    let doc: Value = serde_json::from_str(FIXTURE).unwrap();
    for case in doc["regression"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let rows = case["y_true"].as_array().unwrap();
        let c = rows[0].as_array().unwrap().len();
        let flat = |v: &Value| -> Vec<f32> { v.as_array().unwrap().iter().flat_map(floats).collect() };
        let got = result(&mut R2::new("r2"), &flat(&case["y_true"]), &flat(&case["y_pred"]), c);
        let want = case["r2"].as_f64().unwrap();
        // f32 inputs: the sums of squares carry about 7 digits.
        assert!((got - want).abs() <= 1e-5 * (1.0 + want.abs()), "{name}: r2 {got} vs scikit-learn {want}");
    }
}
