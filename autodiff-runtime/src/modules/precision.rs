//! Every module in f32 agrees with itself in f64: the same inputs, rounded to
//! f32, give the forward output and every input gradient of the f64 run to
//! f32 accuracy. (The finite-difference checks of each module run in f64.)

use ndarray::{Array1, Array2, ArrayD};

use super::*;
use crate::testing::random;

fn to32(a: &Array2<f64>) -> Array2<f32> {
    a.mapv(|v| v as f32)
}

/// Relative agreement of an f32 result with the f64 one.
fn assert_close(name: &str, a: &ArrayD<f32>, b: &ArrayD<f64>) {
    assert_eq!(a.shape(), b.shape(), "{name}: shapes");
    let scale = b.iter().fold(1.0_f64, |m, v| m.max(v.abs()));
    for (x, y) in a.iter().zip(b) {
        assert!((f64::from(*x) - y).abs() <= 1e-4 * scale, "{name}: f32 {x} vs f64 {y}");
    }
}

fn scalar(v: f32) -> ArrayD<f32> {
    ndarray::arr0(v).into_dyn()
}

fn scalar64(v: f64) -> ArrayD<f64> {
    ndarray::arr0(v).into_dyn()
}

macro_rules! unary {
    ($name:ident, $vjp:ident, $x:expr) => {{
        let x64: Array2<f64> = $x;
        let x32 = to32(&x64);
        let (y64, y32) = ($name(&x64), $name(&x32));
        assert_close(stringify!($name), &y32.clone().into_dyn(), &y64.clone().into_dyn());
        let g64 = random(y64.dim(), 99);
        let (a,) = $vjp(&x64, &y64, g64.clone(), [true]);
        let (b,) = $vjp(&x32, &y32, to32(&g64), [true]);
        assert_close(stringify!($vjp), &b.unwrap().into_dyn(), &a.unwrap().into_dyn());
    }};
}

#[test]
fn element_wise_and_softmax_modules() {
    let x = random((4, 5), 1);
    unary!(relu, relu_vjp, x.clone());
    unary!(sigmoid, sigmoid_vjp, x.clone());
    unary!(tanh, tanh_vjp, x.clone());
    unary!(exp, exp_vjp, x.clone());
    unary!(log, log_vjp, x.mapv(|v| v.abs() + 0.5));
    unary!(neg, neg_vjp, x.clone());
    unary!(softmax, softmax_vjp, x.clone());
    unary!(log_softmax, log_softmax_vjp, x.clone());
    // leaky_relu and scale take a constant as well.
    let (x32, g) = (to32(&x), random((4, 5), 2));
    let (a, b) = (leaky_relu(&x, 0.1), leaky_relu(&x32, 0.1));
    assert_close("leaky_relu", &b.clone().into_dyn(), &a.clone().into_dyn());
    let ga = leaky_relu_vjp(&x, 0.1, &a, g.clone(), [true, false]).0.unwrap();
    let gb = leaky_relu_vjp(&x32, 0.1, &b, to32(&g), [true, false]).0.unwrap();
    assert_close("leaky_relu_vjp", &gb.into_dyn(), &ga.into_dyn());
    let (a, b) = (scale(&x, 0.3), scale(&x32, 0.3));
    let ga = scale_vjp(&x, 0.3, &a, g.clone(), [true, false]).0.unwrap();
    let gb = scale_vjp(&x32, 0.3, &b, to32(&g), [true, false]).0.unwrap();
    assert_close("scale_vjp", &gb.into_dyn(), &ga.into_dyn());
}

#[test]
fn binary_modules_with_broadcasting() {
    let (a, b) = (random((3, 4), 3), random(4, 4).mapv(|v| v + 4.0 * v.signum()));
    let (a32, b32): (Array2<f32>, Array1<f32>) = (to32(&a), b.mapv(|v| v as f32));
    type F64Op = fn(&Array2<f64>, &Array1<f64>) -> Array2<f64>;
    type F32Op = fn(&Array2<f32>, &Array1<f32>) -> Array2<f32>;
    type F64Vjp = fn(
        &Array2<f64>,
        &Array1<f64>,
        &Array2<f64>,
        Array2<f64>,
        [bool; 2],
    ) -> (Option<Array2<f64>>, Option<Array1<f64>>);
    type F32Vjp = fn(
        &Array2<f32>,
        &Array1<f32>,
        &Array2<f32>,
        Array2<f32>,
        [bool; 2],
    ) -> (Option<Array2<f32>>, Option<Array1<f32>>);
    let cases: [(&str, F64Op, F32Op, F64Vjp, F32Vjp); 5] = [
        ("add", add, add, add_vjp, add_vjp),
        ("sub", sub, sub, sub_vjp, sub_vjp),
        ("mul", mul, mul, mul_vjp, mul_vjp),
        ("div", div, div, div_vjp, div_vjp),
        ("max", max, max, max_vjp, max_vjp),
    ];
    for (name, f64op, f32op, f64vjp, f32vjp) in cases {
        let (y, y32) = (f64op(&a, &b), f32op(&a32, &b32));
        assert_close(name, &y32.clone().into_dyn(), &y.clone().into_dyn());
        let g = random((3, 4), 5);
        let (ga, gb) = f64vjp(&a, &b, &y, g.clone(), [true, true]);
        let (ga32, gb32) = f32vjp(&a32, &b32, &y32, to32(&g), [true, true]);
        assert_close(name, &ga32.unwrap().into_dyn(), &ga.unwrap().into_dyn());
        assert_close(name, &gb32.unwrap().into_dyn(), &gb.unwrap().into_dyn());
    }
}

