fn gated(x: &Array2<f64>, w: &Array2<f64>, limit: f64) -> f64 {
    let h = matmul(x, w);
    let a = if mean(&h) > limit { relu(&h) } else { tanh(&h) };
    sum(&a)
}
///Gradients of [`gated`], one field per differentiated parameter.
#[derive(::core::fmt::Debug, ::core::clone::Clone)]
#[allow(dead_code)]
struct GatedGrad {
    ///∂output/∂`w`, with the shape of `w`.
    pub w: Array2<f64>,
}
///The value of [`gated`] and its gradient with respect to the differentiated parameters, computed by the backward pass that `#[differentiable]` generated.
#[allow(
    dead_code,
    unused_variables,
    unused_mut,
    unused_assignments,
    unreachable_code,
    clippy::all
)]
fn gated_grad(x: &Array2<f64>, w: &Array2<f64>, limit: f64) -> (f64, GatedGrad) {
    let _ = gated;
    ::autodiff::__private::with_thread_workspace(move || {
        let mut __v5 = ::core::option::Option::None;
        let mut __s5 = ::autodiff::__private::Stack::new();
        let mut __b0: ::autodiff::__private::Stack<u32> = ::autodiff::__private::Stack::new();
        let __v4 = matmul(x, w);
        if mean(&(*&__v4)) > limit {
            __b0.push(0u32);
            let __new = relu(&__v4);
            ::autodiff::__private::save(&mut __v5, &mut __s5, __new);
        } else {
            __b0.push(1u32);
            let __new = tanh(&__v4);
            ::autodiff::__private::save(&mut __v5, &mut __s5, __new);
        }
        let __v3 = sum(::autodiff::__private::live(&__v5));
        let mut __g1 = ::core::option::Option::None;
        let mut __g3 = ::core::option::Option::None;
        let mut __g4 = ::core::option::Option::None;
        let mut __g5 = ::core::option::Option::None;
        __g3 = ::core::option::Option::Some(::autodiff::__private::seed(&__v3));
        let (__c4_0,) = match __g3.take() {
            ::core::option::Option::Some(__g) => {
                sum_vjp(::autodiff::__private::live(&__v5), &__v3, __g, [true])
            }
            ::core::option::Option::None => (::core::option::Option::None,),
        };
        __g5 = ::autodiff::__private::accumulate(
            __g5.take(),
            ::autodiff::__private::gradient(__c4_0),
        );
        match __b0.pop() {
            0u32 => {
                let __y2 = ::autodiff::__private::restore(&mut __v5, &mut __s5);
                let (__c2_0,) = match __g5.take() {
                    ::core::option::Option::Some(__g) => {
                        relu_vjp(&__v4, ::autodiff::__private::live(&__y2), __g, [true])
                    }
                    ::core::option::Option::None => (::core::option::Option::None,),
                };
                __g4 = ::autodiff::__private::accumulate(
                    __g4.take(),
                    ::autodiff::__private::gradient(__c2_0),
                );
                ::autodiff::__private::recycle!(__y2);
            }
            _ => {
                let __y3 = ::autodiff::__private::restore(&mut __v5, &mut __s5);
                let (__c3_0,) = match __g5.take() {
                    ::core::option::Option::Some(__g) => {
                        tanh_vjp(&__v4, ::autodiff::__private::live(&__y3), __g, [true])
                    }
                    ::core::option::Option::None => (::core::option::Option::None,),
                };
                __g4 = ::autodiff::__private::accumulate(
                    __g4.take(),
                    ::autodiff::__private::gradient(__c3_0),
                );
                ::autodiff::__private::recycle!(__y3);
            }
        }
        let (_, __c1_1) = match __g4.take() {
            ::core::option::Option::Some(__g) => {
                matmul_vjp(x, w, &__v4, __g, [false, true])
            }
            ::core::option::Option::None => {
                (::core::option::Option::None, ::core::option::Option::None)
            }
        };
        __g1 = ::autodiff::__private::accumulate(
            __g1.take(),
            ::autodiff::__private::gradient(__c1_1),
        );
        ::autodiff::__private::recycle!(__v4);
        ::autodiff::__private::recycle!(__v5);
        (
            __v3,
            GatedGrad {
                w: ::autodiff::__private::or_zeros(__g1, w),
            },
        )
    })
}
///[`gated_grad`] with its arrays taken from, and returned to, `workspace`: from the second call on, the step's own arrays come from the workspace instead of the heap. Give the gradients back with `workspace.recycle(...)` once used.
#[allow(dead_code, clippy::all)]
fn gated_grad_with(
    __workspace: &mut ::autodiff::__private::Workspace,
    x: &Array2<f64>,
    w: &Array2<f64>,
    limit: f64,
) -> (f64, GatedGrad) {
    __workspace.run(move || gated_grad(x, w, limit))
}
///The vector-Jacobian product of [`gated`], which makes it a module that other `#[differentiable]` functions can call. It recomputes the forward pass (trading one forward pass for not storing intermediates).
#[doc(hidden)]
#[allow(
    dead_code,
    unused_variables,
    unused_mut,
    unused_assignments,
    unreachable_code,
    clippy::all
)]
fn gated_vjp(
    x: &Array2<f64>,
    w: &Array2<f64>,
    limit: f64,
    _: &f64,
    __gout: f64,
    __need: [bool; 3],
) -> (
    ::core::option::Option<::autodiff::__private::NoGrad>,
    ::core::option::Option<Array2<f64>>,
    ::core::option::Option<::autodiff::__private::NoGrad>,
) {
    let _ = gated;
    let mut __v5 = ::core::option::Option::None;
    let mut __s5 = ::autodiff::__private::Stack::new();
    let mut __b0: ::autodiff::__private::Stack<u32> = ::autodiff::__private::Stack::new();
    let __v4 = matmul(x, w);
    if mean(&(*&__v4)) > limit {
        __b0.push(0u32);
        let __new = relu(&__v4);
        ::autodiff::__private::save(&mut __v5, &mut __s5, __new);
    } else {
        __b0.push(1u32);
        let __new = tanh(&__v4);
        ::autodiff::__private::save(&mut __v5, &mut __s5, __new);
    }
    let __v3 = sum(::autodiff::__private::live(&__v5));
    let mut __g1 = ::core::option::Option::None;
    let mut __g3 = ::core::option::Option::None;
    let mut __g4 = ::core::option::Option::None;
    let mut __g5 = ::core::option::Option::None;
    __g3 = ::core::option::Option::Some(__gout);
    let (__c4_0,) = match __g3.take() {
        ::core::option::Option::Some(__g) => {
            sum_vjp(::autodiff::__private::live(&__v5), &__v3, __g, [(__need[1])])
        }
        ::core::option::Option::None => (::core::option::Option::None,),
    };
    __g5 = ::autodiff::__private::accumulate(
        __g5.take(),
        ::autodiff::__private::gradient(__c4_0),
    );
    match __b0.pop() {
        0u32 => {
            let __y2 = ::autodiff::__private::restore(&mut __v5, &mut __s5);
            let (__c2_0,) = match __g5.take() {
                ::core::option::Option::Some(__g) => {
                    relu_vjp(
                        &__v4,
                        ::autodiff::__private::live(&__y2),
                        __g,
                        [(__need[1])],
                    )
                }
                ::core::option::Option::None => (::core::option::Option::None,),
            };
            __g4 = ::autodiff::__private::accumulate(
                __g4.take(),
                ::autodiff::__private::gradient(__c2_0),
            );
            ::autodiff::__private::recycle!(__y2);
        }
        _ => {
            let __y3 = ::autodiff::__private::restore(&mut __v5, &mut __s5);
            let (__c3_0,) = match __g5.take() {
                ::core::option::Option::Some(__g) => {
                    tanh_vjp(
                        &__v4,
                        ::autodiff::__private::live(&__y3),
                        __g,
                        [(__need[1])],
                    )
                }
                ::core::option::Option::None => (::core::option::Option::None,),
            };
            __g4 = ::autodiff::__private::accumulate(
                __g4.take(),
                ::autodiff::__private::gradient(__c3_0),
            );
            ::autodiff::__private::recycle!(__y3);
        }
    }
    let (_, __c1_1) = match __g4.take() {
        ::core::option::Option::Some(__g) => {
            matmul_vjp(x, w, &__v4, __g, [false, (__need[1])])
        }
        ::core::option::Option::None => {
            (::core::option::Option::None, ::core::option::Option::None)
        }
    };
    __g1 = ::autodiff::__private::accumulate(
        __g1.take(),
        ::autodiff::__private::gradient(__c1_1),
    );
    ::autodiff::__private::recycle!(__v4);
    ::autodiff::__private::recycle!(__v5);
    (::core::option::Option::None, __g1, ::core::option::Option::None)
}
