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
//! `all_reduce_gradient` sends the gradients of all parameters in one buffer
//! after the backward pass (one all-reduce per step, as a single bucket of
//! DDP). [`Distributed::overlap`] instead starts the all-reduce of each
//! bucket of gradients during the backward pass, as soon as the gradients in
//! it are final, through the [gradient hooks](crate::hooks) of the generated
//! code. A rank that panics aborts the whole job (`MPI_Abort`) after its
//! message, instead of leaving the others waiting in a collective forever.

use mpi::collective::SystemOperation;
use mpi::datatype::Equivalence;
use mpi::environment::Universe;
use mpi::raw::AsRaw;
use mpi::topology::{Communicator, SimpleCommunicator};
use mpi::traits::{CommunicatorCollectives, Root};

use crate::hooks::{Elements, ElementsMut};
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
    buffers: std::cell::RefCell<crate::workspace::Workspace>,
    // The buckets of `overlap`, kept between steps.
    exchange: std::cell::RefCell<Exchange>,
    bucket_bytes: std::cell::Cell<usize>,
    // Time spent exchanging gradients, for `exchange_time`.
    exchanging: std::cell::Cell<std::time::Duration>,
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
            buffers: std::cell::RefCell::new(crate::workspace::Workspace::new()),
            exchange: std::cell::RefCell::new(Exchange::default()),
            bucket_bytes: std::cell::Cell::new(256 << 10),
            exchanging: std::cell::Cell::new(std::time::Duration::ZERO),
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
        let started = std::time::Instant::now();
        let weight = <P::Elem as crate::float::Float>::of(local as f64 / global.max(1) as f64);
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
        self.exchanging.set(self.exchanging.get() + started.elapsed());
    }

    /// The time this rank has spent exchanging gradients since `init`: all
    /// of [`all_reduce_gradient`](Self::all_reduce_gradient), and the part
    /// of [`overlap`](Self::overlap) that is not computing (copying into
    /// buckets, starting and waiting for all-reduces, copying back). Waiting
    /// for a slower rank counts.
    pub fn exchange_time(&self) -> std::time::Duration {
        self.exchanging.get()
    }

    /// Runs `backward`, a call of a generated `NAME_grad` or `NAME_grad_with`
    /// computing the gradient of the mean loss over this rank's shard of
    /// `local` examples, and returns what it returns with every gradient
    /// averaged over the global minibatch of `global` examples, as
    /// [`all_reduce_gradient`](Self::all_reduce_gradient) would: but each
    /// gradient's all-reduce starts, non-blocking, as soon as the backward
    /// pass has made it final (the last layer's first), in buckets of
    /// [`bucket_bytes`](Self::set_bucket_bytes), and is waited for only when
    /// the gradient is returned. Communication overlaps computation, as in
    /// PyTorch's `DistributedDataParallel`, at points `#[differentiable]`
    /// chose at compile time instead of hooks found at run time.
    ///
    /// Every rank must run the same `backward` (the same function, on
    /// differently sized shards if need be): the buckets are matched by
    /// their order.
    pub fn overlap<R>(&self, local: usize, global: usize, backward: impl FnOnce() -> R) -> R {
        let mut exchange = self.exchange.borrow_mut();
        exchange.begin(local as f64 / global.max(1) as f64, self.bucket_bytes.get());
        let mut hook = Overlap {
            world: &self.world,
            exchange: &mut exchange,
            time: std::time::Duration::ZERO,
        };
        let out = crate::hooks::with_gradient_hook(&mut hook, backward);
        let (time, ending) = (hook.time, std::time::Instant::now());
        exchange.end(&self.world);
        self.exchanging.set(self.exchanging.get() + time + ending.elapsed());
        out
    }

    /// The size at which [`overlap`](Self::overlap) starts a bucket's
    /// all-reduce (default 256 KiB): smaller buckets start sooner, larger ones
    /// cost fewer messages.
    pub fn set_bucket_bytes(&self, bytes: usize) {
        self.bucket_bytes.set(bytes.max(1));
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

/// The buckets of [`Distributed::overlap`], one list per element type.
#[derive(Default)]
struct Exchange {
    f32: Lane<f32>,
    f64: Lane<f64>,
    weight: f64,
    bucket_bytes: usize,
}

/// Buckets of one element type. A bucket fills with the gradients that
/// become final, scaled by this rank's weight; when full it is all-reduced
/// non-blocking into its `total`.
struct Lane<F> {
    buckets: Vec<Bucket<F>>,
    // The bucket being filled, if any.
    filling: Option<usize>,
    // How many buckets this step has used.
    used: usize,
    // Each tensor that became final: name, bucket, offset, length; and
    // whether its total was written back.
    entries: Vec<(String, usize, usize, usize, bool)>,
}

impl<F> Default for Lane<F> {
    fn default() -> Self {
        Lane {
            buckets: Vec::new(),
            filling: None,
            used: 0,
            entries: Vec::new(),
        }
    }
}

struct Bucket<F> {
    mine: Vec<F>,
    total: Vec<F>,
    // The all-reduce in flight. While it is, `mine` and `total` are neither
    // touched nor resized: MPI holds pointers to their elements (a `Bucket`
    // may move inside `buckets`; its vectors' elements do not).
    request: Option<mpi::ffi::MPI_Request>,
}

impl<F: crate::float::Float + Equivalence> Lane<F> {
    fn begin(&mut self) {
        self.filling = None;
        self.used = 0;
        self.entries.clear();
    }

    /// Appends `values × weight` to the bucket being filled, starting it
    /// when it reaches `bucket_bytes`.
    fn add(
        &mut self,
        world: &SimpleCommunicator,
        name: &str,
        values: ndarray::ArrayViewD<'_, F>,
        weight: F,
        bucket_bytes: usize,
    ) {
        let k = match self.filling {
            Some(k) => k,
            None => {
                if self.used == self.buckets.len() {
                    self.buckets.push(Bucket {
                        mine: Vec::new(),
                        total: Vec::new(),
                        request: None,
                    });
                }
                self.used += 1;
                self.filling = Some(self.used - 1);
                self.buckets[self.used - 1].mine.clear();
                self.used - 1
            }
        };
        let bucket = &mut self.buckets[k];
        let offset = bucket.mine.len();
        extend_scaled(&mut bucket.mine, &values, weight);
        self.entries.push((name.to_string(), k, offset, values.len(), false));
        if bucket.mine.len() * std::mem::size_of::<F>() >= bucket_bytes {
            self.start(world, k);
        }
    }

    /// Starts the all-reduce of bucket `k`.
    fn start(&mut self, world: &SimpleCommunicator, k: usize) {
        if self.filling == Some(k) {
            self.filling = None;
        }
        let bucket = &mut self.buckets[k];
        let len = bucket.mine.len();
        bucket.total.clear();
        bucket.total.resize(len, F::zero());
        let count = i32::try_from(len).expect("a bucket of fewer than 2³¹ values");
        let mut request = std::mem::MaybeUninit::uninit();
        // SAFETY: `mine` and `total` hold `count` initialised values each and
        // are left alone until `wait` completes the request (see `Bucket`);
        // the datatype is `F`'s, the communicator is alive for the call.
        unsafe {
            mpi::ffi::MPI_Iallreduce(
                bucket.mine.as_ptr().cast(),
                bucket.total.as_mut_ptr().cast(),
                count,
                F::equivalent_datatype().as_raw(),
                SystemOperation::sum().as_raw(),
                world.as_raw(),
                request.as_mut_ptr(),
            );
        }
        // SAFETY: MPI_Iallreduce initialised the request.
        bucket.request = Some(unsafe { request.assume_init() });
    }

    /// Lets MPI advance the all-reduces in flight (it progresses them only
    /// inside its calls), keeping those not yet complete.
    fn progress(&mut self) {
        for bucket in &mut self.buckets[..self.used] {
            if let Some(request) = bucket.request.as_mut() {
                let mut done = 0;
                // SAFETY: a request of MPI_Iallreduce, not yet completed.
                unsafe {
                    mpi::ffi::MPI_Test(request, &mut done, mpi::ffi::RSMPI_STATUS_IGNORE);
                }
                if done != 0 {
                    bucket.request = None;
                }
            }
        }
    }

    fn wait(&mut self, k: usize) {
        if let Some(mut request) = self.buckets[k].request.take() {
            // SAFETY: a request of MPI_Iallreduce, not yet completed.
            unsafe {
                mpi::ffi::MPI_Wait(&mut request, mpi::ffi::RSMPI_STATUS_IGNORE);
            }
        }
    }

    /// Writes the reduced values of tensor `name` into `out`, waiting for
    /// its bucket; a tensor that never became final is reduced now, alone.
    fn finish(&mut self, world: &SimpleCommunicator, name: &str, mut out: ndarray::ArrayViewMutD<'_, F>, weight: F) {
        let Some(e) = self.entries.iter().position(|(n, .., written)| n == name && !written) else {
            let mut mine = Vec::with_capacity(out.len());
            extend_scaled(&mut mine, &out.view(), weight);
            let mut total = vec![F::zero(); mine.len()];
            world.all_reduce_into(&mine[..], &mut total[..], SystemOperation::sum());
            copy_into(&mut out, &total);
            return;
        };
        let (_, k, offset, len, _) = self.entries[e];
        assert_eq!(
            len,
            out.len(),
            "overlap: the gradient `{name}` has {} values at the end but had {len} when it became final",
            out.len()
        );
        if self.filling == Some(k) {
            self.start(world, k);
        }
        self.wait(k);
        copy_into(&mut out, &self.buckets[k].total[offset..offset + len]);
        self.entries[e].4 = true;
    }

    /// Completes what is in flight; every gradient that became final must
    /// have been written back.
    fn end(&mut self, world: &SimpleCommunicator) {
        if let Some(k) = self.filling {
            self.start(world, k);
        }
        for k in 0..self.used {
            self.wait(k);
        }
        if let Some((name, ..)) = self.entries.iter().find(|(.., written)| !written) {
            panic!("overlap: the gradient `{name}` became final but was not returned");
        }
    }
}

/// Appends `values × scale`, in row-major order (a slice when contiguous:
/// iterating a rank-erased view element by element costs more).
fn extend_scaled<F: crate::float::Float>(flat: &mut Vec<F>, values: &ndarray::ArrayViewD<'_, F>, scale: F) {
    match values.as_slice() {
        Some(v) => flat.extend(v.iter().map(|&x| x * scale)),
        None => flat.extend(values.iter().map(|&x| x * scale)),
    }
}

/// Copies `values` into `out`, in row-major order.
fn copy_into<F: Copy>(out: &mut ndarray::ArrayViewMutD<'_, F>, values: &[F]) {
    match out.as_slice_mut() {
        Some(o) => o.copy_from_slice(values),
        None => out.iter_mut().zip(values).for_each(|(o, &v)| *o = v),
    }
}

impl Exchange {
    fn begin(&mut self, weight: f64, bucket_bytes: usize) {
        self.weight = weight;
        self.bucket_bytes = bucket_bytes;
        self.f32.begin();
        self.f64.begin();
    }

    fn end(&mut self, world: &SimpleCommunicator) {
        self.f32.end(world);
        self.f64.end(world);
    }
}

/// The hook that [`Distributed::overlap`] installs.
struct Overlap<'a> {
    world: &'a SimpleCommunicator,
    exchange: &'a mut Exchange,
    // Time spent in the events.
    time: std::time::Duration,
}

