//! Parity with Keras 3 `timeseries_dataset_from_array` (fixtures from
//! `tests/fixtures/gen/gen_keras_timeseries.py`; no Python at test time).

use serde_json::Value;
use sinew_data::{timeseries_windows, Windows};
use sinew_tensor::Tensor;

const FIXTURE: &str = include_str!("fixtures/keras_timeseries.json");

#[test]
fn windows_match_keras_timeseries_dataset_from_array() {
    let root: Value = serde_json::from_str(FIXTURE).unwrap();
    let data = Tensor::from_vec_f64((0..60).map(f64::from).collect(), [30, 2]);
    let targets = Tensor::from_vec_f64((100..130).map(f64::from).collect(), [30]);
    let cases = root["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 3);
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let a = &c["args"];
        let get = |k: &str, d: usize| a.get(k).and_then(Value::as_u64).map_or(d, |v| v as usize);
        let mut w = Windows::new(get("sequence_length", 0))
            .sequence_stride(get("sequence_stride", 1))
            .sampling_rate(get("sampling_rate", 1));
        if a.get("start_index").is_some() {
            w = w.range(get("start_index", 0), get("end_index", 30));
        }
        let t = c["targets"].as_bool().unwrap().then_some(&targets);
        let (x, y) = timeseries_windows(&data, t, w).unwrap();
        let want_shape: Vec<usize> =
            c["x_shape"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
        assert_eq!(x.dims(), want_shape.as_slice(), "{name}: shape");
        let want_x: Vec<f64> = c["x"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        assert_eq!(x.to_vec_f64(), want_x, "{name}: windows");
        if let Some(want_y) = c["y"].as_array() {
            let want_y: Vec<f64> = want_y.iter().map(|v| v.as_f64().unwrap()).collect();
            assert_eq!(y.unwrap().to_vec_f64(), want_y, "{name}: targets");
        }
    }
}
