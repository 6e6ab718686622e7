//! Property tests of the runtime on random shapes: broadcasting and every
//! element-wise module's forward against its definition and its VJP against
//! central differences (f64); the GEMM against the naive triple loop on
//! random shapes, strides, transposes, α and β, on every backend this CPU
//! runs, in f32 and f64, serial and (above the parallel threshold) threaded.
//!
//! `PROPTEST_CASES` sets the number of cases; a failure prints the shrunk
//! input and is saved under `proptest-regressions/` to be run first next time.

use autodiff::gemm::{Backend, gemm_into, with_backend};
use autodiff::gradcheck::{Tolerance, gradcheck};
use autodiff::modules::*;
use autodiff::ndarray::{Array2, ArrayD, IxDyn, s};
use proptest::prelude::*;

/// A shape of rank 1 to 4 with axes of 1 to 6.
fn shape() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(1usize..=6, 1..=4)
}

/// An output shape and two operand shapes that broadcast to it: each is a
/// suffix of it with some axes set to 1.
fn broadcast_shapes() -> impl Strategy<Value = (Vec<usize>, Vec<usize>, Vec<usize>)> {
    shape().prop_flat_map(|out| {
        let operand = |out: Vec<usize>| {
            let rank = out.len();
            (1..=rank, prop::collection::vec(any::<bool>(), rank)).prop_map(move |(keep, ones)| {
                out[rank - keep..]
                    .iter()
                    .zip(&ones)
                    .map(|(&d, &one)| if one { 1 } else { d })
                    .collect::<Vec<usize>>()
            })
        };
        // The output is as wide as both operands together: widen a side
        // axis back where neither operand has it.
        (Just(out.clone()), operand(out.clone()), operand(out))
    })
}

/// Values for a shape from a seed: uniform in [lo, hi), none near 0 when
/// `away_from_zero` (kinks, and division).
fn values(shape: &[usize], seed: u64, lo: f64, hi: f64, away_from_zero: bool) -> ArrayD<f64> {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    ArrayD::from_shape_simple_fn(IxDyn(shape), || {
        loop {
            let v: f64 = rng.random_range(lo..hi);
            if !away_from_zero || v.abs() > 0.05 {
                return v;
            }
        }
    })
}

/// The shape both operands broadcast to, axis by axis from the right.
fn expected_shape(a: &[usize], b: &[usize]) -> Vec<usize> {
    let rank = a.len().max(b.len());
    (0..rank)
        .map(|i| {
            let axis = |s: &[usize]| (i + s.len()).checked_sub(rank).map_or(1, |j| s[j]);
            axis(a).max(axis(b))
        })
        .collect()
}

fn check(
    f: impl Fn(&[ArrayD<f64>]) -> f64,
    inputs: &[ArrayD<f64>],
    grads: &[ArrayD<f64>],
) -> Result<(), TestCaseError> {
    gradcheck(f, inputs, grads, Tolerance::default()).map_err(|e| TestCaseError::fail(e.to_string()))
}

type Binary = (
    &'static str,
    fn(&ArrayD<f64>, &ArrayD<f64>) -> ArrayD<f64>,
    fn(&ArrayD<f64>, &ArrayD<f64>, &ArrayD<f64>, ArrayD<f64>, [bool; 2]) -> (Option<ArrayD<f64>>, Option<ArrayD<f64>>),
    fn(f64, f64) -> f64,
);

const BINARY: [Binary; 5] = [
    ("add", add, add_vjp, |x, y| x + y),
    ("sub", sub, sub_vjp, |x, y| x - y),
    ("mul", mul, mul_vjp, |x, y| x * y),
    ("div", div, div_vjp, |x, y| x / y),
    ("max", max, max_vjp, f64::max),
];

type Unary = (
    &'static str,
    fn(&ArrayD<f64>) -> ArrayD<f64>,
    fn(&ArrayD<f64>, &ArrayD<f64>, ArrayD<f64>, [bool; 1]) -> (Option<ArrayD<f64>>,),
    fn(f64) -> f64,
);

