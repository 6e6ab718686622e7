//! `#[differentiable(.., hvp)]`: the generated `_jvp` against the gradient
//! (⟨∇f, v⟩), and `_hvp`'s H·v against central differences of the generated
//! gradient and against the symmetry ⟨u, H·v⟩ = ⟨v, H·u⟩, in f64, on
//! straight-line code, loops, branches, methods, layers, generics, several
//! outputs, functions calling functions, convolutions, pooling and
//! normalisation.

mod common;

use autodiff::ndarray::{ArrayD, Axis};
use autodiff::prelude::*;
use common::{d1, d2, random};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

type Vector = Vec<ArrayD<f64>>;

fn dot(a: &[ArrayD<f64>], b: &[ArrayD<f64>]) -> f64 {
    a.iter().zip(b).map(|(a, b)| (a * b).sum()).sum()
}

fn random_like(theta: &[ArrayD<f64>], seed: u64) -> Vector {
    let mut rng = StdRng::seed_from_u64(seed);
    theta
        .iter()
        .map(|t| ArrayD::from_shape_simple_fn(t.raw_dim(), || rng.random_range(-1.0..1.0)))
        .collect()
}

fn assert_close(what: &str, a: f64, b: f64, tolerance: f64) {
    assert!(
        (a - b).abs() <= tolerance * (1.0 + a.abs().max(b.abs())),
        "{what}: {a} against {b}"
    );
}

/// The second-order functions of one function, seen through flat lists of
/// tensors (the parameters θ, a direction v).
struct Functions<'a> {
    grad: &'a Grad<'a>,
    jvp: &'a Jvp<'a>,
    hvp: &'a Hvp<'a>,
}

type Grad<'a> = dyn Fn(&[ArrayD<f64>]) -> (f64, Vector) + 'a;
type Jvp<'a> = dyn Fn(&[ArrayD<f64>], &[ArrayD<f64>]) -> (f64, f64) + 'a;
type Hvp<'a> = dyn Fn(&[ArrayD<f64>], &[ArrayD<f64>]) -> (f64, Vector, Vector) + 'a;

/// `_jvp` gives the value and ⟨∇f, v⟩; `_hvp` gives the value, the gradient
/// and H·v, which matches (∇f(θ + hv) − ∇f(θ − hv)) / 2h and is symmetric.
fn check(name: &str, theta: &[ArrayD<f64>], f: Functions<'_>) {
    let (value, gradient) = (f.grad)(theta);
    for seed in 0..3 {
        let (v, u) = (random_like(theta, 100 + seed), random_like(theta, 200 + seed));
        let (jvp_value, directional) = (f.jvp)(theta, &v);
        assert_close(&format!("{name}: the value of _jvp"), jvp_value, value, 1e-12);
        assert_close(&format!("{name}: ⟨∇f, v⟩"), directional, dot(&gradient, &v), 1e-10);

        let (hvp_value, hvp_gradient, hv) = (f.hvp)(theta, &v);
        assert_close(&format!("{name}: the value of _hvp"), hvp_value, value, 1e-12);
        for (k, (a, b)) in hvp_gradient.iter().zip(&gradient).enumerate() {
            for (x, y) in a.iter().zip(b) {
                assert_close(&format!("{name}: gradient {k} of _hvp"), *x, *y, 1e-12);
            }
        }
        let h = 1e-5;
        let moved = |s: f64| -> Vector { theta.iter().zip(&v).map(|(t, v)| t + &(v * (s * h))).collect() };
        let (plus, minus) = ((f.grad)(&moved(1.0)).1, (f.grad)(&moved(-1.0)).1);
        let scale = plus
            .iter()
            .chain(&hv)
            .flat_map(|a| a.iter())
            .fold(1.0_f64, |m, x| m.max(x.abs()));
        for (k, ((p, m), hv)) in plus.iter().zip(&minus).zip(&hv).enumerate() {
            assert_eq!(p.shape(), hv.shape(), "{name}: the shape of H·v {k}");
            for ((p, m), hv) in p.iter().zip(m).zip(hv) {
                let numeric = (p - m) / (2.0 * h);
                assert!(
                    (hv - numeric).abs() <= 1e-6 * scale,
                    "{name}: H·v {k}: generated {hv}, finite differences {numeric}"
                );
            }
        }
        let (_, _, hu) = (f.hvp)(theta, &u);
        assert_close(
            &format!("{name}: ⟨u, H·v⟩ = ⟨v, H·u⟩"),
            dot(&u, &hv),
            dot(&v, &hu),
            1e-10,
        );
    }
}

