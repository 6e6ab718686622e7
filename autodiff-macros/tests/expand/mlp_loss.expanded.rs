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
///The code of [`mlp_loss_grad`] as `#[differentiable]` generated it, pretty-printed (without the checks of anomaly mode).
#[allow(dead_code)]
pub const MLP_LOSS_GRAD_SOURCE: &str = "pub fn mlp_loss_grad(x: &Array2<f64>, labels: &[usize], w1: &Array2<f64>, b1: &Array1<f64>, w2: &Array2<f64>, b2: &Array1<f64>) -> (f64, MlpLossGrad) {\n    let _ = mlp_loss;\n    with_thread_workspace(move || {\n        let __v7_h = linear(x, w1, b1);\n        let __v8_a = relu(&__v7_h);\n        let __v9_z = linear(&__v8_a, w2, b2);\n        let __v6 = cross_entropy(&__v9_z, labels);\n        let __g6 = Some(seed(&__v6));\n        let (__c4_0, _) = match __g6 {\n            Some(__g) => cross_entropy_vjp(&__v9_z, labels, &__v6, __g, [true, false]),\n            None => (None, None),\n        };\n        let __g9_z = gradient(__c4_0);\n        progress();\n        let (__c3_0, __c3_1, __c3_2) = match __g9_z {\n            Some(__g) => linear_vjp(&__v8_a, w2, b2, &__v9_z, __g, [true, true, true]),\n            None => (None, None, None),\n        };\n        let __g8_a = gradient(__c3_0);\n        let __g4_w2 = gradient(__c3_1);\n        let __g5_b2 = gradient(__c3_2);\n        ready_whole(\"w2\", &__g4_w2, w2);\n        ready_whole(\"b2\", &__g5_b2, b2);\n        progress();\n        recycle!(__v9_z);\n        let (__c2_0,) = match __g8_a {\n            Some(__g) => relu_vjp(&__v7_h, &__v8_a, __g, [true]),\n            None => (None,),\n        };\n        let __g7_h = gradient(__c2_0);\n        progress();\n        recycle!(__v8_a);\n        let (_, __c1_1, __c1_2) = match __g7_h {\n            Some(__g) => linear_vjp(x, w1, b1, &__v7_h, __g, [false, true, true]),\n            None => (None, None, None),\n        };\n        let __g2_w1 = gradient(__c1_1);\n        let __g3_b1 = gradient(__c1_2);\n        ready_whole(\"w1\", &__g2_w1, w1);\n        ready_whole(\"b1\", &__g3_b1, b1);\n        progress();\n        recycle!(__v7_h);\n        (__v6, MlpLossGrad {\n            w1: finished!(\"w1\", or_zeros(__g2_w1, w1)),\n            b1: finished!(\"b1\", or_zeros(__g3_b1, b1)),\n            w2: finished!(\"w2\", or_zeros(__g4_w2, w2)),\n            b2: finished!(\"b2\", or_zeros(__g5_b2, b2)),\n        })\n    })\n}\n";
///The forward graph of [`mlp_loss`] and its gradient graph (the graph [`mlp_loss_grad`] runs), in Graphviz DOT.
#[allow(dead_code)]
pub const MLP_LOSS_GRAPHS: ::autodiff::__private::Graphs = ::autodiff::__private::Graphs {
    forward: "digraph forward {\n    node [fontname=\"sans-serif\"];\n    n0 [label=\"x\", shape=box];\n    n1 [label=\"w1\", shape=box];\n    n2 [label=\"b1\", shape=box];\n    n3 [label=\"linear\", shape=ellipse];\n    n0 -> n3;\n    n1 -> n3;\n    n2 -> n3;\n    n4 [label=\"relu\", shape=ellipse];\n    n3 -> n4 [label=\"h\"];\n    n5 [label=\"w2\", shape=box];\n    n6 [label=\"b2\", shape=box];\n    n7 [label=\"linear\", shape=ellipse];\n    n4 -> n7 [label=\"a\"];\n    n5 -> n7;\n    n6 -> n7;\n    n8 [label=\"labels\", shape=box];\n    n9 [label=\"cross_entropy\", shape=ellipse];\n    n7 -> n9 [label=\"z\"];\n    n8 -> n9;\n    n10 [label=\"C\", shape=doublecircle];\n    n9 -> n10;\n}\n",
    gradient: "digraph gradient {\n    node [fontname=\"sans-serif\"];\n    n0 [label=\"∂C/∂C = 1\", shape=plaintext];\n    n1 [label=\"∂C\", shape=ellipse];\n    n0 -> n1;\n    n2 [label=\"cross_entropy VJP\", shape=ellipse];\n    n1 -> n2;\n    n3 [label=\"∂z\", shape=ellipse];\n    n2 -> n3;\n    n4 [label=\"linear VJP\", shape=ellipse];\n    n3 -> n4;\n    n5 [label=\"∂a\", shape=ellipse];\n    n4 -> n5;\n    n6 [label=\"∂w2\", shape=box];\n    n4 -> n6;\n    n7 [label=\"∂b2\", shape=box];\n    n4 -> n7;\n    n8 [label=\"relu VJP\", shape=ellipse];\n    n5 -> n8;\n    n9 [label=\"∂h\", shape=ellipse];\n    n8 -> n9;\n    n10 [label=\"linear VJP\", shape=ellipse];\n    n9 -> n10;\n    n11 [label=\"∂w1\", shape=box];\n    n10 -> n11;\n    n12 [label=\"∂b1\", shape=box];\n    n10 -> n12;\n}\n",
};
/**The value of [`mlp_loss`] and its gradient with respect to the differentiated parameters, computed by the backward pass that `#[differentiable]` generated.

# Generated code

```text
pub fn mlp_loss_grad(x: &Array2<f64>, labels: &[usize], w1: &Array2<f64>, b1: &Array1<f64>, w2: &Array2<f64>, b2: &Array1<f64>) -> (f64, MlpLossGrad) {
    let _ = mlp_loss;
    with_thread_workspace(move || {
        let __v7_h = linear(x, w1, b1);
        let __v8_a = relu(&__v7_h);
        let __v9_z = linear(&__v8_a, w2, b2);
        let __v6 = cross_entropy(&__v9_z, labels);
        let __g6 = Some(seed(&__v6));
        let (__c4_0, _) = match __g6 {
            Some(__g) => cross_entropy_vjp(&__v9_z, labels, &__v6, __g, [true, false]),
            None => (None, None),
        };
        let __g9_z = gradient(__c4_0);
        progress();
        let (__c3_0, __c3_1, __c3_2) = match __g9_z {
            Some(__g) => linear_vjp(&__v8_a, w2, b2, &__v9_z, __g, [true, true, true]),
            None => (None, None, None),
        };
        let __g8_a = gradient(__c3_0);
        let __g4_w2 = gradient(__c3_1);
        let __g5_b2 = gradient(__c3_2);
        ready_whole("w2", &__g4_w2, w2);
        ready_whole("b2", &__g5_b2, b2);
        progress();
        recycle!(__v9_z);
        let (__c2_0,) = match __g8_a {
            Some(__g) => relu_vjp(&__v7_h, &__v8_a, __g, [true]),
            None => (None,),
        };
        let __g7_h = gradient(__c2_0);
        progress();
        recycle!(__v8_a);
        let (_, __c1_1, __c1_2) = match __g7_h {
            Some(__g) => linear_vjp(x, w1, b1, &__v7_h, __g, [false, true, true]),
            None => (None, None, None),
        };
        let __g2_w1 = gradient(__c1_1);
        let __g3_b1 = gradient(__c1_2);
        ready_whole("w1", &__g2_w1, w1);
        ready_whole("b1", &__g3_b1, b1);
        progress();
        recycle!(__v7_h);
        (__v6, MlpLossGrad {
            w1: finished!("w1", or_zeros(__g2_w1, w1)),
            b1: finished!("b1", or_zeros(__g3_b1, b1)),
            w2: finished!("w2", or_zeros(__g4_w2, w2)),
            b2: finished!("b2", or_zeros(__g5_b2, b2)),
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
        #[allow(unused_imports)]
        use ::autodiff::__private::{AnomalyCheck as _, AnomalySkip as _};
        let __anomaly = ::autodiff::__private::anomaly_enabled();
        let __v7_h = linear(x, w1, b1);
        if __anomaly {
            (&::autodiff::__private::Probe(&__v7_h)).check_forward("linear");
        }
        let __v8_a = relu(&__v7_h);
        if __anomaly {
            (&::autodiff::__private::Probe(&__v8_a)).check_forward("relu");
        }
        let __v9_z = linear(&__v8_a, w2, b2);
        if __anomaly {
            (&::autodiff::__private::Probe(&__v9_z)).check_forward("linear");
        }
        let __v6 = cross_entropy(&__v9_z, labels);
        if __anomaly {
            (&::autodiff::__private::Probe(&__v6)).check_forward("cross_entropy");
        }
        let __g6 = ::core::option::Option::Some(::autodiff::__private::seed(&__v6));
        let (__c4_0, _) = match __g6 {
            ::core::option::Option::Some(__g) => {
                cross_entropy_vjp(&__v9_z, labels, &__v6, __g, [true, false])
            }
            ::core::option::Option::None => {
                (::core::option::Option::None, ::core::option::Option::None)
            }
        };
        if __anomaly {
            (&::autodiff::__private::Probe(&__c4_0)).check_gradient("cross_entropy", 0);
        }
        let __g9_z = ::autodiff::__private::gradient(__c4_0);
        ::autodiff::__private::progress();
        let (__c3_0, __c3_1, __c3_2) = match __g9_z {
            ::core::option::Option::Some(__g) => {
                linear_vjp(&__v8_a, w2, b2, &__v9_z, __g, [true, true, true])
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
            (&::autodiff::__private::Probe(&__c3_0)).check_gradient("linear", 0);
        }
        if __anomaly {
            (&::autodiff::__private::Probe(&__c3_1)).check_gradient("linear", 1);
        }
        if __anomaly {
            (&::autodiff::__private::Probe(&__c3_2)).check_gradient("linear", 2);
        }
        let __g8_a = ::autodiff::__private::gradient(__c3_0);
        let __g4_w2 = ::autodiff::__private::gradient(__c3_1);
        let __g5_b2 = ::autodiff::__private::gradient(__c3_2);
        ::autodiff::__private::ready_whole("w2", &__g4_w2, w2);
        ::autodiff::__private::ready_whole("b2", &__g5_b2, b2);
        ::autodiff::__private::progress();
        ::autodiff::__private::recycle!(__v9_z);
        let (__c2_0,) = match __g8_a {
            ::core::option::Option::Some(__g) => relu_vjp(&__v7_h, &__v8_a, __g, [true]),
            ::core::option::Option::None => (::core::option::Option::None,),
        };
        if __anomaly {
            (&::autodiff::__private::Probe(&__c2_0)).check_gradient("relu", 0);
        }
        let __g7_h = ::autodiff::__private::gradient(__c2_0);
        ::autodiff::__private::progress();
        ::autodiff::__private::recycle!(__v8_a);
        let (_, __c1_1, __c1_2) = match __g7_h {
            ::core::option::Option::Some(__g) => {
                linear_vjp(x, w1, b1, &__v7_h, __g, [false, true, true])
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
            (&::autodiff::__private::Probe(&__c1_1)).check_gradient("linear", 1);
        }
        if __anomaly {
            (&::autodiff::__private::Probe(&__c1_2)).check_gradient("linear", 2);
        }
        let __g2_w1 = ::autodiff::__private::gradient(__c1_1);
        let __g3_b1 = ::autodiff::__private::gradient(__c1_2);
        ::autodiff::__private::ready_whole("w1", &__g2_w1, w1);
        ::autodiff::__private::ready_whole("b1", &__g3_b1, b1);
        ::autodiff::__private::progress();
        ::autodiff::__private::recycle!(__v7_h);
        (
            __v6,
            MlpLossGrad {
                w1: ::autodiff::__private::finished!(
                    "w1", ::autodiff::__private::or_zeros(__g2_w1, w1)
                ),
                b1: ::autodiff::__private::finished!(
                    "b1", ::autodiff::__private::or_zeros(__g3_b1, b1)
                ),
                w2: ::autodiff::__private::finished!(
                    "w2", ::autodiff::__private::or_zeros(__g4_w2, w2)
                ),
                b2: ::autodiff::__private::finished!(
                    "b2", ::autodiff::__private::or_zeros(__g5_b2, b2)
                ),
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
///[`mlp_loss`] with its arrays taken from, and returned to, `workspace`: the same value, from the steps of [`mlp_loss_grad`]'s forward pass, each array given back to the workspace once the pass is done with it, so that from the second call on an evaluation (a validation loss, a prediction) allocates nothing.
#[inline]
#[allow(
    dead_code,
    unused_variables,
    unused_mut,
    unused_assignments,
    unreachable_code,
    clippy::all
)]
pub fn mlp_loss_with(
    __workspace: &mut ::autodiff::__private::Workspace,
    x: &Array2<f64>,
    labels: &[usize],
    w1: &Array2<f64>,
    b1: &Array1<f64>,
    w2: &Array2<f64>,
    b2: &Array1<f64>,
) -> f64 {
    let _ = mlp_loss;
    __workspace
        .run(move || {
            #[allow(unused_imports)]
            use ::autodiff::__private::{AnomalyCheck as _, AnomalySkip as _};
            let __anomaly = ::autodiff::__private::anomaly_enabled();
            let __v7_h = linear(x, w1, b1);
            if __anomaly {
                (&::autodiff::__private::Probe(&__v7_h)).check_forward("linear");
            }
            let __v8_a = relu(&__v7_h);
            if __anomaly {
                (&::autodiff::__private::Probe(&__v8_a)).check_forward("relu");
            }
            ::autodiff::__private::recycle!(__v7_h);
            let __v9_z = linear(&__v8_a, w2, b2);
            if __anomaly {
                (&::autodiff::__private::Probe(&__v9_z)).check_forward("linear");
            }
            ::autodiff::__private::recycle!(__v8_a);
            let __v6 = cross_entropy(&__v9_z, labels);
            if __anomaly {
                (&::autodiff::__private::Probe(&__v6)).check_forward("cross_entropy");
            }
            ::autodiff::__private::recycle!(__v9_z);
            __v6
        })
}
///The vector-Jacobian product of [`mlp_loss`], which makes it a module that other `#[differentiable]` functions can call. It recomputes the forward pass (trading one forward pass for not storing intermediates).
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
pub fn mlp_loss_vjp(
    x: &Array2<f64>,
    labels: &[usize],
    w1: &Array2<f64>,
    b1: &Array1<f64>,
    w2: &Array2<f64>,
    b2: &Array1<f64>,
    __y: &f64,
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
    #[allow(unused_imports)]
    use ::autodiff::__private::{AnomalyCheck as _, AnomalySkip as _};
    let __anomaly = ::autodiff::__private::anomaly_enabled();
    let __v7_h = linear(x, w1, b1);
    if __anomaly {
        (&::autodiff::__private::Probe(&__v7_h)).check_forward("linear");
    }
    let __v8_a = relu(&__v7_h);
    if __anomaly {
        (&::autodiff::__private::Probe(&__v8_a)).check_forward("relu");
    }
    let __v9_z = linear(&__v8_a, w2, b2);
    if __anomaly {
        (&::autodiff::__private::Probe(&__v9_z)).check_forward("linear");
    }
    let __v6 = cross_entropy(&__v9_z, labels);
    if __anomaly {
        (&::autodiff::__private::Probe(&__v6)).check_forward("cross_entropy");
    }
    let __g6 = ::core::option::Option::Some(__gout);
    let (__c4_0, _) = match __g6 {
        ::core::option::Option::Some(__g) => {
            cross_entropy_vjp(
                &__v9_z,
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
    if __anomaly {
        (&::autodiff::__private::Probe(&__c4_0)).check_gradient("cross_entropy", 0);
    }
    let __g9_z = ::autodiff::__private::gradient(__c4_0);
    let (__c3_0, __c3_1, __c3_2) = match __g9_z {
        ::core::option::Option::Some(__g) => {
            linear_vjp(
                &__v8_a,
                w2,
                b2,
                &__v9_z,
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
    if __anomaly {
        (&::autodiff::__private::Probe(&__c3_0)).check_gradient("linear", 0);
    }
    if __anomaly {
        (&::autodiff::__private::Probe(&__c3_1)).check_gradient("linear", 1);
    }
    if __anomaly {
        (&::autodiff::__private::Probe(&__c3_2)).check_gradient("linear", 2);
    }
    let __g8_a = ::autodiff::__private::gradient(__c3_0);
    let __g4_w2 = ::autodiff::__private::gradient(__c3_1);
    let __g5_b2 = ::autodiff::__private::gradient(__c3_2);
    ::autodiff::__private::recycle!(__v9_z);
    let (__c2_0,) = match __g8_a {
        ::core::option::Option::Some(__g) => {
            relu_vjp(&__v7_h, &__v8_a, __g, [(__need[2] || __need[3])])
        }
        ::core::option::Option::None => (::core::option::Option::None,),
    };
    if __anomaly {
        (&::autodiff::__private::Probe(&__c2_0)).check_gradient("relu", 0);
    }
    let __g7_h = ::autodiff::__private::gradient(__c2_0);
    ::autodiff::__private::recycle!(__v8_a);
    let (_, __c1_1, __c1_2) = match __g7_h {
        ::core::option::Option::Some(__g) => {
            linear_vjp(x, w1, b1, &__v7_h, __g, [false, (__need[2]), (__need[3])])
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
        (&::autodiff::__private::Probe(&__c1_1)).check_gradient("linear", 1);
    }
    if __anomaly {
        (&::autodiff::__private::Probe(&__c1_2)).check_gradient("linear", 2);
    }
    let __g2_w1 = ::autodiff::__private::gradient(__c1_1);
    let __g3_b1 = ::autodiff::__private::gradient(__c1_2);
    ::autodiff::__private::recycle!(__v7_h);
    (
        ::core::option::Option::None,
        ::core::option::Option::None,
        __g2_w1,
        __g3_b1,
        __g4_w2,
        __g5_b2,
    )
}
#[doc(hidden)]
#[allow(dead_code, unused_variables, clippy::all)]
pub fn mlp_loss_tangent<__Tangents: ::autodiff::__private::DeclaredWithHvp>(
    x: &Array2<f64>,
    labels: &[usize],
    w1: &Array2<f64>,
    b1: &Array1<f64>,
    w2: &Array2<f64>,
    b2: &Array1<f64>,
    _: &f64,
    _: __Tangents,
) -> ::core::option::Option<f64> {
    ::core::unreachable!("declared without `hvp`")
}
#[doc(hidden)]
#[allow(dead_code, unused_variables, clippy::all)]
pub fn mlp_loss_vjp_tangent<__Tangents: ::autodiff::__private::DeclaredWithHvp>(
    x: &Array2<f64>,
    labels: &[usize],
    w1: &Array2<f64>,
    b1: &Array1<f64>,
    w2: &Array2<f64>,
    b2: &Array1<f64>,
    _: __Tangents,
    _: &f64,
    _: ::core::option::Option<&f64>,
    _: f64,
    _: ::core::option::Option<f64>,
    _: [bool; 6],
) -> (
    (
        ::core::option::Option<::autodiff::__private::NoGrad>,
        ::core::option::Option<::autodiff::__private::NoGrad>,
        ::core::option::Option<Array2<f64>>,
        ::core::option::Option<Array1<f64>>,
        ::core::option::Option<Array2<f64>>,
        ::core::option::Option<Array1<f64>>,
    ),
    (
        ::core::option::Option<::autodiff::__private::NoGrad>,
        ::core::option::Option<::autodiff::__private::NoGrad>,
        ::core::option::Option<Array2<f64>>,
        ::core::option::Option<Array1<f64>>,
        ::core::option::Option<Array2<f64>>,
        ::core::option::Option<Array1<f64>>,
    ),
) {
    ::core::unreachable!("declared without `hvp`")
}
