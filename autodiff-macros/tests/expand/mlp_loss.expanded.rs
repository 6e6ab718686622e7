pub fn mlp_loss(
    x: &Array2<f64>,
    labels: &[usize],
    w1: &Array2<f64>,
    b1: &Array1<f64>,
    w2: &Array2<f64>,
    b2: &Array1<f64>,
) -> f64 {
    let h = linear(x, w1, b1);
    let a = relu(&h);
    let z = linear(&a, w2, b2);
    cross_entropy(&z, labels)
}
///Gradients of [`mlp_loss`], one field per differentiated parameter.
#[derive(::core::fmt::Debug, ::core::clone::Clone)]
#[allow(dead_code)]
pub struct MlpLossGrad {
    ///∂output/∂`w1`, with the shape of `w1`.
    pub w1: Array2<f64>,
    ///∂output/∂`b1`, with the shape of `b1`.
    pub b1: Array1<f64>,
    ///∂output/∂`w2`, with the shape of `w2`.
    pub w2: Array2<f64>,
    ///∂output/∂`b2`, with the shape of `b2`.
    pub b2: Array1<f64>,
}
///The value of [`mlp_loss`] and its gradient with respect to the differentiated parameters, computed by the backward pass that `#[differentiable]` generated.
#[allow(
    dead_code,
    unused_variables,
    unused_mut,
    unused_assignments,
    unreachable_code,
    clippy::all
)]
pub fn mlp_loss_grad(
    x: &Array2<f64>,
    labels: &[usize],
    w1: &Array2<f64>,
    b1: &Array1<f64>,
    w2: &Array2<f64>,
    b2: &Array1<f64>,
) -> (f64, MlpLossGrad) {
    let _ = mlp_loss;
    ::autodiff::__private::with_thread_workspace(move || {
        let __v7 = linear(x, w1, b1);
        let __v8 = relu(&__v7);
        let __v9 = linear(&__v8, w2, b2);
        let __v6 = cross_entropy(&__v9, labels);
        let __g6 = ::core::option::Option::Some(::autodiff::__private::seed(&__v6));
        let (__c4_0, _) = match __g6 {
            ::core::option::Option::Some(__g) => {
                cross_entropy_vjp(&__v9, labels, &__v6, __g, [true, false])
            }
            ::core::option::Option::None => {
                (::core::option::Option::None, ::core::option::Option::None)
            }
        };
        let __g9 = ::autodiff::__private::gradient(__c4_0);
        let (__c3_0, __c3_1, __c3_2) = match __g9 {
            ::core::option::Option::Some(__g) => {
                linear_vjp(&__v8, w2, b2, &__v9, __g, [true, true, true])
            }
            ::core::option::Option::None => {
                (
                    ::core::option::Option::None,
                    ::core::option::Option::None,
                    ::core::option::Option::None,
                )
            }
        };
        let __g8 = ::autodiff::__private::gradient(__c3_0);
        let __g4 = ::autodiff::__private::gradient(__c3_1);
        let __g5 = ::autodiff::__private::gradient(__c3_2);
        ::autodiff::__private::recycle!(__v9);
        let (__c2_0,) = match __g8 {
            ::core::option::Option::Some(__g) => relu_vjp(&__v7, &__v8, __g, [true]),
            ::core::option::Option::None => (::core::option::Option::None,),
        };
        let __g7 = ::autodiff::__private::gradient(__c2_0);
        ::autodiff::__private::recycle!(__v8);
        let (_, __c1_1, __c1_2) = match __g7 {
            ::core::option::Option::Some(__g) => {
                linear_vjp(x, w1, b1, &__v7, __g, [false, true, true])
            }
            ::core::option::Option::None => {
                (
                    ::core::option::Option::None,
                    ::core::option::Option::None,
                    ::core::option::Option::None,
                )
            }
        };
        let __g2 = ::autodiff::__private::gradient(__c1_1);
        let __g3 = ::autodiff::__private::gradient(__c1_2);
        ::autodiff::__private::recycle!(__v7);
        (
            __v6,
            MlpLossGrad {
                w1: ::autodiff::__private::or_zeros(__g2, w1),
                b1: ::autodiff::__private::or_zeros(__g3, b1),
                w2: ::autodiff::__private::or_zeros(__g4, w2),
                b2: ::autodiff::__private::or_zeros(__g5, b2),
            },
        )
    })
}
///[`mlp_loss_grad`] with its arrays taken from, and returned to, `workspace`: from the second call on, the step's own arrays come from the workspace instead of the heap. Give the gradients back with `workspace.recycle(...)` once used.
#[allow(dead_code, clippy::all)]
pub fn mlp_loss_grad_with(
    __workspace: &mut ::autodiff::__private::Workspace,
    x: &Array2<f64>,
    labels: &[usize],
    w1: &Array2<f64>,
    b1: &Array1<f64>,
    w2: &Array2<f64>,
    b2: &Array1<f64>,
) -> (f64, MlpLossGrad) {
    __workspace.run(move || mlp_loss_grad(x, labels, w1, b1, w2, b2))
}
///The vector-Jacobian product of [`mlp_loss`], which makes it a module that other `#[differentiable]` functions can call. It recomputes the forward pass (trading one forward pass for not storing intermediates).
#[doc(hidden)]
#[allow(
    dead_code,
    unused_variables,
    unused_mut,
    unused_assignments,
    unreachable_code,
    clippy::all
)]
pub fn mlp_loss_vjp(
    x: &Array2<f64>,
    labels: &[usize],
    w1: &Array2<f64>,
    b1: &Array1<f64>,
    w2: &Array2<f64>,
    b2: &Array1<f64>,
    _: &f64,
    __gout: f64,
    __need: [bool; 6],
) -> (
    ::core::option::Option<::autodiff::__private::NoGrad>,
    ::core::option::Option<::autodiff::__private::NoGrad>,
    ::core::option::Option<Array2<f64>>,
    ::core::option::Option<Array1<f64>>,
    ::core::option::Option<Array2<f64>>,
    ::core::option::Option<Array1<f64>>,
) {
    let _ = mlp_loss;
    let __v7 = linear(x, w1, b1);
    let __v8 = relu(&__v7);
    let __v9 = linear(&__v8, w2, b2);
    let __v6 = cross_entropy(&__v9, labels);
    let __g6 = ::core::option::Option::Some(__gout);
    let (__c4_0, _) = match __g6 {
        ::core::option::Option::Some(__g) => {
            cross_entropy_vjp(
                &__v9,
                labels,
                &__v6,
                __g,
                [(__need[2] || __need[3] || __need[4] || __need[5]), false],
            )
        }
        ::core::option::Option::None => {
            (::core::option::Option::None, ::core::option::Option::None)
        }
    };
    let __g9 = ::autodiff::__private::gradient(__c4_0);
    let (__c3_0, __c3_1, __c3_2) = match __g9 {
        ::core::option::Option::Some(__g) => {
            linear_vjp(
                &__v8,
                w2,
                b2,
                &__v9,
                __g,
                [(__need[2] || __need[3]), (__need[4]), (__need[5])],
            )
        }
        ::core::option::Option::None => {
            (
                ::core::option::Option::None,
                ::core::option::Option::None,
                ::core::option::Option::None,
            )
        }
    };
    let __g8 = ::autodiff::__private::gradient(__c3_0);
    let __g4 = ::autodiff::__private::gradient(__c3_1);
    let __g5 = ::autodiff::__private::gradient(__c3_2);
    ::autodiff::__private::recycle!(__v9);
    let (__c2_0,) = match __g8 {
        ::core::option::Option::Some(__g) => {
            relu_vjp(&__v7, &__v8, __g, [(__need[2] || __need[3])])
        }
        ::core::option::Option::None => (::core::option::Option::None,),
    };
    let __g7 = ::autodiff::__private::gradient(__c2_0);
    ::autodiff::__private::recycle!(__v8);
    let (_, __c1_1, __c1_2) = match __g7 {
        ::core::option::Option::Some(__g) => {
            linear_vjp(x, w1, b1, &__v7, __g, [false, (__need[2]), (__need[3])])
        }
        ::core::option::Option::None => {
            (
                ::core::option::Option::None,
                ::core::option::Option::None,
                ::core::option::Option::None,
            )
        }
    };
    let __g2 = ::autodiff::__private::gradient(__c1_1);
    let __g3 = ::autodiff::__private::gradient(__c1_2);
    ::autodiff::__private::recycle!(__v7);
    (::core::option::Option::None, ::core::option::Option::None, __g2, __g3, __g4, __g5)
}
