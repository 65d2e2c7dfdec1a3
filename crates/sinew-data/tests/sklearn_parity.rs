//! Parity with scikit-learn for the evaluation reports and scalers (fixtures from
//! `tests/fixtures/gen/gen_sklearn_reports.py`; no Python at test time), and their errors.

use serde_json::Value;
use sinew_data::*;
use sinew_tensor::Tensor;

const FIXTURE: &str = include_str!("fixtures/sklearn_reports.json");

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}
fn ids(v: &Value) -> Vec<usize> {
    v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as usize).collect()
}
fn matrix(v: &Value) -> Tensor {
    let rows: Vec<Vec<f64>> = v.as_array().unwrap().iter().map(floats).collect();
    let (n, d) = (rows.len(), rows[0].len());
    Tensor::from_vec_f64(rows.concat(), [n, d])
}
fn close(what: &str, got: f64, want: f64) {
    assert!((got - want).abs() <= 1e-12 * (1.0 + want.abs()), "{what}: sinew {got} vs scikit-learn {want}");
}

#[test]
fn classification_report_matches_scikit_learn_numbers_and_text() {
    let root: Value = serde_json::from_str(FIXTURE).unwrap();
    for c in root["classification"].as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        let k = c["classes"].as_u64().unwrap() as usize;
        let (t, p) = (ids(&c["y_true"]), ids(&c["y_pred"]));
        let cm = confusion_matrix(&t, &p, k).unwrap();
        let want: Vec<Vec<usize>> = c["confusion"].as_array().unwrap().iter().map(ids).collect();
        assert_eq!(cm, want, "{name}: confusion matrix");
        let names: Option<Vec<&str>> =
            c["target_names"].as_array().map(|a| a.iter().map(|s| s.as_str().unwrap()).collect());
        let r = classification_report(&t, &p, k, names.as_deref()).unwrap();
        for (i, (s, w)) in r.classes.iter().zip(c["per_class"].as_array().unwrap()).enumerate() {
            let w = floats(w);
            close(&format!("{name} class {i} precision"), s.precision, w[0]);
            close(&format!("{name} class {i} recall"), s.recall, w[1]);
            close(&format!("{name} class {i} f1"), s.f1, w[2]);
            assert_eq!(s.support, w[3], "{name} class {i} support");
        }
        close(&format!("{name} accuracy"), r.accuracy, c["accuracy"].as_f64().unwrap());
        let (m, w) = (floats(&c["macro"]), floats(&c["weighted"]));
        for (i, (got_m, got_w)) in [
            (r.macro_avg.precision, r.weighted_avg.precision),
            (r.macro_avg.recall, r.weighted_avg.recall),
            (r.macro_avg.f1, r.weighted_avg.f1),
        ]
        .into_iter()
        .enumerate()
        {
            close(&format!("{name} macro {i}"), got_m, m[i]);
            close(&format!("{name} weighted {i}"), got_w, w[i]);
        }
        assert_eq!(r.to_string(), c["text"].as_str().unwrap(), "{name}: report text");
    }
}

#[test]
fn regression_report_matches_scikit_learn() {
    let root: Value = serde_json::from_str(FIXTURE).unwrap();
    for c in root["regression"].as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        let r = regression_report(&floats(&c["y_true"]), &floats(&c["y_pred"])).unwrap();
        for (k, got) in [
            ("mae", r.mae),
            ("mse", r.mse),
            ("rmse", r.rmse),
            ("r2", r.r2),
            ("explained_variance", r.explained_variance),
        ] {
            close(&format!("{name} {k}"), got, c[k].as_f64().unwrap());
        }
    }
}

