use super::*;
use crate::kernels::gemm::{gemm_naive, MatRef};
use crate::kernels::test_util::rand;

/// Both kernels on every path this CPU has, against the naive product: row and column counts
/// on both sides of each tile edge (8/6 rows, 12/6 columns, 48/16-float panels), one and two
/// column blocks short, inner dimensions of several blocks, both orientations of each operand, overwrite and accumulate, and a
/// destination row stride wider than the product.
#[test]
fn kernels_match_the_naive_product_on_every_path() {
    let levels: Vec<u8> = (1..=2).filter(|&l| l <= crate::kernels::simd::detect()).collect();
    let mut seed = 5u64;
    let mut ran = [0usize; 2];
    for &level in &levels {
        let mut shapes = vec![];
        for m in [1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 16, 17, 31, 32, 33, 64, 100, 128, 200] {
            for n in [1, 5, 6, 7, 12, 13, 16, 23, 24, 25, 47, 48, 49, 100, 130] {
                for k in [1, 3, 32, 77] {
                    shapes.push((m, n, k));
                }
            }
        }
        // Several blocks of k (128 on AVX-512, 256 on AVX2, cut evenly), with the panels
        // copied (64 or 96 columns, or over 64 rows) and read in place.
        for m in [5, 32, 100] {
            for n in [33, 64, 96, 130] {
                shapes.push((m, n, 300));
                shapes.push((m, n, 513));
            }
        }
        for &(m, n, k) in &shapes {
            let a: Vec<f32> = rand(m * k, &mut seed);
            let b: Vec<f32> = rand(k * n, &mut seed);
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                let am = if ta { MatRef::row_major(&a, k, m).t() } else { MatRef::row_major(&a, m, k) };
                let bm = if tb { MatRef::row_major(&b, n, k).t() } else { MatRef::row_major(&b, k, n) };
                let rs = n + 3;
                let init: Vec<f32> = rand(m * rs, &mut seed);
                for accumulate in [false, true] {
                    let mut got = init.clone();
                    let product = Product {
                        m,
                        n,
                        k,
                        a: a.as_ptr(),
                        a_rs: am.rs,
                        a_cs: am.cs,
                        b: b.as_ptr(),
                        b_rs: bm.rs,
                        b_cs: bm.cs,
                        c: got.as_mut_ptr(),
                        c_rs: rs,
                        accumulate,
                    };
                    let Some(kernel) = supports(level, &product) else { continue };
                    ran[(kernel == Kernel::Cols) as usize] += 1;
                    // SAFETY: the operands are the buffers above with their own
                    // shapes and strides; the level was detected on this CPU.
                    unsafe { run(level, kernel, product) };
                    let mut want = init.clone();
                    gemm_naive(&mut want, rs, am, bm, accumulate);
                    for (e, (x, y)) in got.iter().zip(&want).enumerate() {
                        assert!(
                            (x - y).abs() < 1e-4 * (1.0 + y.abs()),
                            "level {level} {kernel:?} {m}x{k}x{n} ta={ta} tb={tb} acc={accumulate}: \
                             element {e} (row {}, column {}) is {x}, want {y}",
                            e / rs,
                            e % rs
                        );
                    }
                }
            }
        }
    }
    if !levels.is_empty() {
        assert!(ran[0] > 100 && ran[1] > 100, "each kernel ran on few products: {ran:?}");
    }
}

/// A row of `x · W` is the same bits whether it is computed alone or among others (Keras'
/// predict is per sample; `predict` and `fit` in batches of any size must agree): every
/// output element is one chain of FMAs along `k`, in order, whatever the tile.
#[test]
fn a_row_of_the_product_does_not_depend_on_the_rows_beside_it() {
    let mut seed = 9u64;
    for &level in (1..=2).filter(|&l| l <= crate::kernels::simd::detect()).collect::<Vec<u8>>().iter() {
        for &(m, k, n) in &[(100, 300, 70), (64, 9, 33), (13, 200, 16)] {
            let a: Vec<f32> = rand(m * k, &mut seed);
            let b: Vec<f32> = rand(k * n, &mut seed);
            let product = |rows: &[f32], out: &mut [f32]| {
                let m = rows.len() / k;
                let p = Product {
                    m,
                    n,
                    k,
                    a: rows.as_ptr(),
                    a_rs: k,
                    a_cs: 1,
                    b: b.as_ptr(),
                    b_rs: n,
                    b_cs: 1,
                    c: out.as_mut_ptr(),
                    c_rs: n,
                    accumulate: false,
                };
                let kernel = supports(level, &p).expect("the row kernel takes x · W");
                // SAFETY: rows is m x k, b is k x n and out m x n, all row-major.
                unsafe { run(level, kernel, p) };
            };
            let mut whole = vec![0.0f32; m * n];
            product(&a, &mut whole);
            for size in [1, 3, 7, 8, 9] {
                for start in (0..m).step_by(size) {
                    let rows = size.min(m - start);
                    let mut part = vec![0.0f32; rows * n];
                    product(&a[start * k..(start + rows) * k], &mut part);
                    assert_eq!(
                        part[..],
                        whole[start * n..(start + rows) * n],
                        "level {level}, rows {start}.. in blocks of {size}"
                    );
                }
            }
        }
    }
}
