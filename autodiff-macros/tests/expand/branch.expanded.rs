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
///The code of [`gated_grad`] as `#[differentiable]` generated it, pretty-printed (without the checks of anomaly mode).
#[allow(dead_code)]
const GATED_GRAD_SOURCE: &str = "fn gated_grad(x: &Array2<f64>, w: &Array2<f64>, limit: f64) -> (f64, GatedGrad) {\n    let _ = gated;\n    with_thread_workspace(move || {\n        let mut __v5_a = None;\n        let mut __s5_a = Stack::new();\n        let mut __b0: Stack<u32> = Stack::new();\n        let __v4_h = matmul(x, w);\n        if mean(&(*&__v4_h)) > limit {\n            __b0.push(0u32);\n            let __new = relu(&__v4_h);\n            save(&mut __v5_a, &mut __s5_a, __new);\n        } else {\n            __b0.push(1u32);\n            let __new = tanh(&__v4_h);\n            save(&mut __v5_a, &mut __s5_a, __new);\n        }\n        let __v3 = sum(live(&__v5_a));\n        let mut __g1_w = None;\n        let mut __g3 = None;\n        let mut __g4_h = None;\n        let mut __g5_a = None;\n        __g3 = Some(seed(&__v3));\n        let (__c4_0,) = match __g3.take() {\n            Some(__g) => sum_vjp(live(&__v5_a), &__v3, __g, [true]),\n            None => (None,),\n        };\n        __g5_a = accumulate(__g5_a.take(), gradient(__c4_0));\n        progress();\n        match __b0.pop() {\n            0u32 => {\n                let __y2 = restore(&mut __v5_a, &mut __s5_a);\n                let (__c2_0,) = match __g5_a.take() {\n                    Some(__g) => relu_vjp(&__v4_h, live(&__y2), __g, [true]),\n                    None => (None,),\n                };\n                __g4_h = accumulate(__g4_h.take(), gradient(__c2_0));\n                recycle!(__y2);\n            }\n            _ => {\n                let __y3 = restore(&mut __v5_a, &mut __s5_a);\n                let (__c3_0,) = match __g5_a.take() {\n                    Some(__g) => tanh_vjp(&__v4_h, live(&__y3), __g, [true]),\n                    None => (None,),\n                };\n                __g4_h = accumulate(__g4_h.take(), gradient(__c3_0));\n                recycle!(__y3);\n            }\n        }\n        progress();\n        let (_, __c1_1) = match __g4_h.take() {\n            Some(__g) => matmul_vjp(x, w, &__v4_h, __g, [false, true]),\n            None => (None, None),\n        };\n        __g1_w = accumulate(__g1_w.take(), gradient(__c1_1));\n        ready_whole(\"w\", &__g1_w, w);\n        progress();\n        recycle!(__v4_h);\n        recycle!(__v5_a);\n        (__v3, GatedGrad {\n            w: finished!(\"w\", or_zeros(__g1_w, w)),\n        })\n    })\n}\n";
///The forward graph of [`gated`] and its gradient graph (the graph [`gated_grad`] runs), in Graphviz DOT.
#[allow(dead_code)]
const GATED_GRAPHS: ::autodiff::__private::Graphs = ::autodiff::__private::Graphs {
    forward: "digraph forward {\n    node [fontname=\"sans-serif\"];\n    n0 [label=\"x\", shape=box];\n    n1 [label=\"w\", shape=box];\n    n2 [label=\"matmul\", shape=ellipse];\n    n0 -> n2;\n    n1 -> n2;\n    n3 [label=\"relu\\n[if arm]\", shape=ellipse];\n    n2 -> n3 [label=\"h\"];\n    n4 [label=\"a\", shape=plaintext];\n    n3 -> n4;\n    n5 [label=\"tanh\\n[else arm]\", shape=ellipse];\n    n2 -> n5 [label=\"h\"];\n    n5 -> n4;\n    n6 [label=\"sum\", shape=ellipse];\n    n4 -> n6;\n    n7 [label=\"C\", shape=doublecircle];\n    n6 -> n7;\n}\n",
    gradient: "digraph gradient {\n    node [fontname=\"sans-serif\"];\n    n0 [label=\"∂C/∂C = 1\", shape=plaintext];\n    n1 [label=\"∂C\", shape=ellipse];\n    n0 -> n1;\n    n2 [label=\"sum VJP\", shape=ellipse];\n    n1 -> n2;\n    n3 [label=\"∂a\", shape=ellipse];\n    n2 -> n3;\n    n4 [label=\"tanh VJP\\n[else arm]\", shape=ellipse];\n    n3 -> n4;\n    n5 [label=\"∂h\", shape=ellipse];\n    n4 -> n5;\n    n6 [label=\"relu VJP\\n[if arm]\", shape=ellipse];\n    n3 -> n6;\n    n6 -> n5;\n    n7 [label=\"matmul VJP\", shape=ellipse];\n    n5 -> n7;\n    n8 [label=\"∂w\", shape=box];\n    n7 -> n8;\n}\n",
};
/**The value of [`gated`] and its gradient with respect to the differentiated parameters, computed by the backward pass that `#[differentiable]` generated.

# Generated code

```text
fn gated_grad(x: &Array2<f64>, w: &Array2<f64>, limit: f64) -> (f64, GatedGrad) {
    let _ = gated;
    with_thread_workspace(move || {
        let mut __v5_a = None;
        let mut __s5_a = Stack::new();
        let mut __b0: Stack<u32> = Stack::new();
        let __v4_h = matmul(x, w);
        if mean(&(*&__v4_h)) > limit {
            __b0.push(0u32);
            let __new = relu(&__v4_h);
            save(&mut __v5_a, &mut __s5_a, __new);
        } else {
            __b0.push(1u32);
            let __new = tanh(&__v4_h);
            save(&mut __v5_a, &mut __s5_a, __new);
        }
        let __v3 = sum(live(&__v5_a));
        let mut __g1_w = None;
        let mut __g3 = None;
        let mut __g4_h = None;
        let mut __g5_a = None;
        __g3 = Some(seed(&__v3));
        let (__c4_0,) = match __g3.take() {
            Some(__g) => sum_vjp(live(&__v5_a), &__v3, __g, [true]),
            None => (None,),
        };
        __g5_a = accumulate(__g5_a.take(), gradient(__c4_0));
        progress();
        match __b0.pop() {
            0u32 => {
                let __y2 = restore(&mut __v5_a, &mut __s5_a);
                let (__c2_0,) = match __g5_a.take() {
                    Some(__g) => relu_vjp(&__v4_h, live(&__y2), __g, [true]),
                    None => (None,),
                };
                __g4_h = accumulate(__g4_h.take(), gradient(__c2_0));
                recycle!(__y2);
            }
            _ => {
                let __y3 = restore(&mut __v5_a, &mut __s5_a);
                let (__c3_0,) = match __g5_a.take() {
                    Some(__g) => tanh_vjp(&__v4_h, live(&__y3), __g, [true]),
                    None => (None,),
                };
                __g4_h = accumulate(__g4_h.take(), gradient(__c3_0));
                recycle!(__y3);
            }
        }
        progress();
        let (_, __c1_1) = match __g4_h.take() {
            Some(__g) => matmul_vjp(x, w, &__v4_h, __g, [false, true]),
            None => (None, None),
        };
        __g1_w = accumulate(__g1_w.take(), gradient(__c1_1));
        ready_whole("w", &__g1_w, w);
        progress();
        recycle!(__v4_h);
        recycle!(__v5_a);
        (__v3, GatedGrad {
            w: finished!("w", or_zeros(__g1_w, w)),
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
fn gated_grad(x: &Array2<f64>, w: &Array2<f64>, limit: f64) -> (f64, GatedGrad) {
    let _ = gated;
    ::autodiff::__private::with_thread_workspace(move || {
        #[allow(unused_imports)]
        use ::autodiff::__private::{AnomalyCheck as _, AnomalySkip as _};
        let __anomaly = ::autodiff::__private::anomaly_enabled();
        let mut __v5_a = ::core::option::Option::None;
        let mut __s5_a = ::autodiff::__private::Stack::new();
        let mut __b0: ::autodiff::__private::Stack<u32> = ::autodiff::__private::Stack::new();
        let __v4_h = matmul(x, w);
        if __anomaly {
            (&::autodiff::__private::Probe(&__v4_h)).check_forward("matmul");
        }
        if mean(&(*&__v4_h)) > limit {
            __b0.push(0u32);
            let __new = relu(&__v4_h);
            ::autodiff::__private::save(&mut __v5_a, &mut __s5_a, __new);
            if __anomaly {
                (&::autodiff::__private::Probe(::autodiff::__private::live(&__v5_a)))
                    .check_forward("relu");
            }
        } else {
            __b0.push(1u32);
            let __new = tanh(&__v4_h);
            ::autodiff::__private::save(&mut __v5_a, &mut __s5_a, __new);
            if __anomaly {
                (&::autodiff::__private::Probe(::autodiff::__private::live(&__v5_a)))
                    .check_forward("tanh");
            }
        }
        let __v3 = sum(::autodiff::__private::live(&__v5_a));
        if __anomaly {
            (&::autodiff::__private::Probe(&__v3)).check_forward("sum");
        }
        let mut __g1_w = ::core::option::Option::None;
        let mut __g3 = ::core::option::Option::None;
        let mut __g4_h = ::core::option::Option::None;
        let mut __g5_a = ::core::option::Option::None;
        __g3 = ::core::option::Option::Some(::autodiff::__private::seed(&__v3));
        let (__c4_0,) = match __g3.take() {
            ::core::option::Option::Some(__g) => {
                sum_vjp(::autodiff::__private::live(&__v5_a), &__v3, __g, [true])
            }
            ::core::option::Option::None => (::core::option::Option::None,),
        };
        if __anomaly {
            (&::autodiff::__private::Probe(&__c4_0)).check_gradient("sum", 0);
        }
        __g5_a = ::autodiff::__private::accumulate(
            __g5_a.take(),
            ::autodiff::__private::gradient(__c4_0),
        );
        ::autodiff::__private::progress();
        match __b0.pop() {
            0u32 => {
                let __y2 = ::autodiff::__private::restore(&mut __v5_a, &mut __s5_a);
                let (__c2_0,) = match __g5_a.take() {
                    ::core::option::Option::Some(__g) => {
                        relu_vjp(
                            &__v4_h,
                            ::autodiff::__private::live(&__y2),
                            __g,
                            [true],
                        )
                    }
                    ::core::option::Option::None => (::core::option::Option::None,),
                };
                if __anomaly {
                    (&::autodiff::__private::Probe(&__c2_0)).check_gradient("relu", 0);
                }
                __g4_h = ::autodiff::__private::accumulate(
                    __g4_h.take(),
                    ::autodiff::__private::gradient(__c2_0),
                );
                ::autodiff::__private::recycle!(__y2);
            }
            _ => {
                let __y3 = ::autodiff::__private::restore(&mut __v5_a, &mut __s5_a);
                let (__c3_0,) = match __g5_a.take() {
                    ::core::option::Option::Some(__g) => {
                        tanh_vjp(
                            &__v4_h,
                            ::autodiff::__private::live(&__y3),
                            __g,
                            [true],
                        )
                    }
                    ::core::option::Option::None => (::core::option::Option::None,),
                };
                if __anomaly {
                    (&::autodiff::__private::Probe(&__c3_0)).check_gradient("tanh", 0);
                }
                __g4_h = ::autodiff::__private::accumulate(
                    __g4_h.take(),
                    ::autodiff::__private::gradient(__c3_0),
                );
                ::autodiff::__private::recycle!(__y3);
            }
        }
        ::autodiff::__private::progress();
        let (_, __c1_1) = match __g4_h.take() {
            ::core::option::Option::Some(__g) => {
                matmul_vjp(x, w, &__v4_h, __g, [false, true])
            }
            ::core::option::Option::None => {
                (::core::option::Option::None, ::core::option::Option::None)
            }
        };
        if __anomaly {
            (&::autodiff::__private::Probe(&__c1_1)).check_gradient("matmul", 1);
        }
        __g1_w = ::autodiff::__private::accumulate(
            __g1_w.take(),
            ::autodiff::__private::gradient(__c1_1),
        );
        ::autodiff::__private::ready_whole("w", &__g1_w, w);
        ::autodiff::__private::progress();
        ::autodiff::__private::recycle!(__v4_h);
        ::autodiff::__private::recycle!(__v5_a);
        (
            __v3,
            GatedGrad {
                w: ::autodiff::__private::finished!(
                    "w", ::autodiff::__private::or_zeros(__g1_w, w)
                ),
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
///[`gated`] with its arrays taken from, and returned to, `workspace`: the same value, from the steps of [`gated_grad`]'s forward pass, each array given back to the workspace once the pass is done with it, so that from the second call on an evaluation (a validation loss, a prediction) allocates nothing.
#[inline]
#[allow(
    dead_code,
    unused_variables,
    unused_mut,
    unused_assignments,
    unreachable_code,
    clippy::all
)]
fn gated_with(
    __workspace: &mut ::autodiff::__private::Workspace,
    x: &Array2<f64>,
    w: &Array2<f64>,
    limit: f64,
) -> f64 {
    let _ = gated;
    __workspace
        .run(move || {
            #[allow(unused_imports)]
            use ::autodiff::__private::{AnomalyCheck as _, AnomalySkip as _};
            let __anomaly = ::autodiff::__private::anomaly_enabled();
            let mut __v5_a = ::core::option::Option::None;
            let __v4_h = matmul(x, w);
            if __anomaly {
                (&::autodiff::__private::Probe(&__v4_h)).check_forward("matmul");
            }
            if mean(&(*&__v4_h)) > limit {
                let __new = relu(&__v4_h);
                ::autodiff::__private::recycle!(
                    ::autodiff::__private::set(& mut __v5_a, __new)
                );
                if __anomaly {
                    (&::autodiff::__private::Probe(::autodiff::__private::live(&__v5_a)))
                        .check_forward("relu");
                }
            } else {
                let __new = tanh(&__v4_h);
                ::autodiff::__private::recycle!(
                    ::autodiff::__private::set(& mut __v5_a, __new)
                );
                if __anomaly {
                    (&::autodiff::__private::Probe(::autodiff::__private::live(&__v5_a)))
                        .check_forward("tanh");
                }
            }
            ::autodiff::__private::recycle!(__v4_h);
            let __v3 = sum(::autodiff::__private::live(&__v5_a));
            if __anomaly {
                (&::autodiff::__private::Probe(&__v3)).check_forward("sum");
            }
            ::autodiff::__private::recycle!(__v5_a);
            __v3
        })
}
///The vector-Jacobian product of [`gated`], which makes it a module that other `#[differentiable]` functions can call. It recomputes the forward pass (trading one forward pass for not storing intermediates).
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
fn gated_vjp(
    x: &Array2<f64>,
    w: &Array2<f64>,
    limit: f64,
    __y: &f64,
    __gout: f64,
    __need: [bool; 3],
) -> (
    ::core::option::Option<::autodiff::__private::NoGrad>,
    ::core::option::Option<Array2<f64>>,
    ::core::option::Option<::autodiff::__private::NoGrad>,
) {
    let _ = gated;
    #[allow(unused_imports)]
    use ::autodiff::__private::{AnomalyCheck as _, AnomalySkip as _};
    let __anomaly = ::autodiff::__private::anomaly_enabled();
    let mut __v5_a = ::core::option::Option::None;
    let mut __s5_a = ::autodiff::__private::Stack::new();
    let mut __b0: ::autodiff::__private::Stack<u32> = ::autodiff::__private::Stack::new();
    let __v4_h = matmul(x, w);
    if __anomaly {
        (&::autodiff::__private::Probe(&__v4_h)).check_forward("matmul");
    }
    if mean(&(*&__v4_h)) > limit {
        __b0.push(0u32);
        let __new = relu(&__v4_h);
        ::autodiff::__private::save(&mut __v5_a, &mut __s5_a, __new);
        if __anomaly {
            (&::autodiff::__private::Probe(::autodiff::__private::live(&__v5_a)))
                .check_forward("relu");
        }
    } else {
        __b0.push(1u32);
        let __new = tanh(&__v4_h);
        ::autodiff::__private::save(&mut __v5_a, &mut __s5_a, __new);
        if __anomaly {
            (&::autodiff::__private::Probe(::autodiff::__private::live(&__v5_a)))
                .check_forward("tanh");
        }
    }
    let __v3 = sum(::autodiff::__private::live(&__v5_a));
    if __anomaly {
        (&::autodiff::__private::Probe(&__v3)).check_forward("sum");
    }
    let mut __g1_w = ::core::option::Option::None;
    let mut __g3 = ::core::option::Option::None;
    let mut __g4_h = ::core::option::Option::None;
    let mut __g5_a = ::core::option::Option::None;
    __g3 = ::core::option::Option::Some(__gout);
    let (__c4_0,) = match __g3.take() {
        ::core::option::Option::Some(__g) => {
            sum_vjp(::autodiff::__private::live(&__v5_a), &__v3, __g, [(__need[1])])
        }
        ::core::option::Option::None => (::core::option::Option::None,),
    };
    if __anomaly {
        (&::autodiff::__private::Probe(&__c4_0)).check_gradient("sum", 0);
    }
    __g5_a = ::autodiff::__private::accumulate(
        __g5_a.take(),
        ::autodiff::__private::gradient(__c4_0),
    );
    match __b0.pop() {
        0u32 => {
            let __y2 = ::autodiff::__private::restore(&mut __v5_a, &mut __s5_a);
            let (__c2_0,) = match __g5_a.take() {
                ::core::option::Option::Some(__g) => {
                    relu_vjp(
                        &__v4_h,
                        ::autodiff::__private::live(&__y2),
                        __g,
                        [(__need[1])],
                    )
                }
                ::core::option::Option::None => (::core::option::Option::None,),
            };
            if __anomaly {
                (&::autodiff::__private::Probe(&__c2_0)).check_gradient("relu", 0);
            }
            __g4_h = ::autodiff::__private::accumulate(
                __g4_h.take(),
                ::autodiff::__private::gradient(__c2_0),
            );
            ::autodiff::__private::recycle!(__y2);
        }
        _ => {
            let __y3 = ::autodiff::__private::restore(&mut __v5_a, &mut __s5_a);
            let (__c3_0,) = match __g5_a.take() {
                ::core::option::Option::Some(__g) => {
                    tanh_vjp(
                        &__v4_h,
                        ::autodiff::__private::live(&__y3),
                        __g,
                        [(__need[1])],
                    )
                }
                ::core::option::Option::None => (::core::option::Option::None,),
            };
            if __anomaly {
                (&::autodiff::__private::Probe(&__c3_0)).check_gradient("tanh", 0);
            }
            __g4_h = ::autodiff::__private::accumulate(
                __g4_h.take(),
                ::autodiff::__private::gradient(__c3_0),
            );
            ::autodiff::__private::recycle!(__y3);
        }
    }
    let (_, __c1_1) = match __g4_h.take() {
        ::core::option::Option::Some(__g) => {
            matmul_vjp(x, w, &__v4_h, __g, [false, (__need[1])])
        }
        ::core::option::Option::None => {
            (::core::option::Option::None, ::core::option::Option::None)
        }
    };
    if __anomaly {
        (&::autodiff::__private::Probe(&__c1_1)).check_gradient("matmul", 1);
    }
    __g1_w = ::autodiff::__private::accumulate(
        __g1_w.take(),
        ::autodiff::__private::gradient(__c1_1),
    );
    ::autodiff::__private::recycle!(__v4_h);
    ::autodiff::__private::recycle!(__v5_a);
    (::core::option::Option::None, __g1_w, ::core::option::Option::None)
}
#[doc(hidden)]
#[allow(dead_code, unused_variables, clippy::all)]
fn gated_tangent<__Tangents: ::autodiff::__private::DeclaredWithHvp>(
    x: &Array2<f64>,
    w: &Array2<f64>,
    limit: f64,
    _: &f64,
    _: __Tangents,
) -> ::core::option::Option<f64> {
    ::core::unreachable!("declared without `hvp`")
}
#[doc(hidden)]
#[allow(dead_code, unused_variables, clippy::all)]
fn gated_vjp_tangent<__Tangents: ::autodiff::__private::DeclaredWithHvp>(
    x: &Array2<f64>,
    w: &Array2<f64>,
    limit: f64,
    _: __Tangents,
    _: &f64,
    _: ::core::option::Option<&f64>,
    _: f64,
    _: ::core::option::Option<f64>,
    _: [bool; 3],
) -> (
    (
        ::core::option::Option<::autodiff::__private::NoGrad>,
        ::core::option::Option<Array2<f64>>,
        ::core::option::Option<::autodiff::__private::NoGrad>,
    ),
    (
        ::core::option::Option<::autodiff::__private::NoGrad>,
        ::core::option::Option<Array2<f64>>,
        ::core::option::Option<::autodiff::__private::NoGrad>,
    ),
) {
    ::core::unreachable!("declared without `hvp`")
}
