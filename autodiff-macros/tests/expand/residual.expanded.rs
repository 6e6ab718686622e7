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
///The code of [`residual_grad`] as `#[differentiable]` generated it, pretty-printed (without the checks of anomaly mode).
#[allow(dead_code)]
const RESIDUAL_GRAD_SOURCE: &str = "fn residual_grad(x: &Array2<f64>, w: &Array2<f64>, b: &Array1<f64>) -> (f64, ResidualGrad) {\n    let _ = residual;\n    with_thread_workspace(move || {\n        let __v9 = linear(x, w, b);\n        let __v4_h = relu(&__v9);\n        let __v5 = duplicate(&__v4_h);\n        let __v11 = max(&(&__v5).1, &__v4_h);\n        let __v10 = mul(&__v11, &(0.5));\n        let __v8_y = add(&(&__v5).0, &__v10);\n        let __v3 = sum(&__v8_y);\n        let __g3 = Some(seed(&__v3));\n        let (__c7_0,) = match __g3 {\n            Some(__g) => sum_vjp(&__v8_y, &__v3, __g, [true]),\n            None => (None,),\n        };\n        let __g8_y = gradient(__c7_0);\n        progress();\n        let (__c6_0, __c6_1) = match __g8_y {\n            Some(__g) => add_vjp(&(&__v5).0, &__v10, &__v8_y, __g, [true, true]),\n            None => (None, None),\n        };\n        let __g5_0 = gradient(__c6_0);\n        let __g10 = gradient(__c6_1);\n        progress();\n        recycle!(__v8_y);\n        let (__c5_0, _) = match __g10 {\n            Some(__g) => mul_vjp(&__v11, &(0.5), &__v10, __g, [true, false]),\n            None => (None, None),\n        };\n        let __g11 = gradient(__c5_0);\n        progress();\n        recycle!(__v10);\n        let (__c4_0, __c4_1) = match __g11 {\n            Some(__g) => max_vjp(&(&__v5).1, &__v4_h, &__v11, __g, [true, true]),\n            None => (None, None),\n        };\n        let __g5_1 = gradient(__c4_0);\n        let __g4_h = gradient(__c4_1);\n        progress();\n        recycle!(__v11);\n        let __g5 = if __g5_0.is_some() || __g5_1.is_some() {\n            Some((__g5_0, __g5_1))\n        } else {\n            None\n        };\n        let (__c3_0,) = match __g5 {\n            Some(__g) => duplicate_vjp(&__v4_h, &__v5, __g, [true]),\n            None => (None,),\n        };\n        let __g4_h = accumulate(__g4_h, gradient(__c3_0));\n        progress();\n        recycle!(__v5);\n        let (__c2_0,) = match __g4_h {\n            Some(__g) => relu_vjp(&__v9, &__v4_h, __g, [true]),\n            None => (None,),\n        };\n        let __g9 = gradient(__c2_0);\n        progress();\n        recycle!(__v4_h);\n        let (__c1_0, __c1_1, __c1_2) = match __g9 {\n            Some(__g) => linear_vjp(x, w, b, &__v9, __g, [true, true, true]),\n            None => (None, None, None),\n        };\n        let __g0_x = gradient(__c1_0);\n        let __g1_w = gradient(__c1_1);\n        let __g2_b = gradient(__c1_2);\n        ready_whole(\"x\", &__g0_x, x);\n        ready_whole(\"w\", &__g1_w, w);\n        ready_whole(\"b\", &__g2_b, b);\n        progress();\n        recycle!(__v9);\n        (__v3, ResidualGrad {\n            x: finished!(\"x\", or_zeros(__g0_x, x)),\n            w: finished!(\"w\", or_zeros(__g1_w, w)),\n            b: finished!(\"b\", or_zeros(__g2_b, b)),\n        })\n    })\n}\n";
///The forward graph of [`residual`] and its gradient graph (the graph [`residual_grad`] runs), in Graphviz DOT.
#[allow(dead_code)]
const RESIDUAL_GRAPHS: ::autodiff::__private::Graphs = ::autodiff::__private::Graphs {
    forward: "digraph forward {\n    node [fontname=\"sans-serif\"];\n    n0 [label=\"x\", shape=box];\n    n1 [label=\"w\", shape=box];\n    n2 [label=\"b\", shape=box];\n    n3 [label=\"linear\", shape=ellipse];\n    n0 -> n3;\n    n1 -> n3;\n    n2 -> n3;\n    n4 [label=\"relu\", shape=ellipse];\n    n3 -> n4;\n    n5 [label=\"duplicate\", shape=ellipse];\n    n4 -> n5 [label=\"h\"];\n    n6 [label=\"max\", shape=ellipse];\n    n5 -> n6 [label=\"right\"];\n    n4 -> n6 [label=\"h\"];\n    n7 [label=\"0.5\", shape=box];\n    n8 [label=\"mul\", shape=ellipse];\n    n6 -> n8;\n    n7 -> n8;\n    n9 [label=\"add\", shape=ellipse];\n    n5 -> n9 [label=\"left\"];\n    n8 -> n9;\n    n10 [label=\"sum\", shape=ellipse];\n    n9 -> n10 [label=\"y\"];\n    n11 [label=\"C\", shape=doublecircle];\n    n10 -> n11;\n}\n",
    gradient: "digraph gradient {\n    node [fontname=\"sans-serif\"];\n    n0 [label=\"∂C/∂C = 1\", shape=plaintext];\n    n1 [label=\"∂C\", shape=ellipse];\n    n0 -> n1;\n    n2 [label=\"sum VJP\", shape=ellipse];\n    n1 -> n2;\n    n3 [label=\"∂y\", shape=ellipse];\n    n2 -> n3;\n    n4 [label=\"add VJP\", shape=ellipse];\n    n3 -> n4;\n    n5 [label=\"∂left\", shape=ellipse];\n    n4 -> n5;\n    n6 [label=\"∂mul(…)\", shape=ellipse];\n    n4 -> n6;\n    n7 [label=\"mul VJP\", shape=ellipse];\n    n6 -> n7;\n    n8 [label=\"∂max(…)\", shape=ellipse];\n    n7 -> n8;\n    n9 [label=\"max VJP\", shape=ellipse];\n    n8 -> n9;\n    n10 [label=\"∂right\", shape=ellipse];\n    n9 -> n10;\n    n11 [label=\"∂h\", shape=ellipse];\n    n9 -> n11;\n    n12 [label=\"∂duplicate(…)\", shape=ellipse];\n    n5 -> n12;\n    n10 -> n12;\n    n13 [label=\"duplicate VJP\", shape=ellipse];\n    n12 -> n13;\n    n13 -> n11;\n    n14 [label=\"relu VJP\", shape=ellipse];\n    n11 -> n14;\n    n15 [label=\"∂linear(…)\", shape=ellipse];\n    n14 -> n15;\n    n16 [label=\"linear VJP\", shape=ellipse];\n    n15 -> n16;\n    n17 [label=\"∂x\", shape=box];\n    n16 -> n17;\n    n18 [label=\"∂w\", shape=box];\n    n16 -> n18;\n    n19 [label=\"∂b\", shape=box];\n    n16 -> n19;\n}\n",
};
/**The value of [`residual`] and its gradient with respect to the differentiated parameters, computed by the backward pass that `#[differentiable]` generated.

# Generated code

```text
fn residual_grad(x: &Array2<f64>, w: &Array2<f64>, b: &Array1<f64>) -> (f64, ResidualGrad) {
    let _ = residual;
    with_thread_workspace(move || {
        let __v9 = linear(x, w, b);
        let __v4_h = relu(&__v9);
        let __v5 = duplicate(&__v4_h);
        let __v11 = max(&(&__v5).1, &__v4_h);
        let __v10 = mul(&__v11, &(0.5));
        let __v8_y = add(&(&__v5).0, &__v10);
        let __v3 = sum(&__v8_y);
        let __g3 = Some(seed(&__v3));
        let (__c7_0,) = match __g3 {
            Some(__g) => sum_vjp(&__v8_y, &__v3, __g, [true]),
            None => (None,),
        };
        let __g8_y = gradient(__c7_0);
        progress();
        let (__c6_0, __c6_1) = match __g8_y {
            Some(__g) => add_vjp(&(&__v5).0, &__v10, &__v8_y, __g, [true, true]),
            None => (None, None),
        };
        let __g5_0 = gradient(__c6_0);
        let __g10 = gradient(__c6_1);
        progress();
        recycle!(__v8_y);
        let (__c5_0, _) = match __g10 {
            Some(__g) => mul_vjp(&__v11, &(0.5), &__v10, __g, [true, false]),
            None => (None, None),
        };
        let __g11 = gradient(__c5_0);
        progress();
        recycle!(__v10);
        let (__c4_0, __c4_1) = match __g11 {
            Some(__g) => max_vjp(&(&__v5).1, &__v4_h, &__v11, __g, [true, true]),
            None => (None, None),
        };
        let __g5_1 = gradient(__c4_0);
        let __g4_h = gradient(__c4_1);
        progress();
        recycle!(__v11);
        let __g5 = if __g5_0.is_some() || __g5_1.is_some() {
            Some((__g5_0, __g5_1))
        } else {
            None
        };
        let (__c3_0,) = match __g5 {
            Some(__g) => duplicate_vjp(&__v4_h, &__v5, __g, [true]),
            None => (None,),
        };
        let __g4_h = accumulate(__g4_h, gradient(__c3_0));
        progress();
        recycle!(__v5);
        let (__c2_0,) = match __g4_h {
            Some(__g) => relu_vjp(&__v9, &__v4_h, __g, [true]),
            None => (None,),
        };
        let __g9 = gradient(__c2_0);
        progress();
        recycle!(__v4_h);
        let (__c1_0, __c1_1, __c1_2) = match __g9 {
            Some(__g) => linear_vjp(x, w, b, &__v9, __g, [true, true, true]),
            None => (None, None, None),
        };
        let __g0_x = gradient(__c1_0);
        let __g1_w = gradient(__c1_1);
        let __g2_b = gradient(__c1_2);
        ready_whole("x", &__g0_x, x);
        ready_whole("w", &__g1_w, w);
        ready_whole("b", &__g2_b, b);
        progress();
        recycle!(__v9);
        (__v3, ResidualGrad {
            x: finished!("x", or_zeros(__g0_x, x)),
            w: finished!("w", or_zeros(__g1_w, w)),
            b: finished!("b", or_zeros(__g2_b, b)),
        })
    })
}
```*/
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
        #[allow(unused_imports)]
        use ::autodiff::__private::{AnomalyCheck as _, AnomalySkip as _};
        let __anomaly = ::autodiff::__private::anomaly_enabled();
        let __v9 = linear(x, w, b);
        if __anomaly {
            (&::autodiff::__private::Probe(&__v9)).check_forward("linear");
        }
        let __v4_h = relu(&__v9);
        if __anomaly {
            (&::autodiff::__private::Probe(&__v4_h)).check_forward("relu");
        }
        let __v5 = duplicate(&__v4_h);
        if __anomaly {
            (&::autodiff::__private::Probe(&__v5)).check_forward("duplicate");
        }
        let __v11 = max(&(&__v5).1, &__v4_h);
        if __anomaly {
            (&::autodiff::__private::Probe(&__v11)).check_forward("max");
        }
        let __v10 = ::autodiff::__private::mul(&__v11, &(0.5));
        if __anomaly {
            (&::autodiff::__private::Probe(&__v10)).check_forward("mul");
        }
        let __v8_y = ::autodiff::__private::add(&(&__v5).0, &__v10);
        if __anomaly {
            (&::autodiff::__private::Probe(&__v8_y)).check_forward("add");
        }
        let __v3 = sum(&__v8_y);
        if __anomaly {
            (&::autodiff::__private::Probe(&__v3)).check_forward("sum");
        }
        let __g3 = ::core::option::Option::Some(::autodiff::__private::seed(&__v3));
        let (__c7_0,) = match __g3 {
            ::core::option::Option::Some(__g) => sum_vjp(&__v8_y, &__v3, __g, [true]),
            ::core::option::Option::None => (::core::option::Option::None,),
        };
        if __anomaly {
            (&::autodiff::__private::Probe(&__c7_0)).check_gradient("sum", 0);
        }
        let __g8_y = ::autodiff::__private::gradient(__c7_0);
        ::autodiff::__private::progress();
        let (__c6_0, __c6_1) = match __g8_y {
            ::core::option::Option::Some(__g) => {
                ::autodiff::__private::add_vjp(
                    &(&__v5).0,
                    &__v10,
                    &__v8_y,
                    __g,
                    [true, true],
                )
            }
            ::core::option::Option::None => {
                (::core::option::Option::None, ::core::option::Option::None)
            }
        };
        if __anomaly {
            (&::autodiff::__private::Probe(&__c6_0)).check_gradient("add", 0);
        }
        if __anomaly {
            (&::autodiff::__private::Probe(&__c6_1)).check_gradient("add", 1);
        }
        let __g5_0 = ::autodiff::__private::gradient(__c6_0);
        let __g10 = ::autodiff::__private::gradient(__c6_1);
        ::autodiff::__private::progress();
        ::autodiff::__private::recycle!(__v8_y);
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
        if __anomaly {
            (&::autodiff::__private::Probe(&__c5_0)).check_gradient("mul", 0);
        }
        let __g11 = ::autodiff::__private::gradient(__c5_0);
        ::autodiff::__private::progress();
        ::autodiff::__private::recycle!(__v10);
        let (__c4_0, __c4_1) = match __g11 {
            ::core::option::Option::Some(__g) => {
                max_vjp(&(&__v5).1, &__v4_h, &__v11, __g, [true, true])
            }
            ::core::option::Option::None => {
                (::core::option::Option::None, ::core::option::Option::None)
            }
        };
        if __anomaly {
            (&::autodiff::__private::Probe(&__c4_0)).check_gradient("max", 0);
        }
        if __anomaly {
            (&::autodiff::__private::Probe(&__c4_1)).check_gradient("max", 1);
        }
        let __g5_1 = ::autodiff::__private::gradient(__c4_0);
        let __g4_h = ::autodiff::__private::gradient(__c4_1);
        ::autodiff::__private::progress();
        ::autodiff::__private::recycle!(__v11);
        let __g5 = if __g5_0.is_some() || __g5_1.is_some() {
            ::core::option::Option::Some((__g5_0, __g5_1))
        } else {
            ::core::option::Option::None
        };
        let (__c3_0,) = match __g5 {
            ::core::option::Option::Some(__g) => {
                duplicate_vjp(&__v4_h, &__v5, __g, [true])
            }
            ::core::option::Option::None => (::core::option::Option::None,),
        };
        if __anomaly {
            (&::autodiff::__private::Probe(&__c3_0)).check_gradient("duplicate", 0);
        }
        let __g4_h = ::autodiff::__private::accumulate(
            __g4_h,
            ::autodiff::__private::gradient(__c3_0),
        );
        ::autodiff::__private::progress();
        ::autodiff::__private::recycle!(__v5);
        let (__c2_0,) = match __g4_h {
            ::core::option::Option::Some(__g) => relu_vjp(&__v9, &__v4_h, __g, [true]),
            ::core::option::Option::None => (::core::option::Option::None,),
        };
        if __anomaly {
            (&::autodiff::__private::Probe(&__c2_0)).check_gradient("relu", 0);
        }
        let __g9 = ::autodiff::__private::gradient(__c2_0);
        ::autodiff::__private::progress();
        ::autodiff::__private::recycle!(__v4_h);
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
        if __anomaly {
            (&::autodiff::__private::Probe(&__c1_0)).check_gradient("linear", 0);
        }
        if __anomaly {
            (&::autodiff::__private::Probe(&__c1_1)).check_gradient("linear", 1);
        }
        if __anomaly {
            (&::autodiff::__private::Probe(&__c1_2)).check_gradient("linear", 2);
        }
        let __g0_x = ::autodiff::__private::gradient(__c1_0);
        let __g1_w = ::autodiff::__private::gradient(__c1_1);
        let __g2_b = ::autodiff::__private::gradient(__c1_2);
        ::autodiff::__private::ready_whole("x", &__g0_x, x);
        ::autodiff::__private::ready_whole("w", &__g1_w, w);
        ::autodiff::__private::ready_whole("b", &__g2_b, b);
        ::autodiff::__private::progress();
        ::autodiff::__private::recycle!(__v9);
        (
            __v3,
            ResidualGrad {
                x: ::autodiff::__private::finished!(
                    "x", ::autodiff::__private::or_zeros(__g0_x, x)
                ),
                w: ::autodiff::__private::finished!(
                    "w", ::autodiff::__private::or_zeros(__g1_w, w)
                ),
                b: ::autodiff::__private::finished!(
                    "b", ::autodiff::__private::or_zeros(__g2_b, b)
                ),
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
///[`residual`] with its arrays taken from, and returned to, `workspace`: the same value, from the steps of [`residual_grad`]'s forward pass, each array given back to the workspace once the pass is done with it, so that from the second call on an evaluation (a validation loss, a prediction) allocates nothing.
#[inline]
#[allow(
    dead_code,
    unused_variables,
    unused_mut,
    unused_assignments,
    unreachable_code,
    clippy::all
)]
fn residual_with(
    __workspace: &mut ::autodiff::__private::Workspace,
    x: &Array2<f64>,
    w: &Array2<f64>,
    b: &Array1<f64>,
) -> f64 {
    let _ = residual;
    __workspace
        .run(move || {
            #[allow(unused_imports)]
            use ::autodiff::__private::{AnomalyCheck as _, AnomalySkip as _};
            let __anomaly = ::autodiff::__private::anomaly_enabled();
            let __v9 = linear(x, w, b);
            if __anomaly {
                (&::autodiff::__private::Probe(&__v9)).check_forward("linear");
            }
            let __v4_h = relu(&__v9);
            if __anomaly {
                (&::autodiff::__private::Probe(&__v4_h)).check_forward("relu");
            }
            ::autodiff::__private::recycle!(__v9);
            let __v5 = duplicate(&__v4_h);
            if __anomaly {
                (&::autodiff::__private::Probe(&__v5)).check_forward("duplicate");
            }
            let __v11 = max(&(&__v5).1, &__v4_h);
            if __anomaly {
                (&::autodiff::__private::Probe(&__v11)).check_forward("max");
            }
            ::autodiff::__private::recycle!(__v4_h);
            let __v10 = ::autodiff::__private::mul(&__v11, &(0.5));
            if __anomaly {
                (&::autodiff::__private::Probe(&__v10)).check_forward("mul");
            }
            ::autodiff::__private::recycle!(__v11);
            let __v8_y = ::autodiff::__private::add(&(&__v5).0, &__v10);
            if __anomaly {
                (&::autodiff::__private::Probe(&__v8_y)).check_forward("add");
            }
            ::autodiff::__private::recycle!(__v5);
            ::autodiff::__private::recycle!(__v10);
            let __v3 = sum(&__v8_y);
            if __anomaly {
                (&::autodiff::__private::Probe(&__v3)).check_forward("sum");
            }
            ::autodiff::__private::recycle!(__v8_y);
            __v3
        })
}
///The vector-Jacobian product of [`residual`], which makes it a module that other `#[differentiable]` functions can call. It recomputes the forward pass (trading one forward pass for not storing intermediates).
#[doc(hidden)]
#[inline]
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
    __y: &f64,
    __gout: f64,
    __need: [bool; 3],
) -> (
    ::core::option::Option<Array2<f64>>,
    ::core::option::Option<Array2<f64>>,
    ::core::option::Option<Array1<f64>>,
) {
    let _ = residual;
    #[allow(unused_imports)]
    use ::autodiff::__private::{AnomalyCheck as _, AnomalySkip as _};
    let __anomaly = ::autodiff::__private::anomaly_enabled();
    let __v9 = linear(x, w, b);
    if __anomaly {
        (&::autodiff::__private::Probe(&__v9)).check_forward("linear");
    }
    let __v4_h = relu(&__v9);
    if __anomaly {
        (&::autodiff::__private::Probe(&__v4_h)).check_forward("relu");
    }
    let __v5 = duplicate(&__v4_h);
    if __anomaly {
        (&::autodiff::__private::Probe(&__v5)).check_forward("duplicate");
    }
    let __v11 = max(&(&__v5).1, &__v4_h);
    if __anomaly {
        (&::autodiff::__private::Probe(&__v11)).check_forward("max");
    }
    let __v10 = ::autodiff::__private::mul(&__v11, &(0.5));
    if __anomaly {
        (&::autodiff::__private::Probe(&__v10)).check_forward("mul");
    }
    let __v8_y = ::autodiff::__private::add(&(&__v5).0, &__v10);
    if __anomaly {
        (&::autodiff::__private::Probe(&__v8_y)).check_forward("add");
    }
    let __v3 = sum(&__v8_y);
    if __anomaly {
        (&::autodiff::__private::Probe(&__v3)).check_forward("sum");
    }
    let __g3 = ::core::option::Option::Some(__gout);
    let (__c7_0,) = match __g3 {
        ::core::option::Option::Some(__g) => {
            sum_vjp(&__v8_y, &__v3, __g, [(__need[0] || __need[1] || __need[2])])
        }
        ::core::option::Option::None => (::core::option::Option::None,),
    };
    if __anomaly {
        (&::autodiff::__private::Probe(&__c7_0)).check_gradient("sum", 0);
    }
    let __g8_y = ::autodiff::__private::gradient(__c7_0);
    let (__c6_0, __c6_1) = match __g8_y {
        ::core::option::Option::Some(__g) => {
            ::autodiff::__private::add_vjp(
                &(&__v5).0,
                &__v10,
                &__v8_y,
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
    if __anomaly {
        (&::autodiff::__private::Probe(&__c6_0)).check_gradient("add", 0);
    }
    if __anomaly {
        (&::autodiff::__private::Probe(&__c6_1)).check_gradient("add", 1);
    }
    let __g5_0 = ::autodiff::__private::gradient(__c6_0);
    let __g10 = ::autodiff::__private::gradient(__c6_1);
    ::autodiff::__private::recycle!(__v8_y);
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
    if __anomaly {
        (&::autodiff::__private::Probe(&__c5_0)).check_gradient("mul", 0);
    }
    let __g11 = ::autodiff::__private::gradient(__c5_0);
    ::autodiff::__private::recycle!(__v10);
    let (__c4_0, __c4_1) = match __g11 {
        ::core::option::Option::Some(__g) => {
            max_vjp(
                &(&__v5).1,
                &__v4_h,
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
    if __anomaly {
        (&::autodiff::__private::Probe(&__c4_0)).check_gradient("max", 0);
    }
    if __anomaly {
        (&::autodiff::__private::Probe(&__c4_1)).check_gradient("max", 1);
    }
    let __g5_1 = ::autodiff::__private::gradient(__c4_0);
    let __g4_h = ::autodiff::__private::gradient(__c4_1);
    ::autodiff::__private::recycle!(__v11);
    let __g5 = if __g5_0.is_some() || __g5_1.is_some() {
        ::core::option::Option::Some((__g5_0, __g5_1))
    } else {
        ::core::option::Option::None
    };
    let (__c3_0,) = match __g5 {
        ::core::option::Option::Some(__g) => {
            duplicate_vjp(&__v4_h, &__v5, __g, [(__need[0] || __need[1] || __need[2])])
        }
        ::core::option::Option::None => (::core::option::Option::None,),
    };
    if __anomaly {
        (&::autodiff::__private::Probe(&__c3_0)).check_gradient("duplicate", 0);
    }
    let __g4_h = ::autodiff::__private::accumulate(
        __g4_h,
        ::autodiff::__private::gradient(__c3_0),
    );
    ::autodiff::__private::recycle!(__v5);
    let (__c2_0,) = match __g4_h {
        ::core::option::Option::Some(__g) => {
            relu_vjp(&__v9, &__v4_h, __g, [(__need[0] || __need[1] || __need[2])])
        }
        ::core::option::Option::None => (::core::option::Option::None,),
    };
    if __anomaly {
        (&::autodiff::__private::Probe(&__c2_0)).check_gradient("relu", 0);
    }
    let __g9 = ::autodiff::__private::gradient(__c2_0);
    ::autodiff::__private::recycle!(__v4_h);
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
    if __anomaly {
        (&::autodiff::__private::Probe(&__c1_0)).check_gradient("linear", 0);
    }
    if __anomaly {
        (&::autodiff::__private::Probe(&__c1_1)).check_gradient("linear", 1);
    }
    if __anomaly {
        (&::autodiff::__private::Probe(&__c1_2)).check_gradient("linear", 2);
    }
    let __g0_x = ::autodiff::__private::gradient(__c1_0);
    let __g1_w = ::autodiff::__private::gradient(__c1_1);
    let __g2_b = ::autodiff::__private::gradient(__c1_2);
    ::autodiff::__private::recycle!(__v9);
    (__g0_x, __g1_w, __g2_b)
}
#[doc(hidden)]
#[allow(dead_code, unused_variables, clippy::all)]
fn residual_tangent<__Tangents: ::autodiff::__private::DeclaredWithHvp>(
    x: &Array2<f64>,
    w: &Array2<f64>,
    b: &Array1<f64>,
    _: &f64,
    _: __Tangents,
) -> ::core::option::Option<f64> {
    ::core::unreachable!("declared without `hvp`")
}
#[doc(hidden)]
#[allow(dead_code, unused_variables, clippy::all)]
fn residual_vjp_tangent<__Tangents: ::autodiff::__private::DeclaredWithHvp>(
    x: &Array2<f64>,
    w: &Array2<f64>,
    b: &Array1<f64>,
    _: __Tangents,
    _: &f64,
    _: ::core::option::Option<&f64>,
    _: f64,
    _: ::core::option::Option<f64>,
    _: [bool; 3],
) -> (
    (
        ::core::option::Option<Array2<f64>>,
        ::core::option::Option<Array2<f64>>,
        ::core::option::Option<Array1<f64>>,
    ),
    (
        ::core::option::Option<Array2<f64>>,
        ::core::option::Option<Array2<f64>>,
        ::core::option::Option<Array1<f64>>,
    ),
) {
    ::core::unreachable!("declared without `hvp`")
}