#[test]
fn scalers_match_scikit_learn_and_round_trip() {
    let root: Value = serde_json::from_str(FIXTURE).unwrap();
    let s = &root["scalers"];
    let (x, x_new) = (matrix(&s["x"]), matrix(&s["x_new"]));
    let check = |what: &str, got: &Tensor, want: &Tensor| {
        for (a, b) in got.to_vec_f64().iter().zip(want.to_vec_f64()) {
            assert!((a - b).abs() <= 1e-12 * (1.0 + b.abs()), "{what}: sinew {a} vs scikit-learn {b}");
        }
    };
    let mm = MinMaxScaler::fit(&x).unwrap();
    check("minmax", &mm.transform(&x_new).unwrap(), &matrix(&s["minmax"]));
    check(
        "minmax_range",
        &MinMaxScaler::fit_range(&x, (-1.0, 2.0)).unwrap().transform(&x_new).unwrap(),
        &matrix(&s["minmax_range"]),
    );
    let ss = StandardScaler::fit(&x).unwrap();
    check("standard", &ss.transform(&x_new).unwrap(), &matrix(&s["standard"]));
    // Inverse and JSON round trips.
    check("minmax inverse", &mm.inverse_transform(&mm.transform(&x_new).unwrap()).unwrap(), &x_new);
    check("standard inverse", &ss.inverse_transform(&ss.transform(&x_new).unwrap()).unwrap(), &x_new);
    assert_eq!(MinMaxScaler::from_json(&mm.to_json()).unwrap(), mm);
    assert_eq!(StandardScaler::from_json(&ss.to_json()).unwrap(), ss);
}

#[test]
fn bad_inputs_are_errors_that_name_the_problem() {
    assert_eq!(
        confusion_matrix(&[0, 1], &[0], 2).unwrap_err().message,
        "confusion_matrix: y_true has 2 labels but y_pred has 1"
    );
    assert!(confusion_matrix(&[0, 3], &[0, 1], 3).unwrap_err().message.contains("sample 1 has labels 3 (true)"));
    assert!(classification_report(&[0, 1], &[0, 1], 2, Some(&["a"]))
        .unwrap_err()
        .message
        .contains("1 target_names for 2 classes"));
    assert_eq!(
        regression_report(&[1.0, f64::NAN], &[1.0, 2.0]).unwrap_err().message,
        "regression_report: y_true[1] is not finite"
    );
    let nan = Tensor::from_vec(vec![1.0, f32::NAN, 3.0, 4.0], [2, 2]);
    assert_eq!(
        StandardScaler::fit(&nan).unwrap_err().message,
        "StandardScaler.fit: value at row 0, column 1 is not finite"
    );
    let mm = MinMaxScaler::fit(&Tensor::zeros([3, 2])).unwrap();
    assert_eq!(
        mm.transform(&Tensor::zeros([3, 3])).unwrap_err().message,
        "MinMaxScaler.transform: fitted on 2 features, got shape [3, 3]"
    );
    assert!(MinMaxScaler::from_json(&serde_json::json!({"data_min": [0.0]})).is_err());
    // Found by the csv fuzz target: a table without numeric columns reached the scalers, which
    // panicked splitting rows of zero width.
    for e in [
        StandardScaler::fit(&Tensor::zeros([3, 0])).unwrap_err(),
        MinMaxScaler::fit(&Tensor::zeros([3, 0])).unwrap_err(),
    ] {
        assert!(e.message.ends_with("no feature columns (shape [3, 0])"), "{}", e.message);
    }
}

#[test]
fn train_test_split_sizes_shuffles_and_stratifies() {
    let s = train_test_split(10, 0.25, false, 0, None).unwrap();
    assert_eq!(
        (s.train.clone(), s.test.clone()),
        ((0..7).collect::<Vec<_>>(), vec![7, 8, 9]),
        "ceil(2.5) = 3 test rows, in order"
    );
    let a = train_test_split(100, 0.2, true, 42, None).unwrap();
    assert_eq!(a, train_test_split(100, 0.2, true, 42, None).unwrap(), "seeded");
    let mut all: Vec<usize> = a.train.iter().chain(&a.test).copied().collect();
    all.sort();
    assert_eq!(all, (0..100).collect::<Vec<_>>(), "a partition of the rows");
    // 70 of class 0, 30 of class 1: a 20% stratified test set holds 14 and 6.
    let labels: Vec<usize> = (0..100).map(|i| usize::from(i >= 70)).collect();
    let st = train_test_split(100, 0.2, true, 1, Some(&labels)).unwrap();
    assert_eq!(st.test.len(), 20);
    assert_eq!(st.test.iter().filter(|&&i| labels[i] == 1).count(), 6);
    assert!(train_test_split(10, 1.5, true, 0, None)
        .unwrap_err()
        .message
        .contains("test_size must be in (0, 1), got 1.5"));
    assert!(train_test_split(10, 0.2, true, 0, Some(&[0, 1]))
        .unwrap_err()
        .message
        .contains("stratify has 2 labels for 10 samples"));
    // Issue 18: too few rows for a stratified split say so, with the counts.
    let e = train_test_split(5, 0.2, true, 0, Some(&[0, 0, 1, 1, 2])).unwrap_err().message;
    assert!(e.contains("class 2 has only 1 sample") && e.contains("at least 2 per class"), "{e}");
    let e = train_test_split(6, 0.2, true, 0, Some(&[0, 0, 1, 1, 2, 2])).unwrap_err().message;
    assert!(e.contains("gives 2 test and 4 train rows for 3 classes"), "{e}");
}

