//! sinew's tables against pandas on the real Titanic and Adult files: `read_csv` (shape, which
//! columns are numeric, missing counts), `describe`, `corr` and `value_counts`. The fixture comes
//! from `tests/fixtures/gen/gen_pandas_eda.py`; the data from `../shared/data` (a missing file is
//! a failure, never a skip).

use serde_json::Value;
use sinew_data::{
    column_f64, column_str, corr, describe, find_dataset, missing_values, names, numeric_columns, read_csv,
    value_counts, CsvOptions, DataFrame,
};

const FIXTURE: &str = include_str!("fixtures/pandas_eda.json");

fn load(name: &str) -> DataFrame {
    match name {
        "titanic" => read_csv(find_dataset("titanic").unwrap().join("titanic.csv"), &CsvOptions::new()).unwrap(),
        "adult-test" => {
            let cols = [
                "age",
                "workclass",
                "fnlwgt",
                "education",
                "education-num",
                "marital-status",
                "occupation",
                "relationship",
                "race",
                "sex",
                "capital-gain",
                "capital-loss",
                "hours-per-week",
                "native-country",
                "income",
            ];
            let opts = CsvOptions::new().has_header(false).column_names(&cols).trim(true).null_values(&["?"]);
            read_csv(find_dataset("adult").unwrap().join("adult-test.csv"), &opts).unwrap()
        }
        other => panic!("unknown table {other}"),
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * (1.0 + b.abs())
}

#[test]
fn tables_match_pandas_read_csv_describe_and_corr() {
    let fx: Value = serde_json::from_str(FIXTURE).unwrap();
    for t in fx["tables"].as_array().unwrap() {
        let name = t["name"].as_str().unwrap();
        let df = load(name);
        assert_eq!(
            [df.height(), df.width()],
            [t["shape"][0].as_u64().unwrap() as usize, t["shape"][1].as_u64().unwrap() as usize],
            "{name}"
        );
        let want: Vec<String> =
            t["numeric"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
        assert_eq!(numeric_columns(&df), want, "{name}: numeric columns");
        let m = missing_values(&df).unwrap();
        let (cols, counts) = (column_str(&m, "column").unwrap(), column_f64(&m, "missing").unwrap());
        for (c, n) in cols.iter().zip(&counts) {
            let c = c.as_deref().unwrap();
            assert_eq!(n.unwrap(), t["missing"][c].as_f64().unwrap(), "{name}: missing in {c}");
        }
        let d = describe(&df).unwrap();
        let r = corr(&df).unwrap();
        for col in &want {
            let got = column_f64(&d, col).unwrap();
            for (k, (g, w)) in got.iter().zip(t["describe"][col].as_array().unwrap()).enumerate() {
                assert!(close(g.unwrap(), w.as_f64().unwrap()), "{name}: describe {col}[{k}] {g:?} vs {w}");
            }
            let got = column_f64(&r, col).unwrap();
            for (k, (g, w)) in got.iter().zip(t["corr"][col].as_array().unwrap()).enumerate() {
                assert!(close(g.unwrap(), w.as_f64().unwrap()), "{name}: corr {col}[{k}] {g:?} vs {w}");
            }
        }
        assert_eq!(names(&r)[1..], want[..]);
    }
}

#[test]
fn value_counts_match_pandas() {
    let fx: Value = serde_json::from_str(FIXTURE).unwrap();
    for (key, want) in fx["value_counts"].as_object().unwrap() {
        let (table, col) = key.split_once('/').unwrap();
        let v = value_counts(&load(table), col).unwrap();
        let (vals, counts) = (column_str(&v, col).unwrap(), column_f64(&v, "count").unwrap());
        assert_eq!(vals.len(), want.as_object().unwrap().len(), "{key}");
        for (v, c) in vals.iter().zip(&counts) {
            assert_eq!(c.unwrap(), want[v.as_deref().unwrap()].as_f64().unwrap(), "{key}: {v:?}");
        }
        // Most frequent first.
        assert!(counts.windows(2).all(|w| w[0] >= w[1]), "{key}");
    }
}
