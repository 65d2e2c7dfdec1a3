//! The loaders on the staged real files: time-series CSVs (quoted headers, CRLF line endings, no
//! final newline) and the tiny-Shakespeare corpus, checked against the counts in MANIFEST.md.

use sinew_data::{find_dataset, read_time_series, TextCorpus};

#[test]
fn time_series_csvs_load_with_their_index() {
    let air =
        read_time_series(find_dataset("airline-passengers").unwrap().join("airline-passengers.csv"), &[]).unwrap();
    assert_eq!(air.columns, ["Passengers"]);
    assert_eq!(air.values.dims(), [144, 1]);
    assert_eq!((air.index[0].as_str(), air.index[143].as_str()), ("1949-01", "1960-12"));
    let v = air.values.to_vec_f32();
    assert_eq!((v[0], v[143]), (112.0, 432.0));
    let temps = find_dataset("daily-min-temperatures").unwrap().join("daily-min-temperatures.csv");
    let t = read_time_series(temps, &["Temp"]).unwrap();
    assert_eq!(t.values.dims(), [3650, 1]);
    let max = t.values.to_vec_f32().into_iter().fold(f32::MIN, f32::max);
    assert_eq!(max, 26.3);
    let retail = read_time_series(find_dataset("rsccasn").unwrap().join("RSCCASN.csv"), &[]).unwrap();
    assert_eq!((retail.values.dims()[0], retail.index[0].as_str()), (376, "1992-01-01"));
    let e = read_time_series(find_dataset("rsccasn").unwrap().join("RSCCASN.csv"), &["Sales"]).unwrap_err();
    assert!(e.message.contains("numeric column \"Sales\" is not in the file"), "{}", e.message);
}

#[test]
fn tiny_shakespeare_corpus() {
    let c = TextCorpus::load(find_dataset("tinyshakespeare").unwrap().join("input.txt")).unwrap();
    assert_eq!(c.text.len(), 1_115_394);
    assert_eq!(c.vocab_size(), 65);
    assert!(c.text.starts_with("First Citizen:\nBefore we proceed any further, hear me speak."));
    let (train, val) = c.split(0.9);
    assert_eq!(train.text.len() + val.text.len(), c.text.len());
    let (x, y) = train.next_char_windows(40, 3).unwrap();
    assert_eq!(x.dims()[1], 40);
    assert_eq!(x.dims()[0], y.dims()[0]);
}