#[test]
fn linear_matmul_duplicate_dropout() {
    let (x, w, b) = (random((5, 3), 6), random((4, 3), 7), random(4, 8));
    let (x32, w32, b32) = (to32(&x), to32(&w), b.mapv(|v| v as f32));
    let (y, y32) = (linear(&x, &w, &b), linear(&x32, &w32, &b32));
    assert_close("linear", &y32.clone().into_dyn(), &y.clone().into_dyn());
    let g = random((5, 4), 9);
    let (gx, gw, gb) = linear_vjp(&x, &w, &b, &y, g.clone(), [true; 3]);
    let (gx32, gw32, gb32) = linear_vjp(&x32, &w32, &b32, &y32, to32(&g), [true; 3]);
    assert_close("linear_vjp x", &gx32.unwrap().into_dyn(), &gx.unwrap().into_dyn());
    assert_close("linear_vjp w", &gw32.unwrap().into_dyn(), &gw.unwrap().into_dyn());
    assert_close("linear_vjp b", &gb32.unwrap().into_dyn(), &gb.unwrap().into_dyn());

    let wt = random((3, 4), 10);
    let (m, m32) = (matmul(&x, &wt), matmul(&x32, &to32(&wt)));
    let (ga, gb) = matmul_vjp(&x, &wt, &m, g.clone(), [true; 2]);
    let (ga32, gb32) = matmul_vjp(&x32, &to32(&wt), &m32, to32(&g), [true; 2]);
    assert_close("matmul", &m32.into_dyn(), &m.into_dyn());
    assert_close("matmul_vjp a", &ga32.unwrap().into_dyn(), &ga.unwrap().into_dyn());
    assert_close("matmul_vjp b", &gb32.unwrap().into_dyn(), &gb.unwrap().into_dyn());

    let (d, d32) = (duplicate(&x), duplicate(&x32));
    let g2 = (random((5, 3), 11), random((5, 3), 12));
    let gd = duplicate_vjp(&x, &d, g2.clone(), [true]).0.unwrap();
    let gd32 = duplicate_vjp(&x32, &d32, (to32(&g2.0), to32(&g2.1)), [true]).0.unwrap();
    assert_close("duplicate_vjp", &gd32.into_dyn(), &gd.into_dyn());

    let mask = random((5, 3), 13).mapv(|v| if v > 0.0 { 1.0 } else { 0.0 });
    let (o, o32) = (dropout(&x, &mask, 0.5), dropout(&x32, &to32(&mask), 0.5));
    assert_close("dropout", &o32.clone().into_dyn(), &o.clone().into_dyn());
    let gd = dropout_vjp(&x, &mask, 0.5, &o, random((5, 3), 14), [true, false, false])
        .0
        .unwrap();
    let gd32 = dropout_vjp(
        &x32,
        &to32(&mask),
        0.5,
        &o32,
        to32(&random((5, 3), 14)),
        [true, false, false],
    )
    .0
    .unwrap();
    assert_close("dropout_vjp", &gd32.into_dyn(), &gd.into_dyn());
}

#[test]
fn losses_and_reductions() {
    let (z, t) = (random((4, 3), 15), random((4, 3), 16));
    let (z32, t32) = (to32(&z), to32(&t));
    let labels = [0, 2, 1, 1];
    let pairs: [(&str, f64, f32); 7] = [
        (
            "cross_entropy",
            cross_entropy(&z, &labels),
            cross_entropy(&z32, &labels),
        ),
        ("nll_loss", nll_loss(&z, &labels), nll_loss(&z32, &labels)),
        ("mse_loss", mse_loss(&z, &t), mse_loss(&z32, &t32)),
        ("sum", sum(&z), sum(&z32)),
        ("mean", mean(&z), mean(&z32)),
        ("l2", l2(&z), l2(&z32)),
        ("l1", l1(&z), l1(&z32)),
    ];
    for (name, a, b) in pairs {
        assert_close(name, &scalar(b), &scalar64(a));
    }
    let grads: [(&str, Array2<f64>, Array2<f32>); 7] = [
        (
            "cross_entropy_vjp",
            cross_entropy_vjp(&z, &labels, &0.0, 0.7, [true, false]).0.unwrap(),
            cross_entropy_vjp(&z32, &labels, &0.0, 0.7, [true, false]).0.unwrap(),
        ),
        (
            "nll_loss_vjp",
            nll_loss_vjp(&z, &labels, &0.0, 0.7, [true, false]).0.unwrap(),
            nll_loss_vjp(&z32, &labels, &0.0, 0.7, [true, false]).0.unwrap(),
        ),
        (
            "mse_loss_vjp",
            mse_loss_vjp(&z, &t, &0.0, 0.7, [true, true]).0.unwrap(),
            mse_loss_vjp(&z32, &t32, &0.0, 0.7, [true, true]).0.unwrap(),
        ),
        (
            "sum_vjp",
            sum_vjp(&z, &0.0, 0.7, [true]).0.unwrap(),
            sum_vjp(&z32, &0.0, 0.7, [true]).0.unwrap(),
        ),
        (
            "mean_vjp",
            mean_vjp(&z, &0.0, 0.7, [true]).0.unwrap(),
            mean_vjp(&z32, &0.0, 0.7, [true]).0.unwrap(),
        ),
        (
            "l2_vjp",
            l2_vjp(&z, &0.0, 0.7, [true]).0.unwrap(),
            l2_vjp(&z32, &0.0, 0.7, [true]).0.unwrap(),
        ),
        (
            "l1_vjp",
            l1_vjp(&z, &0.0, 0.7, [true]).0.unwrap(),
            l1_vjp(&z32, &0.0, 0.7, [true]).0.unwrap(),
        ),
    ];
    for (name, a, b) in grads {
        assert_close(name, &b.into_dyn(), &a.into_dyn());
    }
}