impl crate::hooks::GradientHook for Overlap<'_> {
    fn ready(&mut self, name: &str, gradient: Elements<'_>) {
        let (x, world, started) = (&mut *self.exchange, self.world, std::time::Instant::now());
        match gradient {
            Elements::F32(v) => x.f32.add(world, name, v, x.weight as f32, x.bucket_bytes),
            Elements::F64(v) => x.f64.add(world, name, v, x.weight, x.bucket_bytes),
        }
        self.time += started.elapsed();
    }

    fn progress(&mut self) {
        let started = std::time::Instant::now();
        self.exchange.f32.progress();
        self.exchange.f64.progress();
        self.time += started.elapsed();
    }

    fn finish(&mut self, name: &str, gradient: ElementsMut<'_>) {
        let (x, world, started) = (&mut *self.exchange, self.world, std::time::Instant::now());
        match gradient {
            ElementsMut::F32(v) => x.f32.finish(world, name, v, x.weight as f32),
            ElementsMut::F64(v) => x.f64.finish(world, name, v, x.weight),
        }
        self.time += started.elapsed();
    }
}

/// Appends every tensor of `model`, times `scale`, to `flat` in visiting
/// order.
fn flatten_into<P: Params>(model: &P, scale: P::Elem, flat: &mut Vec<P::Elem>) {
    model.visit(&mut |_, view| extend_scaled(flat, &view, scale));
}

/// Copies `flat` back into the tensors, in visiting order.
fn unflatten<P: Params>(model: &mut P, flat: &[P::Elem]) {
    let mut at = 0;
    model.visit_mut(&mut |_, mut view| {
        let len = view.len();
        copy_into(&mut view, &flat[at..at + len]);
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
            f(&crate::params::join_name(prefix, "a"), self.a.view().into_dyn());
            f(&crate::params::join_name(prefix, "b"), self.b.view().into_dyn());
        }
        fn visit_prefixed_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, ndarray::ArrayViewMutD<'_, f64>)) {
            f(&crate::params::join_name(prefix, "a"), self.a.view_mut().into_dyn());
            f(&crate::params::join_name(prefix, "b"), self.b.view_mut().into_dyn());
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