// Straight-line code: a layer, a square, a sum.
#[differentiable(wrt(w, b), hvp)]
fn layer(x: &Array2<f64>, w: &Array2<f64>, b: &Array1<f64>) -> f64 {
    let h = tanh(&(&matmul(x, w) + b));
    sum(&(&h * &h))
}

#[test]
fn straight_line() {
    let x = random((4, 3), 1);
    let theta = vec![random((3, 5), 2).into_dyn() * 0.3, random(5, 3).into_dyn() * 0.3];
    let grad = |t: &[ArrayD<f64>]| {
        let (value, g) = layer_grad(&x, &d2(&t[0]), &d1(&t[1]));
        (value, vec![g.w.into_dyn(), g.b.into_dyn()])
    };
    let direction = |v: &[ArrayD<f64>]| LayerGrad {
        w: d2(&v[0]),
        b: d1(&v[1]),
    };
    let jvp = |t: &[ArrayD<f64>], v: &[ArrayD<f64>]| layer_jvp(&x, &d2(&t[0]), &d1(&t[1]), &direction(v));
    let hvp = |t: &[ArrayD<f64>], v: &[ArrayD<f64>]| {
        let (value, g, hv) = layer_hvp(&x, &d2(&t[0]), &d1(&t[1]), &direction(v));
        (
            value,
            vec![g.w.into_dyn(), g.b.into_dyn()],
            vec![hv.w.into_dyn(), hv.b.into_dyn()],
        )
    };
    check(
        "layer",
        &theta,
        Functions {
            grad: &grad,
            jvp: &jvp,
            hvp: &hvp,
        },
    );
}

// An MLP with a softmax cross-entropy and an L2 penalty, every module of the
// digits tutorial; the scalar weight of the penalty is differentiated too.
#[differentiable(wrt(w1, b1, w2, b2, decay), hvp)]
fn mlp(
    x: &Array2<f64>,
    labels: &[usize],
    w1: &Array2<f64>,
    b1: &Array1<f64>,
    w2: &Array2<f64>,
    b2: &Array1<f64>,
    decay: f64,
) -> f64 {
    let h = sigmoid(&linear(x, w1, b1));
    let z = linear(&h, w2, b2);
    cross_entropy(&z, labels) + decay * (l2(w1) + l2(w2))
}

#[test]
fn mlp_with_a_penalty() {
    let x = random((6, 4), 4);
    let labels = [0, 2, 1, 2, 0, 1];
    let theta = vec![
        random((5, 4), 5).into_dyn() * 0.5,
        random(5, 6).into_dyn() * 0.5,
        random((3, 5), 7).into_dyn() * 0.5,
        random(3, 8).into_dyn() * 0.5,
        ArrayD::from_elem(vec![], 0.01),
    ];
    let s = |t: &ArrayD<f64>| t.iter().next().copied().unwrap_or_default();
    let grad = |t: &[ArrayD<f64>]| {
        let (value, g) = mlp_grad(&x, &labels, &d2(&t[0]), &d1(&t[1]), &d2(&t[2]), &d1(&t[3]), s(&t[4]));
        let decay = ArrayD::from_elem(vec![], g.decay);
        (
            value,
            vec![
                g.w1.into_dyn(),
                g.b1.into_dyn(),
                g.w2.into_dyn(),
                g.b2.into_dyn(),
                decay,
            ],
        )
    };
    let direction = |v: &[ArrayD<f64>]| MlpGrad {
        w1: d2(&v[0]),
        b1: d1(&v[1]),
        w2: d2(&v[2]),
        b2: d1(&v[3]),
        decay: s(&v[4]),
    };
    let flat = |g: MlpGrad| {
        let decay = ArrayD::from_elem(vec![], g.decay);
        vec![
            g.w1.into_dyn(),
            g.b1.into_dyn(),
            g.w2.into_dyn(),
            g.b2.into_dyn(),
            decay,
        ]
    };
    let jvp = |t: &[ArrayD<f64>], v: &[ArrayD<f64>]| {
        mlp_jvp(
            &x,
            &labels,
            &d2(&t[0]),
            &d1(&t[1]),
            &d2(&t[2]),
            &d1(&t[3]),
            s(&t[4]),
            &direction(v),
        )
    };
    let hvp = |t: &[ArrayD<f64>], v: &[ArrayD<f64>]| {
        let (value, g, hv) = mlp_hvp(
            &x,
            &labels,
            &d2(&t[0]),
            &d1(&t[1]),
            &d2(&t[2]),
            &d1(&t[3]),
            s(&t[4]),
            &direction(v),
        );
        (value, flat(g), flat(hv))
    };
    check(
        "mlp",
        &theta,
        Functions {
            grad: &grad,
            jvp: &jvp,
            hvp: &hvp,
        },
    );
}

