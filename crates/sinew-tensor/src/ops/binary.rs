//! Elementwise binary ops with NumPy broadcasting, comparisons, `where` and `masked_select`.

use crate::autograd::{grads, record, Op};
use crate::dtype::Float;
use crate::kernels::simd::vectorized;
use crate::shape::Shape;
use crate::storage::{with_dtype, Element, PAR_CHUNK, PAR_THRESHOLD};
use crate::tensor::Tensor;
use rayon::prelude::*;

#[derive(Clone, Copy, Debug)]
pub(crate) enum Binary {
    Add,
    Sub,
    Mul,
    Div,
    Maximum,
    Minimum,
    Pow,
}

impl Binary {
    fn op(self) -> Op {
        match self {
            Binary::Add => Op::Add,
            Binary::Sub => Op::Sub,
            Binary::Mul => Op::Mul,
            Binary::Div => Op::Div,
            Binary::Maximum => Op::Maximum,
            Binary::Minimum => Op::Minimum,
            Binary::Pow => Op::Pow,
        }
    }
    #[inline(always)]
    fn f<T: Float>(self, a: T, b: T) -> T {
        match self {
            Binary::Add => a + b,
            Binary::Sub => a - b,
            Binary::Mul => a * b,
            Binary::Div => a / b,
            // NaN-propagating, like NumPy's maximum/minimum.
            Binary::Maximum => {
                if a.is_nan() || a > b {
                    a
                } else {
                    b
                }
            }
            Binary::Minimum => {
                if a.is_nan() || a < b {
                    a
                } else {
                    b
                }
            }
            Binary::Pow => a.powf(b),
        }
    }
}

/// `out = f(a, b)` with `a` and `b` broadcast to `out`.
#[inline(always)]
pub(crate) fn broadcast_zip<T: Element>(
    a: &[T],
    ash: &Shape,
    b: &[T],
    bsh: &Shape,
    out: &Shape,
    f: impl Fn(T, T) -> T + Sync,
) -> Vec<T> {
    let n = out.numel();
    // Every path below writes every element.
    let mut o = crate::storage::overwritten::<T>(n);
    if ash == bsh {
        let body = |o: &mut [T], a: &[T], b: &[T]| {
            for i in 0..o.len() {
                o[i] = f(a[i], b[i]);
            }
        };
        if n >= PAR_THRESHOLD {
            o.par_chunks_mut(PAR_CHUNK)
                .zip(a.par_chunks(PAR_CHUNK).zip(b.par_chunks(PAR_CHUNK)))
                .for_each(|(o, (a, b))| body(o, a, b));
        } else {
            body(&mut o, a, b);
        }
        return o;
    }
    if b.len() == 1 {
        let s = b[0];
        for (o, &a) in o.iter_mut().zip(a) {
            *o = f(a, s);
        }
        return o;
    }
    if a.len() == 1 {
        let s = a[0];
        for (o, &b) in o.iter_mut().zip(b) {
            *o = f(s, b);
        }
        return o;
    }
    let sa = ash.broadcast_strides(out);
    let sb = bsh.broadcast_strides(out);
    let r = out.rank();
    let inner = out.dims()[r - 1];
    let (ia, ib) = (sa[r - 1], sb[r - 1]);
    let rows = n / inner.max(1);
    let dims = out.dims();
    let row_body = |row: usize, o: &mut [T]| {
        let (mut oa, mut ob, mut rem) = (0usize, 0usize, row);
        for d in (0..r - 1).rev() {
            let i = rem % dims[d];
            rem /= dims[d];
            oa += i * sa[d];
            ob += i * sb[d];
        }
        for (j, o) in o.iter_mut().enumerate() {
            *o = f(a[oa + j * ia], b[ob + j * ib]);
        }
    };
    if n >= PAR_THRESHOLD && inner > 0 {
        o.par_chunks_mut(inner).enumerate().for_each(|(row, o)| row_body(row, o));
    } else if inner > 0 {
        for (row, o) in o.chunks_mut(inner).enumerate() {
            row_body(row, o);
        }
    }
    let _ = rows;
    o
}

fn broadcast_shape(op: &str, a: &Tensor, b: &Tensor) -> Shape {
    Shape::broadcast(a.shape(), b.shape())
        .unwrap_or_else(|| panic!("{op}: shapes {:?} and {:?} cannot be broadcast together", a.shape(), b.shape()))
}

fn check_dtypes(op: &str, a: &Tensor, b: &Tensor) {
    assert!(
        a.dtype() == b.dtype(),
        "{op}: dtypes differ: {:?} (shape {:?}) vs {:?} (shape {:?})",
        a.dtype(),
        a.shape(),
        b.dtype(),
        b.shape()
    );
}

