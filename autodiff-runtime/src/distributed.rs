//! Data-parallel training over MPI (feature `mpi`), as PyTorch's
//! `DistributedDataParallel` or Horovod do it: every process (rank) holds the
//! whole model, computes the gradient of its shard of each global minibatch,
//! and the gradients are averaged across ranks with an all-reduce, so that the
//! optimizer step is the same everywhere.
//!
//! ```no_run
//! # #[cfg(feature = "mpi")] {
//! use autodiff_runtime::distributed::Distributed;
//! # fn step<P: autodiff_runtime::Params<Elem = f32>>(model: &mut P, grad: &mut P, batch: &[usize]) {
//! let dist = Distributed::init().expect("MPI starts");
//! dist.broadcast(model);                          // every rank starts from rank 0's weights
//! let mine = dist.shard(batch);                   // this rank's part of the global minibatch
//! // ... grad = the gradient of the mean loss over `mine` ...
//! dist.all_reduce_gradient(grad, mine.len(), batch.len()); // now the global minibatch's gradient
//! // ... the optimizer step, identical on every rank ...
//! # }
//! # }
//! ```
//!
//! The gradients of all parameters travel in one buffer (one all-reduce per
//! step, as a single bucket of DDP). A rank that panics aborts the whole job
//! (`MPI_Abort`) after its message, instead of leaving the others waiting in a
//! collective forever.

use mpi::collective::SystemOperation;
use mpi::datatype::Equivalence;
use mpi::environment::Universe;
use mpi::topology::{Communicator, SimpleCommunicator};
use mpi::traits::{CommunicatorCollectives, Root};

use crate::parallel;
use crate::params::Params;

/// Why MPI could not be started.
#[derive(Debug)]
pub struct DistributedError(String);

impl std::fmt::Display for DistributedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DistributedError {}

/// This process's place in an MPI job, started with `mpirun -np N program`
/// (a program started alone is a job of one rank).
pub struct Distributed {
    world: SimpleCommunicator,
    // The send and receive buffers of the all-reduce, kept between steps.
    buffers: std::cell::RefCell<crate::Workspace>,
    // Finalises MPI when dropped, so it is kept for the process's lifetime.
    _universe: Universe,
}

impl Distributed {
    /// Starts MPI (once per process) and makes a panic on this rank end the
    /// whole job.
    pub fn init() -> Result<Distributed, DistributedError> {
        let universe =
            mpi::initialize().ok_or_else(|| DistributedError("MPI was already initialised in this process".into()))?;
        let world = universe.world();
        let rank = world.rank();
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            previous(info);
            eprintln!("autodiff: rank {rank} panicked; aborting the MPI job");
            // SAFETY: MPI is initialised (this hook is set after
            // `initialize` succeeded) and MPI_Abort may be called from any
            // thread of an initialised process; it does not return.
            unsafe {
                mpi::ffi::MPI_Abort(mpi::ffi::RSMPI_COMM_WORLD, 1);
            }
        }));
        Ok(Distributed {
            world,
            buffers: std::cell::RefCell::new(crate::Workspace::new()),
            _universe: universe,
        })
    }

    /// This process's rank, 0 to `size() − 1`.
    pub fn rank(&self) -> usize {
        self.world.rank() as usize
    }

    /// The number of ranks in the job.
    pub fn size(&self) -> usize {
        self.world.size() as usize
    }

    /// Whether this is rank 0, the one that prints and writes checkpoints.
    pub fn is_root(&self) -> bool {
        self.rank() == 0
    }

    /// This rank's contiguous part of a global minibatch: the parts of all
    /// ranks cover it once, and differ in length by at most one.
    pub fn shard<'a, T>(&self, batch: &'a [T]) -> &'a [T] {
        &batch[parallel::range(batch.len(), self.size(), self.rank())]
    }

    /// Waits until every rank reaches this point.
    pub fn barrier(&self) {
        self.world.barrier();
    }

    /// Every rank's `model` becomes rank 0's.
    pub fn broadcast<P: Params>(&self, model: &mut P)
    where
        P::Elem: Equivalence,
    {
        let one = <P::Elem as num_traits::One>::one();
        let mut flat = Vec::with_capacity(model.num_params());
        flatten_into(model, one, &mut flat);
        self.world.process_at_rank(0).broadcast_into(&mut flat[..]);
        unflatten(model, &flat);
    }

    /// Every rank's `grad`, the gradient of the mean loss over its shard of
    /// `local` examples, becomes the gradient of the mean loss over the
    /// global minibatch of `global` examples: Σ over ranks of
    /// grad·local/global, in one all-reduce of all parameters. Ranks with
    /// shards of different sizes are weighted by them.
    pub fn all_reduce_gradient<P: Params>(&self, grad: &mut P, local: usize, global: usize)
    where
        P::Elem: Equivalence,
    {
        let weight = <P::Elem as crate::Float>::of(local as f64 / global.max(1) as f64);
        self.buffers.borrow_mut().run(|| {
            let len = grad.num_params();
            let mut mine = crate::workspace::take(len);
            flatten_into(grad, weight, &mut mine);
            let mut total = crate::workspace::take(len);
            total.resize(len, <P::Elem as num_traits::Zero>::zero());
            self.world
                .all_reduce_into(&mine[..], &mut total[..], SystemOperation::sum());
            unflatten(grad, &total);
            for buffer in [mine, total] {
                crate::workspace::recycle_array(ndarray::Array1::from_vec(buffer));
            }
        });
    }

    /// The sum of `value` over all ranks (a loss, a count of correct answers).
    pub fn sum(&self, value: f64) -> f64 {
        let mut total = 0.0;
        self.world.all_reduce_into(&value, &mut total, SystemOperation::sum());
        total
    }

    /// The largest `value` of all ranks (the slowest rank's time).
    pub fn max(&self, value: f64) -> f64 {
        let mut largest = 0.0;
        self.world.all_reduce_into(&value, &mut largest, SystemOperation::max());
        largest
    }
}

