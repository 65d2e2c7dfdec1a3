//! Keras `mnist.load_data()` on the staged files: every file passes its published checksum (the
//! label archives are LeCun's originals; the image archives were re-compressed, so they pass by
//! the MD5 of their content), and the arrays are MNIST's. A truncated copy is refused.

use sinew_data::{find_dataset, load_data, verify, MNIST};

#[test]
fn load_data_verifies_and_loads_the_staged_mnist() {
    let dir = find_dataset("mnist").expect("../shared/data/mnist is required");
    let m = load_data(&MNIST, Some(&dir)).unwrap();
    assert_eq!(m.x_train.dims(), [60000, 28, 28]);
    assert_eq!(m.x_test.dims(), [10000, 28, 28]);
    assert_eq!(m.y_train.to_vec_f32()[..10], [5., 0., 4., 1., 9., 2., 1., 3., 1., 4.]);
    assert_eq!(m.y_test.to_vec_f32()[..10], [7., 2., 1., 0., 4., 1., 4., 9., 5., 9.]);
}

#[test]
fn load_data_refuses_a_truncated_file() {
    let src = find_dataset("mnist").expect("../shared/data/mnist is required");
    let dir = std::env::temp_dir().join(format!("sinew-mnist-trunc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for f in MNIST.files {
        std::fs::copy(src.join(f.name), dir.join(f.name)).unwrap();
    }
    let labels = dir.join("t10k-labels-idx1-ubyte.gz");
    let bytes = std::fs::read(&labels).unwrap();
    std::fs::write(&labels, &bytes[..bytes.len() / 2]).unwrap();
    let e = load_data(&MNIST, Some(&dir)).unwrap_err();
    assert!(e.message.contains("t10k-labels-idx1-ubyte.gz: checksum mismatch"), "{}", e.message);
    assert!(verify(&dir.join("train-labels-idx1-ubyte.gz"), &MNIST.files[1]).is_ok());
}
