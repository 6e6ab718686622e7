fn model_loss(model: &Mlp, x: &Array2<f64>, labels: &[usize]) -> f64 {
    let h = relu(&linear(x, &model.w1, &model.b1));
    cross_entropy(&linear(&h, &model.w2, &model.b2), labels) + 0.001 * l2(&model.w1)
}
///Gradients of [`model_loss`], one field per differentiated parameter.
#[allow(dead_code)]
struct ModelLossGrad {
    ///∂output/∂`model`, with the shape of `model`.
    pub model: Mlp,
}
///The code of [`model_loss_grad`] as `#[differentiable]` generated it, pretty-printed (without the checks of anomaly mode).
#[allow(dead_code)]
const MODEL_LOSS_GRAD_SOURCE: &str = "fn model_loss_grad(model: &Mlp, x: &Array2<f64>, labels: &[usize]) -> (f64, ModelLossGrad) {\n    let _ = model_loss;\n    with_thread_workspace(move || {\n        let __v5 = linear(x, &model.w1, &model.b1);\n        let __v4_h = relu(&__v5);\n        let __v7 = linear(&__v4_h, &model.w2, &model.b2);\n        let __v6 = cross_entropy(&__v7, labels);\n        let __v9 = l2(&model.w1);\n        let __v8 = mul(&(0.001), &__v9);\n        let __v3 = add(&__v6, &__v8);\n        let __g3 = Some(seed(&__v3));\n        let (__c7_0, __c7_1) = match __g3 {\n            Some(__g) => add_vjp(&__v6, &__v8, &__v3, __g, [true, true]),\n            None => (None, None),\n        };\n        let __g6 = gradient(__c7_0);\n        let __g8 = gradient(__c7_1);\n        progress();\n        let (_, __c6_1) = match __g8 {\n            Some(__g) => mul_vjp(&(0.001), &__v9, &__v8, __g, [false, true]),\n            None => (None, None),\n        };\n        let __g9 = gradient(__c6_1);\n        progress();\n        recycle!(__v8);\n        let (__c5_0,) = match __g9 {\n            Some(__g) => l2_vjp(&model.w1, &__v9, __g, [true]),\n            None => (None,),\n        };\n        let __g0_model__w1 = gradient(__c5_0);\n        progress();\n        recycle!(__v9);\n        let (__c4_0, _) = match __g6 {\n            Some(__g) => cross_entropy_vjp(&__v7, labels, &__v6, __g, [true, false]),\n            None => (None, None),\n        };\n        let __g7 = gradient(__c4_0);\n        progress();\n        recycle!(__v6);\n        let (__c3_0, __c3_1, __c3_2) = match __g7 {\n            Some(__g) => linear_vjp(&__v4_h, &model.w2, &model.b2, &__v7, __g, [true, true, true]),\n            None => (None, None, None),\n        };\n        let __g4_h = gradient(__c3_0);\n        let __g0_model__w2 = gradient(__c3_1);\n        let __g0_model__b2 = gradient(__c3_2);\n        ready(\"model.b2\", &__g0_model__b2, &model.b2);\n        ready(\"model.w2\", &__g0_model__w2, &model.w2);\n        progress();\n        recycle!(__v7);\n        let (__c2_0,) = match __g4_h {\n            Some(__g) => relu_vjp(&__v5, &__v4_h, __g, [true]),\n            None => (None,),\n        };\n        let __g5 = gradient(__c2_0);\n        progress();\n        recycle!(__v4_h);\n        let (_, __c1_1, __c1_2) = match __g5 {\n            Some(__g) => linear_vjp(x, &model.w1, &model.b1, &__v5, __g, [false, true, true]),\n            None => (None, None, None),\n        };\n        let __g0_model__w1 = accumulate(__g0_model__w1, gradient(__c1_1));\n        let __g0_model__b1 = gradient(__c1_2);\n        ready(\"model.b1\", &__g0_model__b1, &model.b1);\n        ready(\"model.w1\", &__g0_model__w1, &model.w1);\n        progress();\n        recycle!(__v5);\n        (__v3, ModelLossGrad {\n            model: finished!(\"model\", {\n                let mut __s = probed(empty_like(model), (&model.b1, &model.b2, &model.w1, &model.w2));\n                if let Some(__f) = __g0_model__b1 {\n                    Gradient::accumulate(&mut __s.b1, __f);\n                }\n                if let Some(__f) = __g0_model__b2 {\n                    Gradient::accumulate(&mut __s.b2, __f);\n                }\n                if let Some(__f) = __g0_model__w1 {\n                    Gradient::accumulate(&mut __s.w1, __f);\n                }\n                if let Some(__f) = __g0_model__w2 {\n                    Gradient::accumulate(&mut __s.w2, __f);\n                }\n                fill_like(model, &mut __s);\n                __s\n            }),\n        })\n    })\n}\n";
///The forward graph of [`model_loss`] and its gradient graph (the graph [`model_loss_grad`] runs), in Graphviz DOT.
#[allow(dead_code)]
const MODEL_LOSS_GRAPHS: ::autodiff::__private::Graphs = ::autodiff::__private::Graphs {
    forward: "digraph forward {\n    node [fontname=\"sans-serif\"];\n    n0 [label=\"x\", shape=box];\n    n1 [label=\"model.w1\", shape=box];\n    n2 [label=\"model.b1\", shape=box];\n    n3 [label=\"linear\", shape=ellipse];\n    n0 -> n3;\n    n1 -> n3;\n    n2 -> n3;\n    n4 [label=\"relu\", shape=ellipse];\n    n3 -> n4;\n    n5 [label=\"model.w2\", shape=box];\n    n6 [label=\"model.b2\", shape=box];\n    n7 [label=\"linear\", shape=ellipse];\n    n4 -> n7 [label=\"h\"];\n    n5 -> n7;\n    n6 -> n7;\n    n8 [label=\"labels\", shape=box];\n    n9 [label=\"cross_entropy\", shape=ellipse];\n    n7 -> n9;\n    n8 -> n9;\n    n10 [label=\"l2\", shape=ellipse];\n    n1 -> n10;\n    n11 [label=\"0.001\", shape=box];\n    n12 [label=\"mul\", shape=ellipse];\n    n11 -> n12;\n    n10 -> n12;\n    n13 [label=\"add\", shape=ellipse];\n    n9 -> n13;\n    n12 -> n13;\n    n14 [label=\"C\", shape=doublecircle];\n    n13 -> n14;\n}\n",
    gradient: "digraph gradient {\n    node [fontname=\"sans-serif\"];\n    n0 [label=\"∂C/∂C = 1\", shape=plaintext];\n    n1 [label=\"∂C\", shape=ellipse];\n    n0 -> n1;\n    n2 [label=\"add VJP\", shape=ellipse];\n    n1 -> n2;\n    n3 [label=\"∂cross_entropy(…)\", shape=ellipse];\n    n2 -> n3;\n    n4 [label=\"∂mul(…)\", shape=ellipse];\n    n2 -> n4;\n    n5 [label=\"mul VJP\", shape=ellipse];\n    n4 -> n5;\n    n6 [label=\"∂l2(…)\", shape=ellipse];\n    n5 -> n6;\n    n7 [label=\"l2 VJP\", shape=ellipse];\n    n6 -> n7;\n    n8 [label=\"∂model.w1\", shape=box];\n    n7 -> n8;\n    n9 [label=\"cross_entropy VJP\", shape=ellipse];\n    n3 -> n9;\n    n10 [label=\"∂linear(…)\", shape=ellipse];\n    n9 -> n10;\n    n11 [label=\"linear VJP\", shape=ellipse];\n    n10 -> n11;\n    n12 [label=\"∂h\", shape=ellipse];\n    n11 -> n12;\n    n13 [label=\"∂model.w2\", shape=box];\n    n11 -> n13;\n    n14 [label=\"∂model.b2\", shape=box];\n    n11 -> n14;\n    n15 [label=\"relu VJP\", shape=ellipse];\n    n12 -> n15;\n    n16 [label=\"∂linear(…)\", shape=ellipse];\n    n15 -> n16;\n    n17 [label=\"linear VJP\", shape=ellipse];\n    n16 -> n17;\n    n17 -> n8;\n    n18 [label=\"∂model.b1\", shape=box];\n    n17 -> n18;\n}\n",
};
/**The value of [`model_loss`] and its gradient with respect to the differentiated parameters, computed by the backward pass that `#[differentiable]` generated.

# Generated code

```text
fn model_loss_grad(model: &Mlp, x: &Array2<f64>, labels: &[usize]) -> (f64, ModelLossGrad) {
    let _ = model_loss;
    with_thread_workspace(move || {
        let __v5 = linear(x, &model.w1, &model.b1);
        let __v4_h = relu(&__v5);
        let __v7 = linear(&__v4_h, &model.w2, &model.b2);
        let __v6 = cross_entropy(&__v7, labels);
        let __v9 = l2(&model.w1);
        let __v8 = mul(&(0.001), &__v9);
        let __v3 = add(&__v6, &__v8);
        let __g3 = Some(seed(&__v3));
        let (__c7_0, __c7_1) = match __g3 {
            Some(__g) => add_vjp(&__v6, &__v8, &__v3, __g, [true, true]),
            None => (None, None),
        };
        let __g6 = gradient(__c7_0);
        let __g8 = gradient(__c7_1);
        progress();
        let (_, __c6_1) = match __g8 {
            Some(__g) => mul_vjp(&(0.001), &__v9, &__v8, __g, [false, true]),
            None => (None, None),
        };
        let __g9 = gradient(__c6_1);
        progress();
        recycle!(__v8);
        let (__c5_0,) = match __g9 {
            Some(__g) => l2_vjp(&model.w1, &__v9, __g, [true]),
            None => (None,),
        };
        let __g0_model__w1 = gradient(__c5_0);
        progress();
        recycle!(__v9);
        let (__c4_0, _) = match __g6 {
            Some(__g) => cross_entropy_vjp(&__v7, labels, &__v6, __g, [true, false]),
            None => (None, None),
        };
        let __g7 = gradient(__c4_0);
        progress();
        recycle!(__v6);
        let (__c3_0, __c3_1, __c3_2) = match __g7 {
            Some(__g) => linear_vjp(&__v4_h, &model.w2, &model.b2, &__v7, __g, [true, true, true]),
            None => (None, None, None),
        };
        let __g4_h = gradient(__c3_0);
        let __g0_model__w2 = gradient(__c3_1);
        let __g0_model__b2 = gradient(__c3_2);
        ready("model.b2", &__g0_model__b2, &model.b2);
        ready("model.w2", &__g0_model__w2, &model.w2);
        progress();
        recycle!(__v7);
        let (__c2_0,) = match __g4_h {
            Some(__g) => relu_vjp(&__v5, &__v4_h, __g, [true]),
            None => (None,),
        };
        let __g5 = gradient(__c2_0);
        progress();
        recycle!(__v4_h);
        let (_, __c1_1, __c1_2) = match __g5 {
            Some(__g) => linear_vjp(x, &model.w1, &model.b1, &__v5, __g, [false, true, true]),
            None => (None, None, None),
        };
        let __g0_model__w1 = accumulate(__g0_model__w1, gradient(__c1_1));
        let __g0_model__b1 = gradient(__c1_2);
        ready("model.b1", &__g0_model__b1, &model.b1);
        ready("model.w1", &__g0_model__w1, &model.w1);
        progress();
        recycle!(__v5);
        (__v3, ModelLossGrad {
            model: finished!("model", {
                let mut __s = probed(empty_like(model), (&model.b1, &model.b2, &model.w1, &model.w2));
                if let Some(__f) = __g0_model__b1 {
                    Gradient::accumulate(&mut __s.b1, __f);
                }
                if let Some(__f) = __g0_model__b2 {
                    Gradient::accumulate(&mut __s.b2, __f);
                }
                if let Some(__f) = __g0_model__w1 {
                    Gradient::accumulate(&mut __s.w1, __f);
                }
                if let Some(__f) = __g0_model__w2 {
                    Gradient::accumulate(&mut __s.w2, __f);
                }
                fill_like(model, &mut __s);
                __s
            }),
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
fn model_loss_grad(
    model: &Mlp,
    x: &Array2<f64>,
    labels: &[usize],
) -> (f64, ModelLossGrad) {
    let _ = model_loss;
    ::autodiff::__private::with_thread_workspace(move || {
        #[allow(unused_imports)]
        use ::autodiff::__private::{AnomalyCheck as _, AnomalySkip as _};
        let __anomaly = ::autodiff::__private::anomaly_enabled();
        let __v5 = linear(x, &model.w1, &model.b1);
        if __anomaly {
            (&::autodiff::__private::Probe(&__v5)).check_forward("linear");
        }
        let __v4_h = relu(&__v5);
        if __anomaly {
            (&::autodiff::__private::Probe(&__v4_h)).check_forward("relu");
        }
        let __v7 = linear(&__v4_h, &model.w2, &model.b2);
        if __anomaly {
            (&::autodiff::__private::Probe(&__v7)).check_forward("linear");
        }
        let __v6 = cross_entropy(&__v7, labels);
        if __anomaly {
            (&::autodiff::__private::Probe(&__v6)).check_forward("cross_entropy");
        }
        let __v9 = l2(&model.w1);
        if __anomaly {
            (&::autodiff::__private::Probe(&__v9)).check_forward("l2");
        }
        let __v8 = ::autodiff::__private::mul(&(0.001), &__v9);
        if __anomaly {
            (&::autodiff::__private::Probe(&__v8)).check_forward("mul");
        }
        let __v3 = ::autodiff::__private::add(&__v6, &__v8);
        if __anomaly {
            (&::autodiff::__private::Probe(&__v3)).check_forward("add");
        }
        let __g3 = ::core::option::Option::Some(::autodiff::__private::seed(&__v3));
        let (__c7_0, __c7_1) = match __g3 {
            ::core::option::Option::Some(__g) => {
                ::autodiff::__private::add_vjp(&__v6, &__v8, &__v3, __g, [true, true])
            }
            ::core::option::Option::None => {
                (::core::option::Option::None, ::core::option::Option::None)
            }
        };
        if __anomaly {
            (&::autodiff::__private::Probe(&__c7_0)).check_gradient("add", 0);
        }
        if __anomaly {
            (&::autodiff::__private::Probe(&__c7_1)).check_gradient("add", 1);
        }
        let __g6 = ::autodiff::__private::gradient(__c7_0);
        let __g8 = ::autodiff::__private::gradient(__c7_1);
        ::autodiff::__private::progress();
        let (_, __c6_1) = match __g8 {
            ::core::option::Option::Some(__g) => {
                ::autodiff::__private::mul_vjp(
                    &(0.001),
                    &__v9,
                    &__v8,
                    __g,
                    [false, true],
                )
            }
            ::core::option::Option::None => {
                (::core::option::Option::None, ::core::option::Option::None)
            }
        };
        if __anomaly {
            (&::autodiff::__private::Probe(&__c6_1)).check_gradient("mul", 1);
        }
        let __g9 = ::autodiff::__private::gradient(__c6_1);
        ::autodiff::__private::progress();
        ::autodiff::__private::recycle!(__v8);
        let (__c5_0,) = match __g9 {
            ::core::option::Option::Some(__g) => l2_vjp(&model.w1, &__v9, __g, [true]),
            ::core::option::Option::None => (::core::option::Option::None,),
        };
        if __anomaly {
            (&::autodiff::__private::Probe(&__c5_0)).check_gradient("l2", 0);
        }
        let __g0_model__w1 = ::autodiff::__private::gradient(__c5_0);
        ::autodiff::__private::progress();
        ::autodiff::__private::recycle!(__v9);
        let (__c4_0, _) = match __g6 {
            ::core::option::Option::Some(__g) => {
                cross_entropy_vjp(&__v7, labels, &__v6, __g, [true, false])
            }
            ::core::option::Option::None => {
                (::core::option::Option::None, ::core::option::Option::None)
            }
        };
        if __anomaly {
            (&::autodiff::__private::Probe(&__c4_0)).check_gradient("cross_entropy", 0);
        }
        let __g7 = ::autodiff::__private::gradient(__c4_0);
        ::autodiff::__private::progress();
        ::autodiff::__private::recycle!(__v6);
        let (__c3_0, __c3_1, __c3_2) = match __g7 {
            ::core::option::Option::Some(__g) => {
                linear_vjp(&__v4_h, &model.w2, &model.b2, &__v7, __g, [true, true, true])
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
        let __g4_h = ::autodiff::__private::gradient(__c3_0);
        let __g0_model__w2 = ::autodiff::__private::gradient(__c3_1);
        let __g0_model__b2 = ::autodiff::__private::gradient(__c3_2);
        ::autodiff::__private::ready("model.b2", &__g0_model__b2, &model.b2);
        ::autodiff::__private::ready("model.w2", &__g0_model__w2, &model.w2);
        ::autodiff::__private::progress();
        ::autodiff::__private::recycle!(__v7);
        let (__c2_0,) = match __g4_h {
            ::core::option::Option::Some(__g) => relu_vjp(&__v5, &__v4_h, __g, [true]),
            ::core::option::Option::None => (::core::option::Option::None,),
        };
        if __anomaly {
            (&::autodiff::__private::Probe(&__c2_0)).check_gradient("relu", 0);
        }
        let __g5 = ::autodiff::__private::gradient(__c2_0);
        ::autodiff::__private::progress();
        ::autodiff::__private::recycle!(__v4_h);
        let (_, __c1_1, __c1_2) = match __g5 {
            ::core::option::Option::Some(__g) => {
                linear_vjp(x, &model.w1, &model.b1, &__v5, __g, [false, true, true])
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
        let __g0_model__w1 = ::autodiff::__private::accumulate(
            __g0_model__w1,
            ::autodiff::__private::gradient(__c1_1),
        );
        let __g0_model__b1 = ::autodiff::__private::gradient(__c1_2);
        ::autodiff::__private::ready("model.b1", &__g0_model__b1, &model.b1);
        ::autodiff::__private::ready("model.w1", &__g0_model__w1, &model.w1);
        ::autodiff::__private::progress();
        ::autodiff::__private::recycle!(__v5);
        (
            __v3,
            ModelLossGrad {
                model: ::autodiff::__private::finished!(
                    "model", { let mut __s =
                    ::autodiff::__private::probed(::autodiff::__private::empty_like(model),
                    (& model.b1, & model.b2, & model.w1, & model.w2,)); if let
                    ::core::option::Option::Some(__f) = __g0_model__b1 {
                    ::autodiff::__private::Gradient::accumulate(& mut __s.b1, __f); } if
                    let ::core::option::Option::Some(__f) = __g0_model__b2 {
                    ::autodiff::__private::Gradient::accumulate(& mut __s.b2, __f); } if
                    let ::core::option::Option::Some(__f) = __g0_model__w1 {
                    ::autodiff::__private::Gradient::accumulate(& mut __s.w1, __f); } if
                    let ::core::option::Option::Some(__f) = __g0_model__w2 {
                    ::autodiff::__private::Gradient::accumulate(& mut __s.w2, __f); }
                    ::autodiff::__private::fill_like(model, & mut __s); __s }
                ),
            },
        )
    })
}
///[`model_loss_grad`] with its arrays taken from, and returned to, `workspace`: from the second call on, the step's own arrays come from the workspace instead of the heap. Give the gradients back with `workspace.recycle(...)` once used.
#[allow(dead_code, clippy::all)]
fn model_loss_grad_with(
    __workspace: &mut ::autodiff::__private::Workspace,
    model: &Mlp,
    x: &Array2<f64>,
    labels: &[usize],
) -> (f64, ModelLossGrad) {
    __workspace.run(move || model_loss_grad(model, x, labels))
}
///[`model_loss`] with its arrays taken from, and returned to, `workspace`: the same value, from the steps of [`model_loss_grad`]'s forward pass, each array given back to the workspace once the pass is done with it, so that from the second call on an evaluation (a validation loss, a prediction) allocates nothing.
#[inline]
#[allow(
    dead_code,
    unused_variables,
    unused_mut,
    unused_assignments,
    unreachable_code,
    clippy::all
)]
fn model_loss_with(
    __workspace: &mut ::autodiff::__private::Workspace,
    model: &Mlp,
    x: &Array2<f64>,
    labels: &[usize],
) -> f64 {
    let _ = model_loss;
    __workspace
        .run(move || {
            #[allow(unused_imports)]
            use ::autodiff::__private::{AnomalyCheck as _, AnomalySkip as _};
            let __anomaly = ::autodiff::__private::anomaly_enabled();
            let __v5 = linear(x, &model.w1, &model.b1);
            if __anomaly {
                (&::autodiff::__private::Probe(&__v5)).check_forward("linear");
            }
            let __v4_h = relu(&__v5);
            if __anomaly {
                (&::autodiff::__private::Probe(&__v4_h)).check_forward("relu");
            }
            ::autodiff::__private::recycle!(__v5);
            let __v7 = linear(&__v4_h, &model.w2, &model.b2);
            if __anomaly {
                (&::autodiff::__private::Probe(&__v7)).check_forward("linear");
            }
            ::autodiff::__private::recycle!(__v4_h);
            let __v6 = cross_entropy(&__v7, labels);
            if __anomaly {
                (&::autodiff::__private::Probe(&__v6)).check_forward("cross_entropy");
            }
            ::autodiff::__private::recycle!(__v7);
            let __v9 = l2(&model.w1);
            if __anomaly {
                (&::autodiff::__private::Probe(&__v9)).check_forward("l2");
            }
            let __v8 = ::autodiff::__private::mul(&(0.001), &__v9);
            if __anomaly {
                (&::autodiff::__private::Probe(&__v8)).check_forward("mul");
            }
            ::autodiff::__private::recycle!(__v9);
            let __v3 = ::autodiff::__private::add(&__v6, &__v8);
            if __anomaly {
                (&::autodiff::__private::Probe(&__v3)).check_forward("add");
            }
            ::autodiff::__private::recycle!(__v6);
            ::autodiff::__private::recycle!(__v8);
            __v3
        })
}
///The vector-Jacobian product of [`model_loss`], which makes it a module that other `#[differentiable]` functions can call. It recomputes the forward pass (trading one forward pass for not storing intermediates).
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
fn model_loss_vjp(
    model: &Mlp,
    x: &Array2<f64>,
    labels: &[usize],
    __y: &f64,
    __gout: f64,
    __need: [bool; 3],
) -> (
    ::core::option::Option<Mlp>,
    ::core::option::Option<::autodiff::__private::NoGrad>,
    ::core::option::Option<::autodiff::__private::NoGrad>,
) {
    let _ = model_loss;
    #[allow(unused_imports)]
    use ::autodiff::__private::{AnomalyCheck as _, AnomalySkip as _};
    let __anomaly = ::autodiff::__private::anomaly_enabled();
    let __v5 = linear(x, &model.w1, &model.b1);
    if __anomaly {
        (&::autodiff::__private::Probe(&__v5)).check_forward("linear");
    }
    let __v4_h = relu(&__v5);
    if __anomaly {
        (&::autodiff::__private::Probe(&__v4_h)).check_forward("relu");
    }
    let __v7 = linear(&__v4_h, &model.w2, &model.b2);
    if __anomaly {
        (&::autodiff::__private::Probe(&__v7)).check_forward("linear");
    }
    let __v6 = cross_entropy(&__v7, labels);
    if __anomaly {
        (&::autodiff::__private::Probe(&__v6)).check_forward("cross_entropy");
    }
    let __v9 = l2(&model.w1);
    if __anomaly {
        (&::autodiff::__private::Probe(&__v9)).check_forward("l2");
    }
    let __v8 = ::autodiff::__private::mul(&(0.001), &__v9);
    if __anomaly {
        (&::autodiff::__private::Probe(&__v8)).check_forward("mul");
    }
    let __v3 = ::autodiff::__private::add(&__v6, &__v8);
    if __anomaly {
        (&::autodiff::__private::Probe(&__v3)).check_forward("add");
    }
    let __g3 = ::core::option::Option::Some(__gout);
    let (__c7_0, __c7_1) = match __g3 {
        ::core::option::Option::Some(__g) => {
            ::autodiff::__private::add_vjp(
                &__v6,
                &__v8,
                &__v3,
                __g,
                [(__need[0]), (__need[0])],
            )
        }
        ::core::option::Option::None => {
            (::core::option::Option::None, ::core::option::Option::None)
        }
    };
    if __anomaly {
        (&::autodiff::__private::Probe(&__c7_0)).check_gradient("add", 0);
    }
    if __anomaly {
        (&::autodiff::__private::Probe(&__c7_1)).check_gradient("add", 1);
    }
    let __g6 = ::autodiff::__private::gradient(__c7_0);
    let __g8 = ::autodiff::__private::gradient(__c7_1);
    let (_, __c6_1) = match __g8 {
        ::core::option::Option::Some(__g) => {
            ::autodiff::__private::mul_vjp(
                &(0.001),
                &__v9,
                &__v8,
                __g,
                [false, (__need[0])],
            )
        }
        ::core::option::Option::None => {
            (::core::option::Option::None, ::core::option::Option::None)
        }
    };
    if __anomaly {
        (&::autodiff::__private::Probe(&__c6_1)).check_gradient("mul", 1);
    }
    let __g9 = ::autodiff::__private::gradient(__c6_1);
    ::autodiff::__private::recycle!(__v8);
    let (__c5_0,) = match __g9 {
        ::core::option::Option::Some(__g) => l2_vjp(&model.w1, &__v9, __g, [(__need[0])]),
        ::core::option::Option::None => (::core::option::Option::None,),
    };
    if __anomaly {
        (&::autodiff::__private::Probe(&__c5_0)).check_gradient("l2", 0);
    }
    let __g0_model__w1 = ::autodiff::__private::gradient(__c5_0);
    ::autodiff::__private::recycle!(__v9);
    let (__c4_0, _) = match __g6 {
        ::core::option::Option::Some(__g) => {
            cross_entropy_vjp(&__v7, labels, &__v6, __g, [(__need[0]), false])
        }
        ::core::option::Option::None => {
            (::core::option::Option::None, ::core::option::Option::None)
        }
    };
    if __anomaly {
        (&::autodiff::__private::Probe(&__c4_0)).check_gradient("cross_entropy", 0);
    }
    let __g7 = ::autodiff::__private::gradient(__c4_0);
    ::autodiff::__private::recycle!(__v6);
    let (__c3_0, __c3_1, __c3_2) = match __g7 {
        ::core::option::Option::Some(__g) => {
            linear_vjp(
                &__v4_h,
                &model.w2,
                &model.b2,
                &__v7,
                __g,
                [(__need[0]), (__need[0]), (__need[0])],
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
    let __g4_h = ::autodiff::__private::gradient(__c3_0);
    let __g0_model__w2 = ::autodiff::__private::gradient(__c3_1);
    let __g0_model__b2 = ::autodiff::__private::gradient(__c3_2);
    ::autodiff::__private::recycle!(__v7);
    let (__c2_0,) = match __g4_h {
        ::core::option::Option::Some(__g) => relu_vjp(&__v5, &__v4_h, __g, [(__need[0])]),
        ::core::option::Option::None => (::core::option::Option::None,),
    };
    if __anomaly {
        (&::autodiff::__private::Probe(&__c2_0)).check_gradient("relu", 0);
    }
    let __g5 = ::autodiff::__private::gradient(__c2_0);
    ::autodiff::__private::recycle!(__v4_h);
    let (_, __c1_1, __c1_2) = match __g5 {
        ::core::option::Option::Some(__g) => {
            linear_vjp(
                x,
                &model.w1,
                &model.b1,
                &__v5,
                __g,
                [false, (__need[0]), (__need[0])],
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
        (&::autodiff::__private::Probe(&__c1_1)).check_gradient("linear", 1);
    }
    if __anomaly {
        (&::autodiff::__private::Probe(&__c1_2)).check_gradient("linear", 2);
    }
    let __g0_model__w1 = ::autodiff::__private::accumulate(
        __g0_model__w1,
        ::autodiff::__private::gradient(__c1_1),
    );
    let __g0_model__b1 = ::autodiff::__private::gradient(__c1_2);
    ::autodiff::__private::recycle!(__v5);
    (
        if __need[0] {
            ::core::option::Option::Some({
                let mut __s = ::autodiff::__private::probed(
                    ::autodiff::__private::empty_like(model),
                    (&model.b1, &model.b2, &model.w1, &model.w2),
                );
                if let ::core::option::Option::Some(__f) = __g0_model__b1 {
                    ::autodiff::__private::Gradient::accumulate(&mut __s.b1, __f);
                }
                if let ::core::option::Option::Some(__f) = __g0_model__b2 {
                    ::autodiff::__private::Gradient::accumulate(&mut __s.b2, __f);
                }
                if let ::core::option::Option::Some(__f) = __g0_model__w1 {
                    ::autodiff::__private::Gradient::accumulate(&mut __s.w1, __f);
                }
                if let ::core::option::Option::Some(__f) = __g0_model__w2 {
                    ::autodiff::__private::Gradient::accumulate(&mut __s.w2, __f);
                }
                ::autodiff::__private::fill_like(model, &mut __s);
                __s
            })
        } else {
            ::core::option::Option::None
        },
        ::core::option::Option::None,
        ::core::option::Option::None,
    )
}
#[doc(hidden)]
#[allow(dead_code, unused_variables, clippy::all)]
fn model_loss_tangent<__Tangents: ::autodiff::__private::DeclaredWithHvp>(
    model: &Mlp,
    x: &Array2<f64>,
    labels: &[usize],
    _: &f64,
    _: __Tangents,
) -> ::core::option::Option<f64> {
    ::core::unreachable!("declared without `hvp`")
}
#[doc(hidden)]
#[allow(dead_code, unused_variables, clippy::all)]
fn model_loss_vjp_tangent<__Tangents: ::autodiff::__private::DeclaredWithHvp>(
    model: &Mlp,
    x: &Array2<f64>,
    labels: &[usize],
    _: __Tangents,
    _: &f64,
    _: ::core::option::Option<&f64>,
    _: f64,
    _: ::core::option::Option<f64>,
    _: [bool; 3],
) -> (
    (
        ::core::option::Option<Mlp>,
        ::core::option::Option<::autodiff::__private::NoGrad>,
        ::core::option::Option<::autodiff::__private::NoGrad>,
    ),
    (
        ::core::option::Option<Mlp>,
        ::core::option::Option<::autodiff::__private::NoGrad>,
        ::core::option::Option<::autodiff::__private::NoGrad>,
    ),
) {
    ::core::unreachable!("declared without `hvp`")
}
