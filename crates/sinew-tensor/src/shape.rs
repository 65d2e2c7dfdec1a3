//! Shapes, row-major strides and NumPy broadcasting.

use smallvec::SmallVec;
use std::fmt;

/// Dimensions of a tensor, stored inline up to rank 6.
pub type Dims = SmallVec<[usize; 6]>;

/// The shape of a tensor. Storage is always row-major and contiguous.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Shape(pub(crate) Dims);

impl Shape {
    pub fn new(dims: &[usize]) -> Self {
        Shape(Dims::from_slice(dims))
    }
    pub fn scalar() -> Self {
        Shape(Dims::new())
    }
    pub fn dims(&self) -> &[usize] {
        &self.0
    }
    pub fn rank(&self) -> usize {
        self.0.len()
    }
    /// Number of elements (1 for a scalar).
    pub fn numel(&self) -> usize {
        self.0.iter().product()
    }
    /// Row-major strides, in elements.
    pub fn strides(&self) -> Dims {
        let mut s = Dims::from_elem(1, self.rank());
        for i in (0..self.rank().saturating_sub(1)).rev() {
            s[i] = s[i + 1] * self.0[i + 1];
        }
        s
    }
    /// Resolves a possibly negative axis (`-1` is the last) against this rank.
    /// Panics with `op` in the message when out of range.
    pub fn axis(&self, axis: isize, op: &str) -> usize {
        let r = self.rank() as isize;
        let a = if axis < 0 { axis + r } else { axis };
        if a < 0 || a >= r {
            panic!("{op}: axis {axis} is out of range for shape {self:?} (rank {r})");
        }
        a as usize
    }
    /// `(outer, len, inner)` around `axis`: the product of the dims before, the dim, and after.
    pub fn split_at_axis(&self, axis: usize) -> (usize, usize, usize) {
        let outer = self.0[..axis].iter().product();
        let inner = self.0[axis + 1..].iter().product();
        (outer, self.0[axis], inner)
    }
    /// NumPy broadcasting of two shapes, or `None` when they are incompatible.
    pub fn broadcast(a: &Shape, b: &Shape) -> Option<Shape> {
        let r = a.rank().max(b.rank());
        let mut out = Dims::from_elem(0, r);
        for i in 0..r {
            let da = if i + a.rank() >= r { a.0[i + a.rank() - r] } else { 1 };
            let db = if i + b.rank() >= r { b.0[i + b.rank() - r] } else { 1 };
            out[i] = if da == db || db == 1 {
                da
            } else if da == 1 {
                db
            } else {
                return None;
            };
        }
        Some(Shape(out))
    }
    /// Strides to read a tensor of this shape as if it had shape `target` (0 on broadcast axes).
    pub(crate) fn broadcast_strides(&self, target: &Shape) -> Dims {
        let r = target.rank();
        let own = self.strides();
        let mut out = Dims::from_elem(0, r);
        for i in 0..self.rank() {
            let t = i + r - self.rank();
            out[t] = if self.0[i] == 1 { 0 } else { own[i] };
        }
        out
    }
}

impl fmt::Debug for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[")?;
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                write!(f, ", ")?;
            }
            write!(f, "{d}")?;
        }
        write!(f, "]")
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl From<&[usize]> for Shape {
    fn from(d: &[usize]) -> Self {
        Shape::new(d)
    }
}
impl From<Vec<usize>> for Shape {
    fn from(d: Vec<usize>) -> Self {
        Shape(Dims::from_vec(d))
    }
}
impl From<&Vec<usize>> for Shape {
    fn from(d: &Vec<usize>) -> Self {
        Shape::new(d)
    }
}
impl<const N: usize> From<[usize; N]> for Shape {
    fn from(d: [usize; N]) -> Self {
        Shape::new(&d)
    }
}
impl<const N: usize> From<&[usize; N]> for Shape {
    fn from(d: &[usize; N]) -> Self {
        Shape::new(d)
    }
}
impl From<&Shape> for Shape {
    fn from(s: &Shape) -> Self {
        s.clone()
    }
}
impl From<()> for Shape {
    fn from(_: ()) -> Self {
        Shape::scalar()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn shape_broadcast_follows_numpy() {
        let s = |d: &[usize]| Shape::new(d);
        assert_eq!(Shape::broadcast(&s(&[3, 1, 5]), &s(&[4, 1])), Some(s(&[3, 4, 5])));
        assert_eq!(Shape::broadcast(&s(&[]), &s(&[2, 2])), Some(s(&[2, 2])));
        assert_eq!(Shape::broadcast(&s(&[3]), &s(&[4])), None);
        assert_eq!(s(&[2, 3, 4]).strides().as_slice(), &[12, 4, 1]);
        assert_eq!(s(&[3, 1]).broadcast_strides(&s(&[2, 3, 5])).as_slice(), &[0, 1, 0]);
    }
    #[test]
    #[should_panic(expected = "sum: axis 2 is out of range for shape [2, 3] (rank 2)")]
    fn shape_axis_out_of_range_names_op() {
        Shape::new(&[2, 3]).axis(2, "sum");
    }
}