/// The Hessian of softmax cross-entropy in the logits is (diag(p) − ppᵀ)/n
/// per row: a closed form for H·v.
#[differentiable(wrt(z), hvp)]
fn logits_loss(z: &Array2<f64>, labels: &[usize]) -> f64 {
    cross_entropy(z, labels)
}

#[test]
fn cross_entropy_hessian_is_the_softmax_covariance() {
    let z = random((3, 4), 9);
    let v = random((3, 4), 10);
    let (_, _, hv) = logits_loss_hvp(&z, &[1, 0, 3], &LogitsLossGrad { z: v.clone() });
    let p = softmax(&z);
    for i in 0..3 {
        let (pi, vi) = (p.row(i), v.row(i));
        let pv = pi.dot(&vi);
        for j in 0..4 {
            let expected = (pi[j] * vi[j] - pi[j] * pv) / 3.0;
            assert_close("(diag(p) − ppᵀ)v / n", hv.z[[i, j]], expected, 1e-14);
        }
    }
}

// A loop that reassigns its value (stored per iteration), a branch on an
// active value, and a mean.
#[differentiable(wrt(w, b), hvp)]
fn recurrent(x: &Array2<f64>, w: &Array2<f64>, b: &Array1<f64>, steps: usize) -> f64 {
    let mut h = x.clone();
    for _ in 0..steps {
        h = tanh(&linear(&h, w, b));
        if sum(&h) > 0.0 {
            h = &h * 0.5;
        } else {
            h = &h * &h;
        }
    }
    mean(&(&h * &h))
}

#[test]
fn loops_and_branches() {
    let x = random((2, 3), 11);
    let theta = vec![random((3, 3), 12).into_dyn() * 0.6, random(3, 13).into_dyn() * 0.6];
    let grad = |t: &[ArrayD<f64>]| {
        let (value, g) = recurrent_grad(&x, &d2(&t[0]), &d1(&t[1]), 4);
        (value, vec![g.w.into_dyn(), g.b.into_dyn()])
    };
    let direction = |v: &[ArrayD<f64>]| RecurrentGrad {
        w: d2(&v[0]),
        b: d1(&v[1]),
    };
    let jvp = |t: &[ArrayD<f64>], v: &[ArrayD<f64>]| recurrent_jvp(&x, &d2(&t[0]), &d1(&t[1]), 4, &direction(v));
    let hvp = |t: &[ArrayD<f64>], v: &[ArrayD<f64>]| {
        let (value, g, hv) = recurrent_hvp(&x, &d2(&t[0]), &d1(&t[1]), 4, &direction(v));
        (
            value,
            vec![g.w.into_dyn(), g.b.into_dyn()],
            vec![hv.w.into_dyn(), hv.b.into_dyn()],
        )
    };
    check(
        "recurrent",
        &theta,
        Functions {
            grad: &grad,
            jvp: &jvp,
            hvp: &hvp,
        },
    );
}