impl Tensor {
    pub(crate) fn binary(&self, rhs: &Tensor, k: Binary) -> Tensor {
        let name = k.op().name();
        check_dtypes(name, self, rhs);
        let out = broadcast_shape(name, self, rhs);
        let st = with_dtype!(self.dtype(), T => {
            let (a, b) = (self.data::<T>(), rhs.data::<T>());
            // One monomorphised, vectorised loop per op: a `match` on the op inside the loop kept
            // it scalar.
            macro_rules! run {
                ($op:expr) => {
                    vectorized(#[inline(always)] || {
                        broadcast_zip(a, self.shape(), b, rhs.shape(), &out, #[inline(always)] |a, b| $op.f(a, b))
                    })
                };
            }
            T::wrap(match k {
                Binary::Add => run!(Binary::Add),
                Binary::Sub => run!(Binary::Sub),
                Binary::Mul => run!(Binary::Mul),
                Binary::Div => run!(Binary::Div),
                Binary::Maximum => run!(Binary::Maximum),
                Binary::Minimum => run!(Binary::Minimum),
                Binary::Pow => run!(Binary::Pow),
            })
        });
        record(k.op(), st, out, &[self, rhs], move |gy, y, xs| {
            let (a, b) = (&xs[0], &xs[1]);
            let (ga, gb) = match k {
                Binary::Add => (gy.clone(), gy.clone()),
                Binary::Sub => (gy.clone(), gy.neg()),
                Binary::Mul => (gy.mul(b), gy.mul(a)),
                Binary::Div => (gy.div(b), gy.mul(y).div(b).neg()),
                Binary::Maximum | Binary::Minimum => {
                    // Ties split the gradient evenly (PyTorch).
                    let pick_a = with_dtype!(gy.dtype(), T => {
                        let m = broadcast_zip(a.data::<T>(), a.shape(), b.data::<T>(), b.shape(), gy.shape(), |a, b| {
                            if a == b { T::from_f64(0.5) } else if (a > b) == matches!(k, Binary::Maximum) { T::ONE } else { T::ZERO }
                        });
                        Tensor::from_storage(T::wrap(m), gy.shape().clone())
                    });
                    let ga = gy.mul(&pick_a);
                    (ga.clone(), gy.sub(&ga))
                }
                Binary::Pow => {
                    let ga = gy.mul(b).mul(&a.binary(&b.add_scalar(-1.0), Binary::Pow));
                    let gb = gy.mul(y).mul(&a.log());
                    (ga, gb)
                }
            };
            grads![a.requires_grad().then(|| ga.sum_to(a.shape())), b.requires_grad().then(|| gb.sum_to(b.shape()))]
        })
    }

    pub fn add(&self, rhs: &Tensor) -> Tensor {
        self.binary(rhs, Binary::Add)
    }
    pub fn sub(&self, rhs: &Tensor) -> Tensor {
        self.binary(rhs, Binary::Sub)
    }
    pub fn mul(&self, rhs: &Tensor) -> Tensor {
        self.binary(rhs, Binary::Mul)
    }
    pub fn div(&self, rhs: &Tensor) -> Tensor {
        self.binary(rhs, Binary::Div)
    }
    /// Elementwise maximum (NaN-propagating).
    pub fn maximum(&self, rhs: &Tensor) -> Tensor {
        self.binary(rhs, Binary::Maximum)
    }
    /// Elementwise minimum (NaN-propagating).
    pub fn minimum(&self, rhs: &Tensor) -> Tensor {
        self.binary(rhs, Binary::Minimum)
    }
    /// Elementwise `self ^ rhs`.
    pub fn pow(&self, rhs: &Tensor) -> Tensor {
        self.binary(rhs, Binary::Pow)
    }

    fn compare(&self, rhs: &Tensor, op: &str, f: fn(f64, f64) -> bool) -> Tensor {
        check_dtypes(op, self, rhs);
        let out = broadcast_shape(op, self, rhs);
        let st = with_dtype!(self.dtype(), T => T::wrap(broadcast_zip(self.data::<T>(), self.shape(), rhs.data::<T>(), rhs.shape(), &out, |a, b| {
            if f(a.to_f64(), b.to_f64()) { T::ONE } else { T::ZERO }
        })));
        Tensor::from_storage(st, out)
    }
    /// 1.0 where equal, else 0.0 (not differentiable).
    pub fn eq(&self, rhs: &Tensor) -> Tensor {
        self.compare(rhs, "eq", |a, b| a == b)
    }
    pub fn ne(&self, rhs: &Tensor) -> Tensor {
        self.compare(rhs, "ne", |a, b| a != b)
    }
    pub fn lt(&self, rhs: &Tensor) -> Tensor {
        self.compare(rhs, "lt", |a, b| a < b)
    }
    pub fn le(&self, rhs: &Tensor) -> Tensor {
        self.compare(rhs, "le", |a, b| a <= b)
    }
    pub fn gt(&self, rhs: &Tensor) -> Tensor {
        self.compare(rhs, "gt", |a, b| a > b)
    }
    pub fn ge(&self, rhs: &Tensor) -> Tensor {
        self.compare(rhs, "ge", |a, b| a >= b)
    }