#[test]
fn roc_curve_auc_and_average_precision_match_scikit_learn() {
    let root: Value = serde_json::from_str(FIXTURE).unwrap();
    for c in root["roc"].as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        let r = roc_curve(&ids(&c["y_true"]), &floats(&c["y_score"])).unwrap();
        let (fpr, tpr) = (floats(&c["fpr"]), floats(&c["tpr"]));
        assert_eq!(r.fpr.len(), fpr.len(), "{name}: number of points");
        for i in 0..fpr.len() {
            close(&format!("{name} fpr[{i}]"), r.fpr[i], fpr[i]);
            close(&format!("{name} tpr[{i}]"), r.tpr[i], tpr[i]);
        }
        let thr = c["thresholds"].as_array().unwrap();
        assert!(thr[0].is_null() && r.thresholds[0] == f64::INFINITY, "{name}: first threshold is infinite");
        for i in 1..thr.len() {
            close(&format!("{name} threshold[{i}]"), r.thresholds[i], thr[i].as_f64().unwrap());
        }
        close(
            &format!("{name} auc"),
            roc_auc_score(&ids(&c["y_true"]), &floats(&c["y_score"])).unwrap(),
            c["auc"].as_f64().unwrap(),
        );
        // The area under the precision-recall curve (AUC-PR), as scikit-learn steps it.
        close(
            &format!("{name} average precision"),
            average_precision_score(&ids(&c["y_true"]), &floats(&c["y_score"])).unwrap(),
            c["average_precision"].as_f64().unwrap(),
        );
    }
    assert!(average_precision_score(&[0, 0], &[0.2, 0.3]).unwrap_err().message.contains("no positive"));
    assert!(roc_curve(&[1, 1], &[0.2, 0.3]).unwrap_err().message.contains("needs both classes"));
    assert!(roc_curve(&[0, 2], &[0.2, 0.3]).unwrap_err().message.contains("label 1 is 2"));
}

#[test]
fn simple_imputer_matches_scikit_learn() {
    let root: Value = serde_json::from_str(FIXTURE).unwrap();
    let c = &root["imputer"];
    let rows: Vec<Vec<f64>> = c["x"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_array().unwrap().iter().map(|v| v.as_f64().unwrap_or(f64::NAN)).collect())
        .collect();
    let x = Tensor::from_vec_f64(rows.concat(), [rows.len(), rows[0].len()]);
    for (key, strategy) in
        [("mean", Strategy::Mean), ("median", Strategy::Median), ("most_frequent", Strategy::MostFrequent)]
    {
        let got = SimpleImputer::fit(&x, strategy).unwrap().transform(&x).unwrap().to_vec_f64();
        for (i, (a, b)) in got.iter().zip(matrix(&c[key]).to_vec_f64()).enumerate() {
            assert!((a - b).abs() <= 1e-12 * (1.0 + b.abs()), "{key}[{i}]: sinew {a} vs scikit-learn {b}");
        }
    }
}

