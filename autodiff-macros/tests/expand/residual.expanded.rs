fn residual(x: &Array2<f64>, w: &Array2<f64>, b: &Array1<f64>) -> f64 {
    let h = relu(&linear(x, w, b));
    let (left, right) = duplicate(&h);
    let y = left + max(&right, &h) * 0.5;
    sum(&y)
}
///Gradients of [`residual`], one field per differentiated parameter.
#[derive(::core::fmt::Debug, ::core::clone::Clone)]
#[allow(dead_code)]
struct ResidualGrad {
    ///∂output/∂`x`, with the shape of `x`.
    pub x: Array2<f64>,
    ///∂output/∂`w`, with the shape of `w`.
    pub w: Array2<f64>,
    ///∂output/∂`b`, with the shape of `b`.
    pub b: Array1<f64>,
}
///The value of [`residual`] and its gradient with respect to the differentiated parameters, computed by the backward pass that `#[differentiable]` generated.
#[allow(
    dead_code,
    unused_variables,
    unused_mut,
    unused_assignments,
    unreachable_code,
    clippy::all
)]
fn residual_grad(
    x: &Array2<f64>,
    w: &Array2<f64>,
    b: &Array1<f64>,
) -> (f64, ResidualGrad) {
    let _ = residual;
    ::autodiff::__private::with_thread_workspace(move || {
        let __v9 = linear(x, w, b);
        let __v4 = relu(&__v9);
        let __v5 = duplicate(&__v4);
        let __v11 = max(&(&__v5).1, &__v4);
        let __v10 = ::autodiff::__private::mul(&__v11, &(0.5));
        let __v8 = ::autodiff::__private::add(&(&__v5).0, &__v10);
        let __v3 = sum(&__v8);
        let __g3 = ::core::option::Option::Some(::autodiff::__private::seed(&__v3));
        let (__c7_0,) = match __g3 {
            ::core::option::Option::Some(__g) => sum_vjp(&__v8, &__v3, __g, [true]),
            ::core::option::Option::None => (::core::option::Option::None,),
        };
        let __g8 = ::autodiff::__private::gradient(__c7_0);
        let (__c6_0, __c6_1) = match __g8 {
            ::core::option::Option::Some(__g) => {
                ::autodiff::__private::add_vjp(
                    &(&__v5).0,
                    &__v10,
                    &__v8,
                    __g,
                    [true, true],
                )
            }
            ::core::option::Option::None => {
                (::core::option::Option::None, ::core::option::Option::None)
            }
        };
        let __g5_0 = ::autodiff::__private::gradient(__c6_0);
        let __g10 = ::autodiff::__private::gradient(__c6_1);
        ::autodiff::__private::recycle!(__v8);
        let (__c5_0, _) = match __g10 {
            ::core::option::Option::Some(__g) => {
                ::autodiff::__private::mul_vjp(
                    &__v11,
                    &(0.5),
                    &__v10,
                    __g,
                    [true, false],
                )
            }
            ::core::option::Option::None => {
                (::core::option::Option::None, ::core::option::Option::None)
            }
        };
        let __g11 = ::autodiff::__private::gradient(__c5_0);
        ::autodiff::__private::recycle!(__v10);
        let (__c4_0, __c4_1) = match __g11 {
            ::core::option::Option::Some(__g) => {
                max_vjp(&(&__v5).1, &__v4, &__v11, __g, [true, true])
            }
            ::core::option::Option::None => {
                (::core::option::Option::None, ::core::option::Option::None)
            }
        };
        let __g5_1 = ::autodiff::__private::gradient(__c4_0);
        let __g4 = ::autodiff::__private::gradient(__c4_1);
        ::autodiff::__private::recycle!(__v11);
        let __g5 = if __g5_0.is_some() || __g5_1.is_some() {
            ::core::option::Option::Some((
                ::autodiff::__private::or_zeros(__g5_0, &(&__v5).0),
                ::autodiff::__private::or_zeros(__g5_1, &(&__v5).1),
            ))
        } else {
            ::core::option::Option::None
        };
        let (__c3_0,) = match __g5 {
            ::core::option::Option::Some(__g) => duplicate_vjp(&__v4, &__v5, __g, [true]),
            ::core::option::Option::None => (::core::option::Option::None,),
        };
        let __g4 = ::autodiff::__private::accumulate(
            __g4,
            ::autodiff::__private::gradient(__c3_0),
        );
        ::autodiff::__private::recycle!(__v5);
        let (__c2_0,) = match __g4 {
            ::core::option::Option::Some(__g) => relu_vjp(&__v9, &__v4, __g, [true]),
            ::core::option::Option::None => (::core::option::Option::None,),
        };
        let __g9 = ::autodiff::__private::gradient(__c2_0);
        ::autodiff::__private::recycle!(__v4);
        let (__c1_0, __c1_1, __c1_2) = match __g9 {
            ::core::option::Option::Some(__g) => {
                linear_vjp(x, w, b, &__v9, __g, [true, true, true])
            }
            ::core::option::Option::None => {
                (
                    ::core::option::Option::None,
                    ::core::option::Option::None,
                    ::core::option::Option::None,
                )
            }
        };
        let __g0 = ::autodiff::__private::gradient(__c1_0);
        let __g1 = ::autodiff::__private::gradient(__c1_1);
        let __g2 = ::autodiff::__private::gradient(__c1_2);
        ::autodiff::__private::recycle!(__v9);
        (
            __v3,
            ResidualGrad {
                x: ::autodiff::__private::or_zeros(__g0, x),
                w: ::autodiff::__private::or_zeros(__g1, w),
                b: ::autodiff::__private::or_zeros(__g2, b),
            },
        )
    })
}
///[`residual_grad`] with its arrays taken from, and returned to, `workspace`: from the second call on, the step's own arrays come from the workspace instead of the heap. Give the gradients back with `workspace.recycle(...)` once used.
#[allow(dead_code, clippy::all)]
fn residual_grad_with(
    __workspace: &mut ::autodiff::__private::Workspace,
    x: &Array2<f64>,
    w: &Array2<f64>,
    b: &Array1<f64>,
) -> (f64, ResidualGrad) {
    __workspace.run(move || residual_grad(x, w, b))
}
///The vector-Jacobian product of [`residual`], which makes it a module that other `#[differentiable]` functions can call. It recomputes the forward pass (trading one forward pass for not storing intermediates).
#[doc(hidden)]
#[allow(
    dead_code,
    unused_variables,
    unused_mut,
    unused_assignments,
    unreachable_code,
    clippy::all
)]
fn residual_vjp(
    x: &Array2<f64>,
    w: &Array2<f64>,
    b: &Array1<f64>,
    _: &f64,
    __gout: f64,
    __need: [bool; 3],
) -> (
    ::core::option::Option<Array2<f64>>,
    ::core::option::Option<Array2<f64>>,
    ::core::option::Option<Array1<f64>>,
) {
    let _ = residual;
    let __v9 = linear(x, w, b);
    let __v4 = relu(&__v9);
    let __v5 = duplicate(&__v4);
    let __v11 = max(&(&__v5).1, &__v4);
    let __v10 = ::autodiff::__private::mul(&__v11, &(0.5));
    let __v8 = ::autodiff::__private::add(&(&__v5).0, &__v10);
    let __v3 = sum(&__v8);
    let __g3 = ::core::option::Option::Some(__gout);
    let (__c7_0,) = match __g3 {
        ::core::option::Option::Some(__g) => {
            sum_vjp(&__v8, &__v3, __g, [(__need[0] || __need[1] || __need[2])])
        }
        ::core::option::Option::None => (::core::option::Option::None,),
    };
    let __g8 = ::autodiff::__private::gradient(__c7_0);
    let (__c6_0, __c6_1) = match __g8 {
        ::core::option::Option::Some(__g) => {
            ::autodiff::__private::add_vjp(
                &(&__v5).0,
                &__v10,
                &__v8,
                __g,
                [
                    (__need[0] || __need[1] || __need[2]),
                    (__need[0] || __need[1] || __need[2]),
                ],
            )
        }
        ::core::option::Option::None => {
            (::core::option::Option::None, ::core::option::Option::None)
        }
    };
    let __g5_0 = ::autodiff::__private::gradient(__c6_0);
    let __g10 = ::autodiff::__private::gradient(__c6_1);
    ::autodiff::__private::recycle!(__v8);
    let (__c5_0, _) = match __g10 {
        ::core::option::Option::Some(__g) => {
            ::autodiff::__private::mul_vjp(
                &__v11,
                &(0.5),
                &__v10,
                __g,
                [(__need[0] || __need[1] || __need[2]), false],
            )
        }
        ::core::option::Option::None => {
            (::core::option::Option::None, ::core::option::Option::None)
        }
    };
    let __g11 = ::autodiff::__private::gradient(__c5_0);
    ::autodiff::__private::recycle!(__v10);
    let (__c4_0, __c4_1) = match __g11 {
        ::core::option::Option::Some(__g) => {
            max_vjp(
                &(&__v5).1,
                &__v4,
                &__v11,
                __g,
                [
                    (__need[0] || __need[1] || __need[2]),
                    (__need[0] || __need[1] || __need[2]),
                ],
            )
        }
        ::core::option::Option::None => {
            (::core::option::Option::None, ::core::option::Option::None)
        }
    };
    let __g5_1 = ::autodiff::__private::gradient(__c4_0);
    let __g4 = ::autodiff::__private::gradient(__c4_1);
    ::autodiff::__private::recycle!(__v11);
    let __g5 = if __g5_0.is_some() || __g5_1.is_some() {
        ::core::option::Option::Some((
            ::autodiff::__private::or_zeros(__g5_0, &(&__v5).0),
            ::autodiff::__private::or_zeros(__g5_1, &(&__v5).1),
        ))
    } else {
        ::core::option::Option::None
    };
    let (__c3_0,) = match __g5 {
        ::core::option::Option::Some(__g) => {
            duplicate_vjp(&__v4, &__v5, __g, [(__need[0] || __need[1] || __need[2])])
        }
        ::core::option::Option::None => (::core::option::Option::None,),
    };
    let __g4 = ::autodiff::__private::accumulate(
        __g4,
        ::autodiff::__private::gradient(__c3_0),
    );
    ::autodiff::__private::recycle!(__v5);
    let (__c2_0,) = match __g4 {
        ::core::option::Option::Some(__g) => {
            relu_vjp(&__v9, &__v4, __g, [(__need[0] || __need[1] || __need[2])])
        }
        ::core::option::Option::None => (::core::option::Option::None,),
    };
    let __g9 = ::autodiff::__private::gradient(__c2_0);
    ::autodiff::__private::recycle!(__v4);
    let (__c1_0, __c1_1, __c1_2) = match __g9 {
        ::core::option::Option::Some(__g) => {
            linear_vjp(x, w, b, &__v9, __g, [(__need[0]), (__need[1]), (__need[2])])
        }
        ::core::option::Option::None => {
            (
                ::core::option::Option::None,
                ::core::option::Option::None,
                ::core::option::Option::None,
            )
        }
    };
    let __g0 = ::autodiff::__private::gradient(__c1_0);
    let __g1 = ::autodiff::__private::gradient(__c1_1);
    let __g2 = ::autodiff::__private::gradient(__c1_2);
    ::autodiff::__private::recycle!(__v9);
    (__g0, __g1, __g2)
}
