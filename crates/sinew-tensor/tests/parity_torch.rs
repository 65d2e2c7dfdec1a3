//! Parity with PyTorch for convolution, transposed convolution, pooling and upsampling, forward
//! and backward. The fixtures were generated once by `tests/fixtures/gen/gen_torch_conv_pool.py`
//! (its header says how) and permuted to sinew's NHWC/HWIO layouts; this test never runs Python.

use serde_json::Value;
use sinew_tensor::*;

const FIXTURE: &str = include_str!("fixtures/torch_conv_pool.json");

fn arr(v: &Value, key: &str) -> Vec<f64> {
    v[key]
        .as_array()
        .unwrap_or_else(|| panic!("fixture field {key} missing"))
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}
fn dims(v: &Value, key: &str) -> Vec<usize> {
    v[key]
        .as_array()
        .unwrap_or_else(|| panic!("fixture field {key} missing"))
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect()
}
fn p2(p: &Value, key: &str) -> [usize; 2] {
    let d = dims(p, key);
    [d[0], d[1]]
}
fn tensor(v: &Value, data: &str, shape: Vec<usize>) -> Tensor {
    Tensor::from_vec_f64(arr(v, data), shape).with_grad()
}

fn assert_close(name: &str, what: &str, got: &Tensor, want: &[f64]) {
    let g = got.to_vec_f64();
    assert_eq!(g.len(), want.len(), "{name}: {what} has {} values, fixture {}", g.len(), want.len());
    for (i, (a, b)) in g.iter().zip(want).enumerate() {
        assert!((a - b).abs() <= 1e-9 * (1.0 + b.abs()), "{name}: {what}[{i}] = {a}, PyTorch {b}");
    }
}

#[test]
fn parity_torch_conv_pool_upsample() {
    let root: Value = serde_json::from_str(FIXTURE).expect("fixture is valid JSON");
    let cases = root["cases"].as_array().expect("cases");
    assert!(cases.len() >= 20, "expected the full fixture set, got {} cases", cases.len());
    let mut ops_seen = std::collections::BTreeSet::new();
    for c in cases {
        let op = c["op"].as_str().unwrap();
        let name = c["name"].as_str().unwrap();
        let p = &c["params"];
        ops_seen.insert(op.to_string());
        let x = tensor(c, "x", dims(c, "x_shape"));
        let w = c.get("w").filter(|v| !v.is_null()).map(|_| tensor(c, "w", dims(c, "w_shape")));
        let b = c.get("b").filter(|v| !v.is_null()).map(|_| {
            let bv = arr(c, "b");
            let n = bv.len();
            Tensor::from_vec_f64(bv, [n]).with_grad()
        });
        let y = match op {
            "conv2d" => {
                let pad = dims(p, "padding");
                let o = Conv2dOpts {
                    stride: p2(p, "stride"),
                    padding: [pad[0], pad[1], pad[2], pad[3]],
                    dilation: p2(p, "dilation"),
                    groups: p["groups"].as_u64().unwrap() as usize,
                };
                x.conv2d(w.as_ref().unwrap(), o)
            }
            "conv1d" => {
                let pad = dims(p, "padding");
                let o = Conv1dOpts {
                    stride: dims(p, "stride")[0],
                    padding: [pad[0], pad[1]],
                    dilation: dims(p, "dilation")[0],
                    groups: p["groups"].as_u64().unwrap() as usize,
                };
                x.conv1d(w.as_ref().unwrap(), o)
            }
            "conv_transpose2d" => {
                let pad = p2(p, "padding");
                let o = ConvTranspose2dOpts {
                    stride: p2(p, "stride"),
                    padding: [pad[0], pad[0], pad[1], pad[1]],
                    output_padding: p2(p, "output_padding"),
                    dilation: p2(p, "dilation"),
                    groups: p["groups"].as_u64().unwrap() as usize,
                };
                x.conv_transpose2d(w.as_ref().unwrap(), o)
            }
            "max_pool2d" | "avg_pool2d" => {
                let pad = p2(p, "padding");
                let o = Pool2dOpts {
                    kernel: p2(p, "kernel"),
                    stride: p2(p, "stride"),
                    padding: [pad[0], pad[0], pad[1], pad[1]],
                };
                if op == "max_pool2d" {
                    x.max_pool2d(o)
                } else {
                    x.avg_pool2d(o, p["count_include_pad"].as_bool().unwrap())
                }
            }
            "max_pool1d" | "avg_pool1d" => {
                let (k, s, pad) = (dims(p, "kernel")[0], dims(p, "stride")[0], dims(p, "padding")[0]);
                if op == "max_pool1d" {
                    x.max_pool1d(k, s, [pad, pad])
                } else {
                    x.avg_pool1d(k, s, [pad, pad], p["count_include_pad"].as_bool().unwrap())
                }
            }
            "upsample_nearest2d" => x.upsample_nearest2d(p2(p, "scale")),
            "upsample_bilinear2d" => x.upsample_bilinear2d(p2(p, "out_size")),
            other => panic!("unknown fixture op {other}"),
        };
        let y = match &b {
            Some(b) => y.bias_act(b, Activation::Linear),
            None => y,
        };
        assert_eq!(y.dims(), dims(c, "y_shape").as_slice(), "{name}: output shape");
        assert_close(name, "y", &y, &arr(c, "y"));
        let gy = Tensor::from_vec_f64(arr(c, "gy"), y.shape().clone());
        let grads = y.backward_with(&gy, false);
        assert_close(name, "gx", grads.get(&x).unwrap(), &arr(c, "gx"));
        if let Some(w) = &w {
            assert_close(name, "gw", grads.get(w).unwrap(), &arr(c, "gw"));
        }
        if let Some(b) = &b {
            assert_close(name, "gb", grads.get(b).unwrap(), &arr(c, "gb"));
        }
    }
    for op in [
        "conv2d",
        "conv1d",
        "conv_transpose2d",
        "max_pool2d",
        "avg_pool2d",
        "max_pool1d",
        "avg_pool1d",
        "upsample_nearest2d",
        "upsample_bilinear2d",
    ] {
        assert!(ops_seen.contains(op), "no fixture case for {op}");
    }
}
