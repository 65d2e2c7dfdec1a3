//! The self-organizing map against MiniSom 2.3.6 (`tests/fixtures/minisom_iris.json`, written
//! by `tests/fixtures/gen/gen_minisom.py`): standardised iris, a 7x6 map started from the same
//! weights as MiniSom's `random_weights_init`, trained on the samples in turn. Three cases: a
//! rectangular grid with a Gaussian neighbourhood, a hexagonal grid, and a bubble
//! neighbourhood. The final weights, the quantisation error, the U-matrix (summed and averaged)
//! and the topographic error match.

use serde_json::Value;
use sinew_classic::{Neighborhood, Som, SomOptions, Topology};
use sinew_tensor::Tensor;

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

#[test]
fn the_map_matches_minisom_on_iris() {
    let text = include_str!("fixtures/minisom_iris.json");
    let f: Value = serde_json::from_str(text).unwrap();
    let (n, dim) = (f["n"].as_u64().unwrap() as usize, f["dim"].as_u64().unwrap() as usize);
    let data = Tensor::from_vec_f64(floats(&f["data"]), [n, dim]);
    for case in f["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let (x, y) = (case["x"].as_u64().unwrap() as usize, case["y"].as_u64().unwrap() as usize);
        let opts = SomOptions::new()
            .sigma(case["sigma"].as_f64().unwrap())
            .learning_rate(case["learning_rate"].as_f64().unwrap())
            .neighborhood(match case["neighborhood_function"].as_str().unwrap() {
                "gaussian" => Neighborhood::Gaussian,
                _ => Neighborhood::Bubble,
            })
            .topology(match case["topology"].as_str().unwrap() {
                "rectangular" => Topology::Rectangular,
                _ => Topology::Hexagonal,
            });
        let mut som = Som::new(x, y, dim, opts).unwrap();
        som.set_weights(&Tensor::from_vec_f64(floats(&case["initial"]), [x, y, dim])).unwrap();
        som.train(&data, case["iterations"].as_u64().unwrap() as usize, false).unwrap();
        let (got, want) = (som.weights().to_vec_f64(), floats(&case["final"]));
        for (k, (a, b)) in got.iter().zip(&want).enumerate() {
            assert!((a - b).abs() < 1e-9, "{name}: weight {k}: {a} against MiniSom's {b}");
        }
        let qe = som.quantization_error(&data).unwrap();
        let want_qe = case["quantization_error"].as_f64().unwrap();
        assert!((qe - want_qe).abs() < 1e-9, "{name}: quantization error {qe} against {want_qe}");
        for (mean, key) in [(false, "distance_map_sum"), (true, "distance_map_mean")] {
            for (k, (a, b)) in som.distance_map(mean).iter().zip(floats(&case[key])).enumerate() {
                assert!((a - b).abs() < 1e-9, "{name}: {key}[{k}]: {a} against MiniSom's {b}");
            }
        }
        if let Some(te) = case.get("topographic_error").and_then(Value::as_f64) {
            assert_eq!(som.topographic_error(&data).unwrap(), te, "{name}: topographic error");
        }
        eprintln!("{name}: quantization error {qe:.6} (MiniSom {want_qe:.6})");
    }
}

#[test]
fn bad_shapes_and_settings_are_errors() {
    assert!(Som::new(0, 3, 2, SomOptions::new()).is_err());
    assert!(Som::new(2, 3, 2, SomOptions::new().sigma(0.0)).is_err());
    let mut som = Som::new(2, 3, 2, SomOptions::new()).unwrap();
    let e = som.train(&Tensor::zeros([4, 3]), 10, false).unwrap_err().to_string();
    assert!(e.contains("expected [samples, 2]"), "{e}");
    let nan = Tensor::from_vec(vec![1.0, f32::NAN], [1, 2]);
    assert!(som.train(&nan, 10, false).unwrap_err().to_string().contains("sample 0, value 1 is not finite"));
    assert!(som.winner(&[1.0]).is_err());
    assert!(som.set_weights(&Tensor::zeros([5])).is_err());
}

#[test]
fn training_orders_the_map_and_lowers_the_quantization_error() {
    // Two well-separated clusters: after training, their samples win different units, and the
    // quantisation error falls below the initial one.
    let mut rng = sinew_tensor::Rng::seed(3);
    let a = Tensor::rand_normal([50, 3], 0.0, 0.1, &mut rng);
    let b = Tensor::rand_normal([50, 3], 0.0, 0.1, &mut rng).affine(1.0, 3.0);
    let data = Tensor::concat(&[&a, &b], 0);
    let mut som = Som::new(5, 5, 3, SomOptions::new().seed(1)).unwrap();
    som.random_weights_init(&data).unwrap();
    let before = som.quantization_error(&data).unwrap();
    som.train(&data, 1000, true).unwrap();
    let after = som.quantization_error(&data).unwrap();
    assert!(after < before, "{after} >= {before}");
    let wa = som.winner(&a.to_vec_f32()[..3]).unwrap();
    let wb = som.winner(&b.to_vec_f32()[..3]).unwrap();
    assert_ne!(wa, wb);
    assert_eq!(som.activation_response(&data).unwrap().iter().sum::<usize>(), 100);
}