const UNARY: [Unary; 7] = [
    ("relu", relu, relu_vjp, |x| x.max(0.0)),
    ("sigmoid", sigmoid, sigmoid_vjp, |x| 1.0 / (1.0 + (-x).exp())),
    ("tanh", tanh, tanh_vjp, f64::tanh),
    ("exp", exp, exp_vjp, f64::exp),
    ("log", log, log_vjp, f64::ln),
    ("neg", neg, neg_vjp, |x| -x),
    (
        "leaky_relu(0.1)",
        |x| leaky_relu(x, 0.1),
        |x, y, g, need| (leaky_relu_vjp(x, 0.1, y, g, [need[0], false]).0,),
        |x| {
            if x > 0.0 { x } else { 0.1 * x }
        },
    ),
];

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * (1.0 + b.abs())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn broadcasting_binary_modules_match_their_definition((_, a_shape, b_shape) in broadcast_shapes(), seed in any::<u64>()) {
        let out = expected_shape(&a_shape, &b_shape);
        prop_assert_eq!(autodiff::broadcast_shape("test", &a_shape, &b_shape), out.clone());
        for (name, forward, vjp, definition) in BINARY {
            let a = values(&a_shape, seed, -2.0, 2.0, true);
            // Positive divisors, and operands that never tie for `max`.
            let b = values(&b_shape, seed ^ 1, 0.2, 2.5, true);
            let y = forward(&a, &b);
            prop_assert_eq!(y.shape(), &out[..], "{}: {:?} with {:?}", name, a_shape, b_shape);
            let (ab, bb) = (a.broadcast(IxDyn(&out)).unwrap(), b.broadcast(IxDyn(&out)).unwrap());
            for ((y, &x1), &x2) in y.iter().zip(ab.iter()).zip(bb.iter()) {
                prop_assert!(close(*y, definition(x1, x2)), "{}: {} against {}", name, y, definition(x1, x2));
            }
            // L = Σ g ⊙ op(a, b): its gradient is the VJP of g.
            let g = values(&out, seed ^ 2, -1.0, 1.0, false);
            let (ga, gb) = vjp(&a, &b, &y, g.clone(), [true, true]);
            let (ga, gb) = (ga.expect("∂a requested"), gb.expect("∂b requested"));
            prop_assert_eq!(ga.shape(), a.shape());
            prop_assert_eq!(gb.shape(), b.shape());
            let loss = |v: &[ArrayD<f64>]| (forward(&v[0], &v[1]) * &g).sum();
            check(loss, &[a, b], &[ga, gb])?;
        }
    }

    #[test]
    fn unary_modules_match_their_definition(shape in prop::collection::vec(1usize..=8, 1..=4), seed in any::<u64>()) {
        for (name, forward, vjp, definition) in UNARY {
            let (lo, hi) = if name == "log" { (0.1, 3.0) } else { (-3.0, 3.0) };
            let x = values(&shape, seed, lo, hi, true);
            let y = forward(&x);
            prop_assert_eq!(y.shape(), x.shape());
            for (y, &x) in y.iter().zip(&x) {
                prop_assert!(close(*y, definition(x)), "{}({}) = {}, not {}", name, x, y, definition(x));
            }
            let g = values(&shape, seed ^ 3, -1.0, 1.0, false);
            let gx = vjp(&x, &y, g.clone(), [true]).0.expect("∂x requested");
            let loss = |v: &[ArrayD<f64>]| (forward(&v[0]) * &g).sum();
            check(loss, &[x], &[gx])?;
        }
    }
}

/// The naive product, in f64.
fn naive(alpha: f64, a: &Array2<f64>, b: &Array2<f64>, beta: f64, c: &Array2<f64>) -> Array2<f64> {
    let mut out = c * beta;
    for i in 0..a.nrows() {
        for j in 0..b.ncols() {
            out[[i, j]] += alpha * (0..a.ncols()).map(|p| a[[i, p]] * b[[p, j]]).sum::<f64>();
        }
    }
    out
}

/// A GEMM case: dimensions, whether A and B are stored transposed, column
/// steps of 1 or 2 (strided views), α, β and a seed.
type GemmCase = ((usize, usize, usize), (bool, bool), (usize, usize), (f64, f64), u64);