// A model with a list of layers, as a method; its direction and H·v are
// `MethodGrad`s like its gradient.
#[derive(Params, Clone)]
struct Dense {
    w: Array2<f64>,
    b: Array1<f64>,
}

#[derive(Params, Clone)]
struct Net {
    layers: Vec<Dense>,
    head: Array2<f64>,
}

impl Net {
    #[differentiable(wrt(self), hvp)]
    fn loss(&self, x: &Array2<f64>, labels: &[usize]) -> f64 {
        let mut h = x.clone();
        for layer in &self.layers {
            h = gelu(&linear(&h, &layer.w, &layer.b));
        }
        let z = matmul(&h, &self.head);
        cross_entropy(&z, labels)
    }

    fn flat(&self) -> Vector {
        self.views().into_iter().map(|v| v.to_owned()).collect()
    }

    fn with_values(&self, values: &[ArrayD<f64>]) -> Net {
        let mut m = self.clone();
        let mut next = values.iter();
        m.visit_mut(&mut |_, mut view| view.assign(next.next().expect("one value per tensor")));
        m
    }
}

#[test]
fn methods_and_layers() {
    let net = Net {
        layers: vec![
            Dense {
                w: random((4, 3), 14) * 0.5,
                b: random(4, 15) * 0.5,
            },
            Dense {
                w: random((4, 4), 16) * 0.5,
                b: random(4, 17) * 0.5,
            },
        ],
        head: random((4, 3), 18) * 0.5,
    };
    let x = random((5, 3), 19);
    let labels = [0, 1, 2, 1, 0];
    let grad = |t: &[ArrayD<f64>]| {
        let (value, g) = net.with_values(t).loss_grad(&x, &labels);
        (value, g.self_.flat())
    };
    let direction = |v: &[ArrayD<f64>]| autodiff::MethodGrad {
        self_: net.with_values(v),
        args: (),
    };
    let jvp = |t: &[ArrayD<f64>], v: &[ArrayD<f64>]| net.with_values(t).loss_jvp(&x, &labels, &direction(v));
    let hvp = |t: &[ArrayD<f64>], v: &[ArrayD<f64>]| {
        let (value, g, hv) = net.with_values(t).loss_hvp(&x, &labels, &direction(v));
        (value, g.self_.flat(), hv.self_.flat())
    };
    check(
        "net",
        &net.flat(),
        Functions {
            grad: &grad,
            jvp: &jvp,
            hvp: &hvp,
        },
    );
}

// Generic over the float type, with a function of several outputs called
// by another: the callee's tangent functions make it a module of the caller's.
#[differentiable(wrt(h, w, u), hvp)]
fn cell<F: Float>(x: &Array2<F>, h: &Array2<F>, w: &Array2<F>, u: &Array2<F>) -> (Array2<F>, Array2<F>) {
    let pre = &matmul(x, w) + &matmul(h, u);
    let gate = sigmoid(&pre);
    let c = tanh(&pre);
    (&gate * &c, c)
}

#[differentiable(wrt(w, u), hvp)]
fn unrolled<F: Float>(x: &Array2<F>, w: &Array2<F>, u: &Array2<F>) -> F {
    let mut h = x.clone();
    let mut total = sum(&h);
    for _ in 0..3 {
        let (next, c) = cell(x, &h, w, u);
        total += mean(&c);
        h = next;
    }
    total + sum(&(&h * &h))
}

