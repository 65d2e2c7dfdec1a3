//! The gradient exchange of a data-parallel step: the trainable weights' gradients summed over
//! the ranks in buckets, the way PyTorch's DDP does it. The backward pass finishes the last
//! layers' gradients first ([`sinew_tensor::Tensor::backward_streamed`]); a bucket is handed to
//! the exchange as soon as all of its gradients are in, and, where the communicator allows two
//! threads to talk at once, a thread of the rank's own sums it on a communicator of its own
//! while the backward pass computes the first layers' gradients.

use crate::comm::Communicator;
use sinew_tensor::{Gradients, Shape, Tensor, TensorId};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;

/// Gradients are summed in buckets of at least this many f32 values (1 MB, DDP's first
/// bucket): small enough that a model of a few MB has a bucket to send before its backward
/// pass ends, large enough that each message is long against the link's latency. A weight
/// larger than this is a bucket of its own.
pub const BUCKET_FLOATS: usize = 1 << 18;

/// Where each trainable weight's gradient goes: buckets of whole weights in reverse order (the
/// order the backward pass finishes them), each at least [`BUCKET_FLOATS`] long but the last.
pub(crate) struct Layout {
    /// The trainable mask it was made for.
    pub(crate) trainable: Vec<bool>,
    /// For each weight (in `get_weights` order): its bucket and offset there, if trainable.
    place: Vec<Option<(usize, usize)>>,
    /// Each bucket's weights.
    members: Vec<Vec<usize>>,
    lens: Vec<usize>,
}

impl Layout {
    pub(crate) fn new(shapes: &[Shape], trainable: &[bool], cap: usize) -> Layout {
        let mut place = vec![None; shapes.len()];
        let (mut members, mut lens): (Vec<Vec<usize>>, Vec<usize>) = (vec![], vec![]);
        for i in (0..shapes.len()).rev().filter(|&i| trainable[i]) {
            if lens.last().map_or(true, |&l| l >= cap) {
                members.push(vec![]);
                lens.push(0);
            }
            let b = lens.len() - 1;
            place[i] = Some((b, lens[b]));
            members[b].push(i);
            lens[b] += shapes[i].numel();
        }
        Layout { trainable: trainable.to_vec(), place, members, lens }
    }
}

/// A step's buckets: filled by the backward pass, handed to the [`Exchange`], summed.
pub(crate) struct Fill<'l> {
    layout: &'l Layout,
    bufs: Vec<Option<Vec<f32>>>,
    missing: Vec<usize>,
}

impl<'l> Fill<'l> {
    /// Empty buckets, reusing `spare` buffers from an earlier step.
    pub(crate) fn new(layout: &'l Layout, spare: &mut Vec<Vec<f32>>) -> Fill<'l> {
        let bufs = layout
            .lens
            .iter()
            .map(|&n| {
                let mut b = spare.pop().unwrap_or_default();
                b.clear();
                b.resize(n, 0.0);
                Some(b)
            })
            .collect();
        Fill { layout, bufs, missing: layout.members.iter().map(Vec::len).collect() }
    }

    /// Weight `i`'s gradient times `share` into its bucket; the bucket goes to `send` once full.
    pub(crate) fn add(&mut self, i: usize, g: &Tensor, share: f64, send: Option<&Sender<Job>>) {
        let Some((b, at)) = self.layout.place[i] else { return };
        let buf = self.bufs[b].as_mut().expect("a bucket is sent once all of its gradients are in");
        for (slot, v) in buf[at..at + g.numel()].iter_mut().zip(g.to_vec_f32()) {
            *slot = (f64::from(v) * share) as f32;
        }
        self.missing[b] -= 1;
        if self.missing[b] == 0 {
            if let Some(tx) = send {
                let total = self.bufs.len();
                tx.send((b, total, self.bufs[b].take().expect("filled"))).expect("the exchange thread is running");
            }
        }
    }

    /// Every bucket summed over the ranks: the ones not sent yet (weights without a gradient
    /// this step, or a rank with no rows) are sent now; with no exchange thread, each is summed
    /// here, in order.
    pub(crate) fn finish<C: Communicator>(mut self, exchange: &Exchange<C>) -> Vec<Vec<f32>> {
        match exchange {
            Exchange::Inline(comm) => {
                for b in self.bufs.iter_mut().flatten() {
                    comm.all_reduce_sum_f32(b);
                }
            }
            Exchange::Thread { send, back } => {
                let total = self.bufs.len();
                for (b, buf) in self.bufs.iter_mut().enumerate() {
                    if let Some(buf) = buf.take() {
                        send.send((b, total, buf)).expect("the exchange thread is running");
                    }
                }
                for _ in 0..total {
                    let (b, buf) = back.recv().expect("the exchange thread is running");
                    self.bufs[b] = Some(buf);
                }
            }
        }
        self.bufs.into_iter().map(|b| b.expect("every bucket summed")).collect()
    }

    /// The summed buckets as gradients of the weights `ids` (in `get_weights` order).
    pub(crate) fn gradients(layout: &Layout, summed: &[Vec<f32>], ids: &[TensorId], shapes: &[Shape]) -> Gradients {
        let mut out = Gradients::default();
        for (i, place) in layout.place.iter().enumerate() {
            if let Some((b, at)) = *place {
                let n = shapes[i].numel();
                out.insert(ids[i], Tensor::from_vec(summed[b][at..at + n].to_vec(), shapes[i].clone()));
            }
        }
        out
    }
}

/// A bucket for the exchange thread: its index, the step's number of buckets, the values.
pub(crate) type Job = (usize, usize, Vec<f32>);

/// How a step's buckets are summed.
pub(crate) enum Exchange<C> {
    /// On the step's thread, after the backward pass.
    Inline(Arc<C>),
    /// On a thread of the rank's own ([`serve`]), as each bucket fills.
    Thread { send: Sender<Job>, back: Receiver<(usize, Vec<f32>)> },
}

impl<C: Communicator> Exchange<C> {
    /// An exchange thread in `scope`, summing on `comm` (a communicator of its own).
    pub(crate) fn spawn<'s, 'e>(scope: &'s std::thread::Scope<'s, 'e>, comm: C) -> Self
    where
        C: 's,
    {
        let (send, jobs) = channel();
        let (done, back) = channel();
        scope.spawn(move || serve(comm, jobs, done));
        Exchange::Thread { send, back }
    }

    pub(crate) fn sender(&self) -> Option<&Sender<Job>> {
        match self {
            Exchange::Inline(_) => None,
            Exchange::Thread { send, .. } => Some(send),
        }
    }
}

/// The exchange thread: sums each step's buckets in index order, whatever order they arrive
/// in, so every rank runs the same collectives in the same order; ends when the step's side
/// of the channel is dropped (the fit is over).
fn serve<C: Communicator>(comm: C, jobs: Receiver<Job>, done: Sender<(usize, Vec<f32>)>) {
    let mut waiting: Vec<Option<Vec<f32>>> = Vec::new();
    let mut next = 0;
    while let Ok((b, total, buf)) = jobs.recv() {
        if waiting.len() < total {
            waiting.resize(total, None);
        }
        waiting[b] = Some(buf);
        while next < total {
            let Some(mut buf) = waiting[next].take() else { break };
            comm.all_reduce_sum_f32(&mut buf);
            if done.send((next, buf)).is_err() {
                return;
            }
            next += 1;
        }
        if next == total {
            next = 0;
        }
    }
}