/// Dimensions: small ones, and in a third of the cases ones of 64 to 96 on
/// every side, whose products (at least 2¹⁸ multiply-adds) are split over
/// the threads.
fn gemm_cases() -> impl Strategy<Value = GemmCase> {
    (
        prop_oneof![
            2 => (1usize..=80, 1usize..=80, 1usize..=80),
            1 => (64usize..=96, 64usize..=96, 64usize..=96),
        ],
        (any::<bool>(), any::<bool>()),
        (1usize..=2, 1usize..=2),
        (
            prop_oneof![Just(1.0), -2.0..2.0f64],
            prop_oneof![Just(0.0), Just(1.0), -2.0..2.0f64],
        ),
        any::<u64>(),
    )
}

/// Runs one case on `backend` in f32 and f64 and compares with [`naive`].
fn gemm_case(
    backend: Backend,
    ((m, k, n), (ta, tb), (sa, sb), (alpha, beta), seed): GemmCase,
) -> Result<(), TestCaseError> {
    // Storage with the requested layout: transposed, and every `step`-th column.
    let stored = |rows: usize, cols: usize, transposed: bool, step: usize, seed: u64| {
        let (r, c) = if transposed {
            (cols, rows * step)
        } else {
            (rows, cols * step)
        };
        values(&[r, c], seed, -1.0, 1.0, false)
            .into_dimensionality::<autodiff::ndarray::Ix2>()
            .unwrap()
    };
    let (a_store, b_store) = (stored(m, k, ta, sa, seed), stored(k, n, tb, sb, seed ^ 5));
    let view = |store: &Array2<f64>, transposed: bool, step: usize| {
        if transposed {
            store.slice(s![.., ..;step]).reversed_axes().to_owned()
        } else {
            store.slice(s![.., ..;step]).to_owned()
        }
    };
    let (a, b) = (view(&a_store, ta, sa), view(&b_store, tb, sb));
    prop_assert_eq!(a.dim(), (m, k));
    prop_assert_eq!(b.dim(), (k, n));
    let c0 = values(&[m, n], seed ^ 7, -1.0, 1.0, false)
        .into_dimensionality()
        .unwrap();
    let expected = naive(alpha, &a, &b, beta, &c0);
    with_backend(backend, || {
        // f64 on the strided, possibly transposed views themselves.
        let a_view = if ta {
            a_store.slice(s![.., ..;sa]).reversed_axes()
        } else {
            a_store.slice(s![.., ..;sa])
        };
        let b_view = if tb {
            b_store.slice(s![.., ..;sb]).reversed_axes()
        } else {
            b_store.slice(s![.., ..;sb])
        };
        let mut c = c0.clone();
        gemm_into(alpha, &a_view, &b_view, beta, &mut c);
        let tolerance = 1e-12 * (k as f64 + 1.0);
        for (got, want) in c.iter().zip(&expected) {
            prop_assert!(
                (got - want).abs() <= tolerance,
                "f64 {:?} {}×{}×{}: {} against {}",
                backend,
                m,
                k,
                n,
                got,
                want
            );
        }
        // f32 on the same strided, possibly transposed views of f32 storage.
        let f = |x: &f64| *x as f32;
        let (a32_store, b32_store) = (a_store.map(f), b_store.map(f));
        let a32 = if ta {
            a32_store.slice(s![.., ..;sa]).reversed_axes()
        } else {
            a32_store.slice(s![.., ..;sa])
        };
        let b32 = if tb {
            b32_store.slice(s![.., ..;sb]).reversed_axes()
        } else {
            b32_store.slice(s![.., ..;sb])
        };
        let mut c32 = c0.map(f);
        gemm_into(alpha as f32, &a32, &b32, beta as f32, &mut c32);
        let tolerance = 2e-6 * (k as f64 + 1.0);
        for (got, want) in c32.iter().zip(&expected) {
            prop_assert!(
                (f64::from(*got) - want).abs() <= tolerance,
                "f32 {:?} {}×{}×{}: {} against {}",
                backend,
                m,
                k,
                n,
                got,
                want
            );
        }
        Ok(())
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn gemm_matches_the_naive_product_on_every_backend(case in gemm_cases()) {
        for backend in Backend::supported() {
            gemm_case(backend, case)?;
        }
    }
}