/// Every report and curve with scikit-learn's `sample_weight` (zero weights included).
#[test]
fn weighted_reports_match_scikit_learn() {
    let root: Value = serde_json::from_str(FIXTURE).unwrap();
    let cases = root["weighted"].as_array().unwrap();
    assert_eq!(cases.len(), 2);
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let k = c["classes"].as_u64().unwrap() as usize;
        let (t, p, w) = (ids(&c["y_true"]), ids(&c["y_pred"]), floats(&c["sample_weight"]));
        let cm = confusion_matrix_weighted(&t, &p, k, &w).unwrap();
        for (row, want) in cm.iter().zip(c["confusion"].as_array().unwrap()) {
            for (got, want) in row.iter().zip(floats(want)) {
                close(&format!("{name} weighted confusion"), *got, want);
            }
        }
        let r = classification_report_weighted(&t, &p, k, None, &w).unwrap();
        for (i, (s, want)) in r.classes.iter().zip(c["per_class"].as_array().unwrap()).enumerate() {
            let want = floats(want);
            for (what, got, want) in [
                ("precision", s.precision, want[0]),
                ("recall", s.recall, want[1]),
                ("f1", s.f1, want[2]),
                ("support", s.support, want[3]),
            ] {
                close(&format!("{name} class {i} {what}"), got, want);
            }
        }
        close(&format!("{name} accuracy"), r.accuracy, c["accuracy"].as_f64().unwrap());
        let (m, wa) = (floats(&c["macro"]), floats(&c["weighted"]));
        for (i, (gm, gw)) in [
            (r.macro_avg.precision, r.weighted_avg.precision),
            (r.macro_avg.recall, r.weighted_avg.recall),
            (r.macro_avg.f1, r.weighted_avg.f1),
        ]
        .into_iter()
        .enumerate()
        {
            close(&format!("{name} macro {i}"), gm, m[i]);
            close(&format!("{name} weighted avg {i}"), gw, wa[i]);
        }
        let reg = regression_report_weighted(&floats(&c["reg_true"]), &floats(&c["reg_pred"]), &w).unwrap();
        for (what, got) in
            [("mae", reg.mae), ("mse", reg.mse), ("r2", reg.r2), ("explained_variance", reg.explained_variance)]
        {
            close(&format!("{name} weighted {what}"), got, c[what].as_f64().unwrap());
        }
        let (yb, score) = (ids(&c["binary_true"]), floats(&c["score"]));
        let roc = roc_curve_weighted(&yb, &score, &w).unwrap();
        let (fpr, tpr) = (floats(&c["fpr"]), floats(&c["tpr"]));
        assert_eq!(roc.fpr.len(), fpr.len(), "{name}: weighted ROC points");
        for (i, (g, want)) in roc.fpr.iter().zip(&fpr).chain(roc.tpr.iter().zip(&tpr)).enumerate() {
            close(&format!("{name} weighted ROC point {i}"), *g, *want);
        }
        close(
            &format!("{name} weighted auc"),
            roc_auc_score_weighted(&yb, &score, &w).unwrap(),
            c["auc"].as_f64().unwrap(),
        );
        close(
            &format!("{name} weighted average precision"),
            average_precision_score_weighted(&yb, &score, &w).unwrap(),
            c["average_precision"].as_f64().unwrap(),
        );
    }
    // Unit weights give the plain reports; bad weights are errors naming the weight.
    let (t, p) = ([0, 1, 1, 0, 2], [0, 1, 0, 0, 2]);
    assert_eq!(
        classification_report_weighted(&t, &p, 3, None, &[1.0; 5]).unwrap(),
        classification_report(&t, &p, 3, None).unwrap()
    );
    let e = classification_report_weighted(&t, &p, 3, None, &[1.0, -1.0, 1.0, 1.0, 1.0]).unwrap_err().message;
    assert!(e.contains("sample weight 1 is -1"), "{e}");
    assert!(regression_report_weighted(&[1.0, 2.0], &[1.0, 2.5], &[0.0, 0.0])
        .unwrap_err()
        .message
        .contains("every sample weight is 0"));
    assert!(roc_curve_weighted(&[0, 1], &[0.1, 0.9], &[1.0])
        .unwrap_err()
        .message
        .contains("2 samples but 1 sample weights"));
}