#[test]
fn generics_several_outputs_and_calls() {
    let x = random((2, 3), 20);
    let theta = vec![random((3, 3), 21).into_dyn() * 0.5, random((3, 3), 22).into_dyn() * 0.5];
    let grad = |t: &[ArrayD<f64>]| {
        let (value, g) = unrolled_grad(&x, &d2(&t[0]), &d2(&t[1]));
        (value, vec![g.w.into_dyn(), g.u.into_dyn()])
    };
    let direction = |v: &[ArrayD<f64>]| UnrolledGrad {
        w: d2(&v[0]),
        u: d2(&v[1]),
        __marker: Default::default(),
    };
    let jvp = |t: &[ArrayD<f64>], v: &[ArrayD<f64>]| unrolled_jvp(&x, &d2(&t[0]), &d2(&t[1]), &direction(v));
    let hvp = |t: &[ArrayD<f64>], v: &[ArrayD<f64>]| {
        let (value, g, hv) = unrolled_hvp(&x, &d2(&t[0]), &d2(&t[1]), &direction(v));
        (
            value,
            vec![g.w.into_dyn(), g.u.into_dyn()],
            vec![hv.w.into_dyn(), hv.u.into_dyn()],
        )
    };
    check(
        "unrolled",
        &theta,
        Functions {
            grad: &grad,
            jvp: &jvp,
            hvp: &hvp,
        },
    );

    // In f32, H·v agrees with the f64 one.
    let f = |a: &Array2<f64>| a.mapv(|v| v as f32);
    let v = random_like(&theta, 7);
    let (_, _, hv64) = unrolled_hvp(&x, &d2(&theta[0]), &d2(&theta[1]), &direction(&v));
    let direction32 = UnrolledGrad {
        w: f(&d2(&v[0])),
        u: f(&d2(&v[1])),
        __marker: Default::default(),
    };
    let (_, _, hv32) = unrolled_hvp(&f(&x), &f(&d2(&theta[0])), &f(&d2(&theta[1])), &direction32);
    for (a, b) in hv32.w.iter().zip(&hv64.w).chain(hv32.u.iter().zip(&hv64.u)) {
        assert_close("f32 H·v", f64::from(*a), *b, 1e-4);
    }
}

// A quadratic ½θᵀAθ has H·v = A·v exactly.
#[differentiable(wrt(theta), hvp)]
fn quadratic(theta: &Array2<f64>, a: &Array2<f64>) -> f64 {
    let at = matmul(a, theta);
    0.5 * sum(&(theta * &at))
}

#[test]
fn a_quadratic_gives_its_matrix() {
    let m = random((4, 4), 23);
    let a = &m + &m.t();
    let theta = random((4, 2), 24);
    let v = random((4, 2), 25);
    let (_, _, hv) = quadratic_hvp(&theta, &a, &QuadraticGrad { theta: v.clone() });
    let expected = a.dot(&v);
    for (x, y) in hv.theta.iter().zip(&expected) {
        assert_close("A·v", *x, *y, 1e-13);
    }
    // The tangent of a value the direction does not reach is zero.
    let (_, _, zero) = quadratic_hvp(&theta, &a, &QuadraticGrad { theta: v.map(|_| 0.0) });
    assert!(zero.theta.iter().all(|x| *x == 0.0));
    let _ = Axis(0);
}

#[differentiable(wrt(w, u), hvp)]
fn split_once(x: &Array2<f64>, w: &Array2<f64>, u: &Array2<f64>) -> f64 {
    let (a, c) = cell(x, x, w, u);
    sum(&a) + sum(&(&c * &c))
}

#[test]
fn a_call_with_several_outputs() {
    let x = random((2, 3), 20);
    let theta = vec![random((3, 3), 21).into_dyn() * 0.5, random((3, 3), 22).into_dyn() * 0.5];
    let grad = |t: &[ArrayD<f64>]| {
        let (value, g) = split_once_grad(&x, &d2(&t[0]), &d2(&t[1]));
        (value, vec![g.w.into_dyn(), g.u.into_dyn()])
    };
    let direction = |v: &[ArrayD<f64>]| SplitOnceGrad {
        w: d2(&v[0]),
        u: d2(&v[1]),
    };
    let jvp = |t: &[ArrayD<f64>], v: &[ArrayD<f64>]| split_once_jvp(&x, &d2(&t[0]), &d2(&t[1]), &direction(v));
    let hvp = |t: &[ArrayD<f64>], v: &[ArrayD<f64>]| {
        let (value, g, hv) = split_once_hvp(&x, &d2(&t[0]), &d2(&t[1]), &direction(v));
        (
            value,
            vec![g.w.into_dyn(), g.u.into_dyn()],
            vec![hv.w.into_dyn(), hv.u.into_dyn()],
        )
    };
    check(
        "once",
        &theta,
        Functions {
            grad: &grad,
            jvp: &jvp,
            hvp: &hvp,
        },
    );
}

