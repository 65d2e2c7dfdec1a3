//! `mpirun -np N sinew train SPEC` (the binary built with feature `mpi`): every rank reads the
//! same spec and data, and `fit` runs data-parallel (`sinew_dist::DataParallel`): the global
//! batch is the spec's `batch_size`, split among the ranks, gradients summed over them. Rank 0
//! alone prints, writes checkpoints and the run directory. Without the feature, or under one
//! rank, this is plain `fit`.
//!
//! MPI is initialised by [`init`] at the start of `main` and finalised by [`finish`] at its end,
//! on the main thread. Collectives are also made from the engine's pool threads (synchronised
//! BatchNormalization) and, with `[distributed] overlap = true`, from an exchange thread: MPI is
//! initialised at the "multiple" threading level for that.

use sinew::prelude::*;

#[cfg(feature = "mpi")]
thread_local! {
    static MPI: std::cell::RefCell<Option<sinew_dist::Mpi>> = const { std::cell::RefCell::new(None) };
    static WORLD: std::cell::RefCell<Option<sinew_dist::MpiComm>> = const { std::cell::RefCell::new(None) };
}

/// Initialises MPI (feature `mpi`); a no-op otherwise. An MPI that cannot serve sinew's threads
/// is an error.
pub fn init() -> Result<(), String> {
    #[cfg(feature = "mpi")]
    MPI.with(|m| -> Result<(), String> {
        *m.borrow_mut() = Some(sinew_dist::Mpi::init()?);
        WORLD.with(|w| *w.borrow_mut() = m.borrow().as_ref().map(sinew_dist::Mpi::comm));
        Ok(())
    })?;
    Ok(())
}

/// Finalises MPI (feature `mpi`).
pub fn finish() {
    #[cfg(feature = "mpi")]
    WORLD.with(|w| drop(w.borrow_mut().take()));
    #[cfg(feature = "mpi")]
    MPI.with(|m| drop(m.borrow_mut().take()));
}

/// This process's rank and the number of ranks: `(0, 1)` outside `mpirun`.
pub fn ranks() -> (usize, usize) {
    #[cfg(feature = "mpi")]
    {
        use sinew_dist::Communicator;
        WORLD.with(|w| w.borrow().as_ref().map_or((0, 1), |c| (c.rank(), c.size())))
    }
    #[cfg(not(feature = "mpi"))]
    (0, 1)
}

/// `model.fit`, data-parallel over the ranks when there are several (summing the gradients
/// beside the backward pass with `overlap`).
pub fn fit(model: &mut Model, x: &Tensor, y: &Tensor, opts: Fit<'_>, overlap: bool) -> sinew::train::Result<History> {
    #[cfg(feature = "mpi")]
    {
        use sinew_dist::Communicator;
        WORLD.with(|w| match w.borrow().as_ref() {
            Some(c) if c.size() > 1 => sinew_dist::DataParallel::new(c.clone()).overlap(overlap).fit(model, x, y, opts),
            _ => model.fit(x, y, opts),
        })
    }
    #[cfg(not(feature = "mpi"))]
    {
        let _ = overlap;
        model.fit(x, y, opts)
    }
}