/// Appends every tensor of `model`, times `scale`, to `flat` in visiting
/// order. Slices where the tensors are contiguous: iterating a rank-erased
/// view element by element costs more than the copy.
fn flatten_into<P: Params>(model: &P, scale: P::Elem, flat: &mut Vec<P::Elem>) {
    model.visit(&mut |_, view| match view.as_slice() {
        Some(values) => flat.extend(values.iter().map(|&v| v * scale)),
        None => flat.extend(view.iter().map(|&v| v * scale)),
    });
}

/// Copies `flat` back into the tensors, in visiting order.
fn unflatten<P: Params>(model: &mut P, flat: &[P::Elem]) {
    let mut at = 0;
    model.visit_mut(&mut |_, mut view| {
        let len = view.len();
        let new = &flat[at..at + len];
        match view.as_slice_mut() {
            Some(values) => values.copy_from_slice(new),
            None => view.iter_mut().zip(new).for_each(|(v, &n)| *v = n),
        }
        at += len;
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone)]
    struct Two {
        a: ndarray::Array2<f64>,
        b: ndarray::Array1<f64>,
    }

    impl Params for Two {
        type Elem = f64;
        fn visit_prefixed<'a>(&'a self, prefix: &str, f: &mut dyn FnMut(&str, ndarray::ArrayViewD<'a, f64>)) {
            f(&crate::join_name(prefix, "a"), self.a.view().into_dyn());
            f(&crate::join_name(prefix, "b"), self.b.view().into_dyn());
        }
        fn visit_prefixed_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, ndarray::ArrayViewMutD<'_, f64>)) {
            f(&crate::join_name(prefix, "a"), self.a.view_mut().into_dyn());
            f(&crate::join_name(prefix, "b"), self.b.view_mut().into_dyn());
        }
    }

    #[test]
    fn flatten_and_unflatten_round_trip() {
        let mut m = Two {
            a: ndarray::array![[1.0, 2.0], [3.0, 4.0]],
            b: ndarray::array![5.0, 6.0],
        };
        let mut flat = Vec::new();
        flatten_into(&m, 1.0, &mut flat);
        assert_eq!(flat, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let doubled: Vec<f64> = flat.iter().map(|v| v * 2.0).collect();
        unflatten(&mut m, &doubled);
        assert_eq!(m.b, ndarray::array![10.0, 12.0]);
    }
}