// A convolution, max pooling and layer normalisation.
#[differentiable(wrt(w, b, gamma, beta), hvp)]
fn convolutional(x: &Array4<f64>, w: &Array4<f64>, b: &Array1<f64>, gamma: &Array1<f64>, beta: &Array1<f64>) -> f64 {
    let h = max_pool2d(&tanh(&conv2d(x, w, b, 1, 1)), 2, 2);
    let f = flatten(&h);
    let n = layer_norm(&f, gamma, beta, 1e-3);
    mean(&(&n * &sigmoid(&f)))
}

#[test]
fn convolutions_pooling_and_normalisation() {
    let x = random((2, 2, 4, 4), 30);
    let d4 = |a: &ArrayD<f64>| {
        a.clone()
            .into_dimensionality::<autodiff::ndarray::Ix4>()
            .expect("rank 4")
    };
    let theta = vec![
        random((3, 2, 3, 3), 31).into_dyn() * 0.4,
        random(3, 32).into_dyn() * 0.4,
        random(12, 33).into_dyn() * 0.5,
        random(12, 34).into_dyn() * 0.5,
    ];
    let flat = |g: ConvolutionalGrad| vec![g.w.into_dyn(), g.b.into_dyn(), g.gamma.into_dyn(), g.beta.into_dyn()];
    let grad = |t: &[ArrayD<f64>]| {
        let (value, g) = convolutional_grad(&x, &d4(&t[0]), &d1(&t[1]), &d1(&t[2]), &d1(&t[3]));
        (value, flat(g))
    };
    let direction = |v: &[ArrayD<f64>]| ConvolutionalGrad {
        w: d4(&v[0]),
        b: d1(&v[1]),
        gamma: d1(&v[2]),
        beta: d1(&v[3]),
    };
    let jvp = |t: &[ArrayD<f64>], v: &[ArrayD<f64>]| {
        convolutional_jvp(&x, &d4(&t[0]), &d1(&t[1]), &d1(&t[2]), &d1(&t[3]), &direction(v))
    };
    let hvp = |t: &[ArrayD<f64>], v: &[ArrayD<f64>]| {
        let (value, g, hv) = convolutional_hvp(&x, &d4(&t[0]), &d1(&t[1]), &d1(&t[2]), &d1(&t[3]), &direction(v));
        (value, flat(g), flat(hv))
    };
    check(
        "convolutional",
        &theta,
        Functions {
            grad: &grad,
            jvp: &jvp,
            hvp: &hvp,
        },
    );
}

// Attention's three projections from one product, cut with `split`: every
// part used, in products with one another.
#[differentiable(wrt(w), hvp)]
fn split_heads(x: &Array2<f64>, w: &Array2<f64>) -> f64 {
    let qkv = matmul(x, w);
    let [q, k, v] = split(&qkv, 3, 1);
    let scores = softmax(&matmul(&q, &transpose(&k)));
    sum(&(&matmul(&scores, &v) * &v))
}

#[test]
fn split_parts() {
    let x = random((4, 3), 5);
    let theta = vec![random((3, 6), 6).into_dyn() * 0.5];
    let grad = |t: &[ArrayD<f64>]| {
        let (value, g) = split_heads_grad(&x, &d2(&t[0]));
        (value, vec![g.w.into_dyn()])
    };
    let direction = |v: &[ArrayD<f64>]| SplitHeadsGrad { w: d2(&v[0]) };
    let jvp = |t: &[ArrayD<f64>], v: &[ArrayD<f64>]| split_heads_jvp(&x, &d2(&t[0]), &direction(v));
    let hvp = |t: &[ArrayD<f64>], v: &[ArrayD<f64>]| {
        let (value, g, hv) = split_heads_hvp(&x, &d2(&t[0]), &direction(v));
        (value, vec![g.w.into_dyn()], vec![hv.w.into_dyn()])
    };
    check(
        "split",
        &theta,
        Functions {
            grad: &grad,
            jvp: &jvp,
            hvp: &hvp,
        },
    );
}