    /// Picks `a` where `cond` is non-zero, else `b`; all three broadcast together.
    /// Differentiable in `a` and `b`.
    pub fn where_(cond: &Tensor, a: &Tensor, b: &Tensor) -> Tensor {
        check_dtypes("where", a, b);
        let ab = broadcast_shape("where", a, b);
        let out = Shape::broadcast(&ab, cond.shape())
            .unwrap_or_else(|| panic!("where: condition shape {:?} cannot be broadcast to {:?}", cond.shape(), ab));
        let c = cond.broadcast_to(&out).to_vec_f64();
        let st = with_dtype!(a.dtype(), T => {
            let (av, bv) = (a.broadcast_to(&out), b.broadcast_to(&out));
            let (av, bv) = (av.data::<T>(), bv.data::<T>());
            T::wrap((0..out.numel()).map(|i| if c[i] != 0.0 { av[i] } else { bv[i] }).collect())
        });
        let cond = cond.detach();
        record(Op::Where, st, out, &[a, b], move |gy, _, xs| {
            let z = gy.zeros_like();
            let ga = xs[0].requires_grad().then(|| Tensor::where_(&cond, gy, &z).sum_to(xs[0].shape()));
            let gb = xs[1].requires_grad().then(|| Tensor::where_(&cond, &z, gy).sum_to(xs[1].shape()));
            grads![ga, gb]
        })
    }

    /// The elements where `mask` (broadcast to this shape) is non-zero, as a 1-d tensor.
    pub fn masked_select(&self, mask: &Tensor) -> Tensor {
        let m = mask.broadcast_to(self.shape()).to_vec_f64();
        let idx: Vec<usize> = (0..m.len()).filter(|&i| m[i] != 0.0).collect();
        let n = idx.len();
        let st = with_dtype!(self.dtype(), T => {
            let d = self.data::<T>();
            T::wrap(idx.iter().map(|&i| d[i]).collect())
        });
        record(Op::MaskedSelect, st, Shape::new(&[n]), &[self], move |gy, _, xs| {
            let st = with_dtype!(gy.dtype(), T => {
                let mut g = crate::storage::zeroed::<T>(xs[0].numel());
                for (k, &i) in idx.iter().enumerate() {
                    g[i] = gy.data::<T>()[k];
                }
                T::wrap(g)
            });
            grads![Some(Tensor::from_storage(st, xs[0].shape().clone()))]
        })
    }
}

macro_rules! impl_op {
    ($tr:ident, $m:ident, $f:ident) => {
        impl std::ops::$tr<&Tensor> for &Tensor {
            type Output = Tensor;
            fn $m(self, rhs: &Tensor) -> Tensor {
                self.$f(rhs)
            }
        }
        impl std::ops::$tr<Tensor> for Tensor {
            type Output = Tensor;
            fn $m(self, rhs: Tensor) -> Tensor {
                (&self).$f(&rhs)
            }
        }
        impl std::ops::$tr<&Tensor> for Tensor {
            type Output = Tensor;
            fn $m(self, rhs: &Tensor) -> Tensor {
                (&self).$f(rhs)
            }
        }
        impl std::ops::$tr<Tensor> for &Tensor {
            type Output = Tensor;
            fn $m(self, rhs: Tensor) -> Tensor {
                self.$f(&rhs)
            }
        }
    };
}
impl_op!(Add, add, add);
impl_op!(Sub, sub, sub);
impl_op!(Mul, mul, mul);
impl_op!(Div, div, div);

macro_rules! impl_scalar_op {
    ($tr:ident, $m:ident, |$x:ident, $s:ident| $e:expr) => {
        impl std::ops::$tr<f64> for &Tensor {
            type Output = Tensor;
            fn $m(self, $s: f64) -> Tensor {
                let $x = self;
                $e
            }
        }
        impl std::ops::$tr<f64> for Tensor {
            type Output = Tensor;
            fn $m(self, $s: f64) -> Tensor {
                let $x = &self;
                $e
            }
        }
    };
}
impl_scalar_op!(Add, add, |x, s| x.affine(1.0, s));
impl_scalar_op!(Sub, sub, |x, s| x.affine(1.0, -s));
impl_scalar_op!(Mul, mul, |x, s| x.affine(s, 0.0));
impl_scalar_op!(Div, div, |x, s| x.affine(1.0 / s, 0.0));

impl std::ops::Neg for &Tensor {
    type Output = Tensor;
    fn neg(self) -> Tensor {
        Tensor::neg(self)
    }
}
impl std::ops::Neg for Tensor {
    type Output = Tensor;
    fn neg(self) -> Tensor {
        Tensor::neg(&self)
    }
}
