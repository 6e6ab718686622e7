//! Inputs in any ndarray storage: views (a minibatch slice, a transposed
//! weight), `CowArray`s and `&ArrayRef`s go into modules and into
//! `#[differentiable]` functions without a copy, as constants and as
//! differentiated parameters, whose gradient is the owned array of the
//! same shape. And a module declared by a user with `autodiff::module!`.

mod common;

use autodiff::prelude::*;
use common::{assert_gradients, d2, random};

#[differentiable(wrt(w, b))]
fn view_loss(x: ArrayView2<f64>, labels: &[usize], w: ArrayView2<f64>, b: &ArrayRef1<f64>) -> f64 {
    let h = tanh(&linear(&x, &w, b));
    cross_entropy(&(h * 3.0), labels)
}

#[differentiable(wrt(w))]
fn cow_loss(x: &ArrayRef2<f64>, w: CowArray<'_, f64, Ix2>) -> f64 {
    let h = matmul(x, &w);
    mean(&relu(&h)) + sum(&(&x.t() * 0.0)) * 0.0
}

// Element-wise modules take an `&ArrayRef` as it is (their input type need
// not be sized), constant or differentiated.
#[differentiable(wrt(w))]
fn elementwise_refs(x: &ArrayRef2<f64>, w: &ArrayRef2<f64>) -> f64 {
    sum(&(tanh(x) * sigmoid(w))) + l2(w) - mean(&relu(&(w - x)))
}

#[test]
fn elementwise_modules_take_array_refs() {
    let (x, w) = (random((3, 4), 6), random((3, 4), 7));
    let (value, g) = elementwise_refs_grad(&x, &w);
    assert_eq!(value, elementwise_refs(&x.view(), &w));
    assert_gradients(
        |v| elementwise_refs(&x, &d2(&v[0])),
        &[w.clone().into_dyn()],
        &[g.w.into_dyn()],
    );
}

#[test]
fn views_are_differentiated_like_owned_arrays() {
    let data = random((10, 4), 1);
    let weights = random((6, 3), 2);
    let b = random(3, 3);
    let labels = [0, 2, 1, 1];
    // Rows 3..7 of the data and a transposed slice of the weights, both views.
    let x = data.slice(s![3..7, ..]);
    let w = weights.slice(s![..4, ..]).reversed_axes();
    let (loss, g) = view_loss_grad(x, &labels, w, &b);
    let (x_owned, w_owned) = (x.to_owned(), w.to_owned());
    assert_eq!(loss, view_loss(x_owned.view(), &labels, w_owned.view(), &b));
    // The gradient of a view is an owned array of its shape.
    let gw: Array2<f64> = g.w;
    assert_eq!(gw.shape(), &[3, 4]);
    assert_eq!(g.b.shape(), &[3]);
    assert_gradients(
        |v| {
            view_loss(
                x,
                &labels,
                d2(&v[0]).view(),
                &v[1].clone().into_dimensionality().unwrap(),
            )
        },
        &[w_owned.into_dyn(), b.clone().into_dyn()],
        &[gw.into_dyn(), g.b.into_dyn()],
    );
}

#[test]
fn cow_arrays_and_array_refs_go_in() {
    let x = random((5, 4), 4);
    let w = random((4, 3), 5);
    let (value, g) = cow_loss_grad(&x, CowArray::from(w.view()));
    assert_eq!(value, cow_loss(&x, CowArray::from(w.clone())));
    assert_gradients(
        |v| cow_loss(&x, CowArray::from(d2(&v[0]))),
        &[w.into_dyn()],
        &[g.w.into_dyn()],
    );
}

autodiff::module! {
    /// `x²` element-wise: a user's module, declared as the built-in ones are.
    pub fn square<F: Float, D: Dimension>(x: &ArrayRef<F, D>) -> Array<F, D> {
        x.mapv(|v| v * v)
    }

    backward(y, g, need) {
        grad x = &g * &x.mapv(|v| v + v);
    }

    gradcheck {
        x: random([3, 4]);
        x: random([2, 2, 2]);
    }
}

#[differentiable]
fn uses_square(w: &Array2<f64>) -> f64 {
    sum(&square(w))
}

#[test]
fn a_user_module_is_differentiated_through() {
    let w = random((2, 3), 6);
    let (value, g) = uses_square_grad(&w);
    assert!((value - w.iter().map(|v| v * v).sum::<f64>()).abs() < 1e-12);
    assert!(g.w.iter().zip(&w).all(|(g, w)| (g - 2.0 * w).abs() < 1e-12));
}
