fn rnn(xs: &[Array2<f32>], wx: &Array2<f32>, b: &Array1<f32>, u: &Array2<f32>) -> f32 {
    let mut h = tanh(&linear(&xs[0], wx, b));
    for t in 1..xs.len() {
        h = tanh(&(linear(&xs[t], wx, b) + matmul(&h, u)));
    }
    mean(&h)
}
///Gradients of [`rnn`], one field per differentiated parameter.
#[derive(::core::fmt::Debug, ::core::clone::Clone)]
#[allow(dead_code)]
struct RnnGrad {
    ///∂output/∂`wx`, with the shape of `wx`.
    pub wx: Array2<f32>,
    ///∂output/∂`b`, with the shape of `b`.
    pub b: Array1<f32>,
    ///∂output/∂`u`, with the shape of `u`.
    pub u: Array2<f32>,
}
///The code of [`rnn_grad`] as `#[differentiable]` generated it, pretty-printed (without the checks of anomaly mode).
#[allow(dead_code)]
const RNN_GRAD_SOURCE: &str = "fn rnn_grad(xs: &[Array2<f32>], wx: &Array2<f32>, b: &Array1<f32>, u: &Array2<f32>) -> (f32, RnnGrad) {\n    let _ = rnn;\n    with_thread_workspace(move || {\n        let mut __v5_h = None;\n        let mut __s5_h = Stack::new();\n        let mut __v8 = None;\n        let mut __s8 = Stack::new();\n        let mut __v9 = None;\n        let mut __s9 = Stack::new();\n        let mut __v10 = None;\n        let mut __s10 = Stack::new();\n        let mut __l0: Stack<u32> = Stack::new();\n        let mut __sk0 = Stack::new();\n        let __v7 = linear(&(xs[0]), wx, b);\n        let __new = tanh(&__v7);\n        save(&mut __v5_h, &mut __s5_h, __new);\n        __l0.push(0u32);\n        for t in 1..xs.len() {\n            let __k0 = &xs[t];\n            let __new = linear(__k0, wx, b);\n            save(&mut __v9, &mut __s9, __new);\n            __sk0.push(__k0);\n            let __new = matmul(live(&__v5_h), u);\n            save(&mut __v10, &mut __s10, __new);\n            let __new = add(live(&__v9), live(&__v10));\n            save(&mut __v8, &mut __s8, __new);\n            let __new = tanh(live(&__v8));\n            save(&mut __v5_h, &mut __s5_h, __new);\n            __l0.push(1u32);\n        }\n        let __v4 = mean(live(&__v5_h));\n        let mut __g1_wx = None;\n        let mut __g2_b = None;\n        let mut __g3_u = None;\n        let mut __g4 = None;\n        let mut __g5_h = None;\n        let mut __g7 = None;\n        let mut __g8 = None;\n        let mut __g9 = None;\n        let mut __g10 = None;\n        __g4 = Some(seed(&__v4));\n        let (__c7_0,) = match __g4.take() {\n            Some(__g) => mean_vjp(live(&__v5_h), &__v4, __g, [true]),\n            None => (None,),\n        };\n        __g5_h = accumulate(__g5_h.take(), gradient(__c7_0));\n        progress();\n        loop {\n            let __x0 = __l0.pop();\n            if __x0 == 0u32 {\n                break;\n            }\n            let __y6 = restore(&mut __v5_h, &mut __s5_h);\n            let (__c6_0,) = match __g5_h.take() {\n                Some(__g) => tanh_vjp(live(&__v8), live(&__y6), __g, [true]),\n                None => (None,),\n            };\n            __g8 = accumulate(__g8.take(), gradient(__c6_0));\n            recycle!(__y6);\n            let __y5 = restore(&mut __v8, &mut __s8);\n            let (__c5_0, __c5_1) = match __g8.take() {\n                Some(__g) => add_vjp(live(&__v9), live(&__v10), live(&__y5), __g, [true, true]),\n                None => (None, None),\n            };\n            __g9 = accumulate(__g9.take(), gradient(__c5_0));\n            __g10 = accumulate(__g10.take(), gradient(__c5_1));\n            recycle!(__y5);\n            let __y4 = restore(&mut __v10, &mut __s10);\n            let (__c4_0, __c4_1) = match __g10.take() {\n                Some(__g) => matmul_vjp(live(&__v5_h), u, live(&__y4), __g, [true, true]),\n                None => (None, None),\n            };\n            __g5_h = accumulate(__g5_h.take(), gradient(__c4_0));\n            __g3_u = accumulate(__g3_u.take(), gradient(__c4_1));\n            recycle!(__y4);\n            let __k0 = __sk0.pop();\n            let __y3 = restore(&mut __v9, &mut __s9);\n            let (_, __c3_1, __c3_2) = match __g9.take() {\n                Some(__g) => linear_vjp(__k0, wx, b, live(&__y3), __g, [false, true, true]),\n                None => (None, None, None),\n            };\n            __g1_wx = accumulate(__g1_wx.take(), gradient(__c3_1));\n            __g2_b = accumulate(__g2_b.take(), gradient(__c3_2));\n            recycle!(__y3);\n            progress();\n        }\n        ready_whole(\"u\", &__g3_u, u);\n        progress();\n        let __y2 = restore(&mut __v5_h, &mut __s5_h);\n        let (__c2_0,) = match __g5_h.take() {\n            Some(__g) => tanh_vjp(&__v7, live(&__y2), __g, [true]),\n            None => (None,),\n        };\n        __g7 = accumulate(__g7.take(), gradient(__c2_0));\n        recycle!(__y2);\n        progress();\n        let (_, __c1_1, __c1_2) = match __g7.take() {\n            Some(__g) => linear_vjp(&(xs[0]), wx, b, &__v7, __g, [false, true, true]),\n            None => (None, None, None),\n        };\n        __g1_wx = accumulate(__g1_wx.take(), gradient(__c1_1));\n        __g2_b = accumulate(__g2_b.take(), gradient(__c1_2));\n        ready_whole(\"wx\", &__g1_wx, wx);\n        ready_whole(\"b\", &__g2_b, b);\n        progress();\n        recycle!(__v7);\n        recycle!(__v5_h);\n        recycle!(__v8);\n        recycle!(__v9);\n        recycle!(__v10);\n        (__v4, RnnGrad {\n            wx: finished!(\"wx\", or_zeros(__g1_wx, wx)),\n            b: finished!(\"b\", or_zeros(__g2_b, b)),\n            u: finished!(\"u\", or_zeros(__g3_u, u)),\n        })\n    })\n}\n";
///The forward graph of [`rnn`] and its gradient graph (the graph [`rnn_grad`] runs), in Graphviz DOT.
#[allow(dead_code)]
const RNN_GRAPHS: ::autodiff::__private::Graphs = ::autodiff::__private::Graphs {
    forward: "digraph forward {\n    node [fontname=\"sans-serif\"];\n    n0 [label=\"xs [0]\", shape=box];\n    n1 [label=\"wx\", shape=box];\n    n2 [label=\"b\", shape=box];\n    n3 [label=\"linear\", shape=ellipse];\n    n0 -> n3;\n    n1 -> n3;\n    n2 -> n3;\n    n4 [label=\"tanh\", shape=ellipse];\n    n3 -> n4;\n    n5 [label=\"h\", shape=plaintext];\n    n4 -> n5;\n    n6 [label=\"xs [t]\", shape=box];\n    n7 [label=\"linear\\n[loop]\", shape=ellipse];\n    n6 -> n7;\n    n1 -> n7;\n    n2 -> n7;\n    n8 [label=\"u\", shape=box];\n    n9 [label=\"matmul\\n[loop]\", shape=ellipse];\n    n5 -> n9;\n    n8 -> n9;\n    n10 [label=\"add\\n[loop]\", shape=ellipse];\n    n7 -> n10;\n    n9 -> n10;\n    n11 [label=\"tanh\\n[loop]\", shape=ellipse];\n    n10 -> n11;\n    n11 -> n5;\n    n12 [label=\"mean\", shape=ellipse];\n    n5 -> n12;\n    n13 [label=\"C\", shape=doublecircle];\n    n12 -> n13;\n}\n",
    gradient: "digraph gradient {\n    node [fontname=\"sans-serif\"];\n    n0 [label=\"∂C/∂C = 1\", shape=plaintext];\n    n1 [label=\"∂C\", shape=ellipse];\n    n0 -> n1;\n    n2 [label=\"mean VJP\", shape=ellipse];\n    n1 -> n2;\n    n3 [label=\"∂h\", shape=ellipse];\n    n2 -> n3;\n    n4 [label=\"tanh VJP\\n[loop]\", shape=ellipse];\n    n3 -> n4;\n    n5 [label=\"∂add(…)\", shape=ellipse];\n    n4 -> n5;\n    n6 [label=\"add VJP\\n[loop]\", shape=ellipse];\n    n5 -> n6;\n    n7 [label=\"∂linear(…)\", shape=ellipse];\n    n6 -> n7;\n    n8 [label=\"∂matmul(…)\", shape=ellipse];\n    n6 -> n8;\n    n9 [label=\"matmul VJP\\n[loop]\", shape=ellipse];\n    n8 -> n9;\n    n9 -> n3;\n    n10 [label=\"∂u\", shape=box];\n    n9 -> n10;\n    n11 [label=\"linear VJP\\n[loop]\", shape=ellipse];\n    n7 -> n11;\n    n12 [label=\"∂wx\", shape=box];\n    n11 -> n12;\n    n13 [label=\"∂b\", shape=box];\n    n11 -> n13;\n    n14 [label=\"tanh VJP\", shape=ellipse];\n    n3 -> n14;\n    n15 [label=\"∂linear(…)\", shape=ellipse];\n    n14 -> n15;\n    n16 [label=\"linear VJP\", shape=ellipse];\n    n15 -> n16;\n    n16 -> n12;\n    n16 -> n13;\n}\n",
};
/**The value of [`rnn`] and its gradient with respect to the differentiated parameters, computed by the backward pass that `#[differentiable]` generated.

# Generated code

```text
fn rnn_grad(xs: &[Array2<f32>], wx: &Array2<f32>, b: &Array1<f32>, u: &Array2<f32>) -> (f32, RnnGrad) {
    let _ = rnn;
    with_thread_workspace(move || {
        let mut __v5_h = None;
        let mut __s5_h = Stack::new();
        let mut __v8 = None;
        let mut __s8 = Stack::new();
        let mut __v9 = None;
        let mut __s9 = Stack::new();
        let mut __v10 = None;
        let mut __s10 = Stack::new();
        let mut __l0: Stack<u32> = Stack::new();
        let mut __sk0 = Stack::new();
        let __v7 = linear(&(xs[0]), wx, b);
        let __new = tanh(&__v7);
        save(&mut __v5_h, &mut __s5_h, __new);
        __l0.push(0u32);
        for t in 1..xs.len() {
            let __k0 = &xs[t];
            let __new = linear(__k0, wx, b);
            save(&mut __v9, &mut __s9, __new);
            __sk0.push(__k0);
            let __new = matmul(live(&__v5_h), u);
            save(&mut __v10, &mut __s10, __new);
            let __new = add(live(&__v9), live(&__v10));
            save(&mut __v8, &mut __s8, __new);
            let __new = tanh(live(&__v8));
            save(&mut __v5_h, &mut __s5_h, __new);
            __l0.push(1u32);
        }
        let __v4 = mean(live(&__v5_h));
        let mut __g1_wx = None;
        let mut __g2_b = None;
        let mut __g3_u = None;
        let mut __g4 = None;
        let mut __g5_h = None;
        let mut __g7 = None;
        let mut __g8 = None;
        let mut __g9 = None;
        let mut __g10 = None;
        __g4 = Some(seed(&__v4));
        let (__c7_0,) = match __g4.take() {
            Some(__g) => mean_vjp(live(&__v5_h), &__v4, __g, [true]),
            None => (None,),
        };
        __g5_h = accumulate(__g5_h.take(), gradient(__c7_0));
        progress();
        loop {
            let __x0 = __l0.pop();
            if __x0 == 0u32 {
                break;
            }
            let __y6 = restore(&mut __v5_h, &mut __s5_h);
            let (__c6_0,) = match __g5_h.take() {
                Some(__g) => tanh_vjp(live(&__v8), live(&__y6), __g, [true]),
                None => (None,),
            };
            __g8 = accumulate(__g8.take(), gradient(__c6_0));
            recycle!(__y6);
            let __y5 = restore(&mut __v8, &mut __s8);
            let (__c5_0, __c5_1) = match __g8.take() {
                Some(__g) => add_vjp(live(&__v9), live(&__v10), live(&__y5), __g, [true, true]),
                None => (None, None),
            };
            __g9 = accumulate(__g9.take(), gradient(__c5_0));
            __g10 = accumulate(__g10.take(), gradient(__c5_1));
            recycle!(__y5);
            let __y4 = restore(&mut __v10, &mut __s10);
            let (__c4_0, __c4_1) = match __g10.take() {
                Some(__g) => matmul_vjp(live(&__v5_h), u, live(&__y4), __g, [true, true]),
                None => (None, None),
            };
            __g5_h = accumulate(__g5_h.take(), gradient(__c4_0));
            __g3_u = accumulate(__g3_u.take(), gradient(__c4_1));
            recycle!(__y4);
            let __k0 = __sk0.pop();
            let __y3 = restore(&mut __v9, &mut __s9);
            let (_, __c3_1, __c3_2) = match __g9.take() {
                Some(__g) => linear_vjp(__k0, wx, b, live(&__y3), __g, [false, true, true]),
                None => (None, None, None),
            };
            __g1_wx = accumulate(__g1_wx.take(), gradient(__c3_1));
            __g2_b = accumulate(__g2_b.take(), gradient(__c3_2));
            recycle!(__y3);
            progress();
        }
        ready_whole("u", &__g3_u, u);
        progress();
        let __y2 = restore(&mut __v5_h, &mut __s5_h);
        let (__c2_0,) = match __g5_h.take() {
            Some(__g) => tanh_vjp(&__v7, live(&__y2), __g, [true]),
            None => (None,),
        };
        __g7 = accumulate(__g7.take(), gradient(__c2_0));
        recycle!(__y2);
        progress();
        let (_, __c1_1, __c1_2) = match __g7.take() {
            Some(__g) => linear_vjp(&(xs[0]), wx, b, &__v7, __g, [false, true, true]),
            None => (None, None, None),
        };
        __g1_wx = accumulate(__g1_wx.take(), gradient(__c1_1));
        __g2_b = accumulate(__g2_b.take(), gradient(__c1_2));
        ready_whole("wx", &__g1_wx, wx);
        ready_whole("b", &__g2_b, b);
        progress();
        recycle!(__v7);
        recycle!(__v5_h);
        recycle!(__v8);
        recycle!(__v9);
        recycle!(__v10);
        (__v4, RnnGrad {
            wx: finished!("wx", or_zeros(__g1_wx, wx)),
            b: finished!("b", or_zeros(__g2_b, b)),
            u: finished!("u", or_zeros(__g3_u, u)),
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
fn rnn_grad(
    xs: &[Array2<f32>],
    wx: &Array2<f32>,
    b: &Array1<f32>,
    u: &Array2<f32>,
) -> (f32, RnnGrad) {
    let _ = rnn;
    ::autodiff::__private::with_thread_workspace(move || {
        #[allow(unused_imports)]
        use ::autodiff::__private::{AnomalyCheck as _, AnomalySkip as _};
        let __anomaly = ::autodiff::__private::anomaly_enabled();
        let mut __v5_h = ::core::option::Option::None;
        let mut __s5_h = ::autodiff::__private::Stack::new();
        let mut __v8 = ::core::option::Option::None;
        let mut __s8 = ::autodiff::__private::Stack::new();
        let mut __v9 = ::core::option::Option::None;
        let mut __s9 = ::autodiff::__private::Stack::new();
        let mut __v10 = ::core::option::Option::None;
        let mut __s10 = ::autodiff::__private::Stack::new();
        let mut __l0: ::autodiff::__private::Stack<u32> = ::autodiff::__private::Stack::new();
        let mut __sk0 = ::autodiff::__private::Stack::new();
        let __v7 = linear(&(xs[0]), wx, b);
        if __anomaly {
            (&::autodiff::__private::Probe(&__v7)).check_forward("linear");
        }
        let __new = tanh(&__v7);
        ::autodiff::__private::save(&mut __v5_h, &mut __s5_h, __new);
        if __anomaly {
            (&::autodiff::__private::Probe(::autodiff::__private::live(&__v5_h)))
                .check_forward("tanh");
        }
        __l0.push(0u32);
        for t in 1..xs.len() {
            let __k0 = &xs[t];
            let __new = linear(__k0, wx, b);
            ::autodiff::__private::save(&mut __v9, &mut __s9, __new);
            if __anomaly {
                (&::autodiff::__private::Probe(::autodiff::__private::live(&__v9)))
                    .check_forward("linear");
            }
            __sk0.push(__k0);
            let __new = matmul(::autodiff::__private::live(&__v5_h), u);
            ::autodiff::__private::save(&mut __v10, &mut __s10, __new);
            if __anomaly {
                (&::autodiff::__private::Probe(::autodiff::__private::live(&__v10)))
                    .check_forward("matmul");
            }
            let __new = ::autodiff::__private::add(
                ::autodiff::__private::live(&__v9),
                ::autodiff::__private::live(&__v10),
            );
            ::autodiff::__private::save(&mut __v8, &mut __s8, __new);
            if __anomaly {
                (&::autodiff::__private::Probe(::autodiff::__private::live(&__v8)))
                    .check_forward("add");
            }
            let __new = tanh(::autodiff::__private::live(&__v8));
            ::autodiff::__private::save(&mut __v5_h, &mut __s5_h, __new);
            if __anomaly {
                (&::autodiff::__private::Probe(::autodiff::__private::live(&__v5_h)))
                    .check_forward("tanh");
            }
            __l0.push(1u32);
        }
        let __v4 = mean(::autodiff::__private::live(&__v5_h));
        if __anomaly {
            (&::autodiff::__private::Probe(&__v4)).check_forward("mean");
        }
        let mut __g1_wx = ::core::option::Option::None;
        let mut __g2_b = ::core::option::Option::None;
        let mut __g3_u = ::core::option::Option::None;
        let mut __g4 = ::core::option::Option::None;
        let mut __g5_h = ::core::option::Option::None;
        let mut __g7 = ::core::option::Option::None;
        let mut __g8 = ::core::option::Option::None;
        let mut __g9 = ::core::option::Option::None;
        let mut __g10 = ::core::option::Option::None;
        __g4 = ::core::option::Option::Some(::autodiff::__private::seed(&__v4));
        let (__c7_0,) = match __g4.take() {
            ::core::option::Option::Some(__g) => {
                mean_vjp(::autodiff::__private::live(&__v5_h), &__v4, __g, [true])
            }
            ::core::option::Option::None => (::core::option::Option::None,),
        };
        if __anomaly {
            (&::autodiff::__private::Probe(&__c7_0)).check_gradient("mean", 0);
        }
        __g5_h = ::autodiff::__private::accumulate(
            __g5_h.take(),
            ::autodiff::__private::gradient(__c7_0),
        );
        ::autodiff::__private::progress();
        loop {
            let __x0 = __l0.pop();
            if __x0 == 0u32 {
                break;
            }
            let __y6 = ::autodiff::__private::restore(&mut __v5_h, &mut __s5_h);
            let (__c6_0,) = match __g5_h.take() {
                ::core::option::Option::Some(__g) => {
                    tanh_vjp(
                        ::autodiff::__private::live(&__v8),
                        ::autodiff::__private::live(&__y6),
                        __g,
                        [true],
                    )
                }
                ::core::option::Option::None => (::core::option::Option::None,),
            };
            if __anomaly {
                (&::autodiff::__private::Probe(&__c6_0)).check_gradient("tanh", 0);
            }
            __g8 = ::autodiff::__private::accumulate(
                __g8.take(),
                ::autodiff::__private::gradient(__c6_0),
            );
            ::autodiff::__private::recycle!(__y6);
            let __y5 = ::autodiff::__private::restore(&mut __v8, &mut __s8);
            let (__c5_0, __c5_1) = match __g8.take() {
                ::core::option::Option::Some(__g) => {
                    ::autodiff::__private::add_vjp(
                        ::autodiff::__private::live(&__v9),
                        ::autodiff::__private::live(&__v10),
                        ::autodiff::__private::live(&__y5),
                        __g,
                        [true, true],
                    )
                }
                ::core::option::Option::None => {
                    (::core::option::Option::None, ::core::option::Option::None)
                }
            };
            if __anomaly {
                (&::autodiff::__private::Probe(&__c5_0)).check_gradient("add", 0);
            }
            if __anomaly {
                (&::autodiff::__private::Probe(&__c5_1)).check_gradient("add", 1);
            }
            __g9 = ::autodiff::__private::accumulate(
                __g9.take(),
                ::autodiff::__private::gradient(__c5_0),
            );
            __g10 = ::autodiff::__private::accumulate(
                __g10.take(),
                ::autodiff::__private::gradient(__c5_1),
            );
            ::autodiff::__private::recycle!(__y5);
            let __y4 = ::autodiff::__private::restore(&mut __v10, &mut __s10);
            let (__c4_0, __c4_1) = match __g10.take() {
                ::core::option::Option::Some(__g) => {
                    matmul_vjp(
                        ::autodiff::__private::live(&__v5_h),
                        u,
                        ::autodiff::__private::live(&__y4),
                        __g,
                        [true, true],
                    )
                }
                ::core::option::Option::None => {
                    (::core::option::Option::None, ::core::option::Option::None)
                }
            };
            if __anomaly {
                (&::autodiff::__private::Probe(&__c4_0)).check_gradient("matmul", 0);
            }
            if __anomaly {
                (&::autodiff::__private::Probe(&__c4_1)).check_gradient("matmul", 1);
            }
            __g5_h = ::autodiff::__private::accumulate(
                __g5_h.take(),
                ::autodiff::__private::gradient(__c4_0),
            );
            __g3_u = ::autodiff::__private::accumulate(
                __g3_u.take(),
                ::autodiff::__private::gradient(__c4_1),
            );
            ::autodiff::__private::recycle!(__y4);
            let __k0 = __sk0.pop();
            let __y3 = ::autodiff::__private::restore(&mut __v9, &mut __s9);
            let (_, __c3_1, __c3_2) = match __g9.take() {
                ::core::option::Option::Some(__g) => {
                    linear_vjp(
                        __k0,
                        wx,
                        b,
                        ::autodiff::__private::live(&__y3),
                        __g,
                        [false, true, true],
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
                (&::autodiff::__private::Probe(&__c3_1)).check_gradient("linear", 1);
            }
            if __anomaly {
                (&::autodiff::__private::Probe(&__c3_2)).check_gradient("linear", 2);
            }
            __g1_wx = ::autodiff::__private::accumulate(
                __g1_wx.take(),
                ::autodiff::__private::gradient(__c3_1),
            );
            __g2_b = ::autodiff::__private::accumulate(
                __g2_b.take(),
                ::autodiff::__private::gradient(__c3_2),
            );
            ::autodiff::__private::recycle!(__y3);
            ::autodiff::__private::progress();
        }
        ::autodiff::__private::ready_whole("u", &__g3_u, u);
        ::autodiff::__private::progress();
        let __y2 = ::autodiff::__private::restore(&mut __v5_h, &mut __s5_h);
        let (__c2_0,) = match __g5_h.take() {
            ::core::option::Option::Some(__g) => {
                tanh_vjp(&__v7, ::autodiff::__private::live(&__y2), __g, [true])
            }
            ::core::option::Option::None => (::core::option::Option::None,),
        };
        if __anomaly {
            (&::autodiff::__private::Probe(&__c2_0)).check_gradient("tanh", 0);
        }
        __g7 = ::autodiff::__private::accumulate(
            __g7.take(),
            ::autodiff::__private::gradient(__c2_0),
        );
        ::autodiff::__private::recycle!(__y2);
        ::autodiff::__private::progress();
        let (_, __c1_1, __c1_2) = match __g7.take() {
            ::core::option::Option::Some(__g) => {
                linear_vjp(&(xs[0]), wx, b, &__v7, __g, [false, true, true])
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
        __g1_wx = ::autodiff::__private::accumulate(
            __g1_wx.take(),
            ::autodiff::__private::gradient(__c1_1),
        );
        __g2_b = ::autodiff::__private::accumulate(
            __g2_b.take(),
            ::autodiff::__private::gradient(__c1_2),
        );
        ::autodiff::__private::ready_whole("wx", &__g1_wx, wx);
        ::autodiff::__private::ready_whole("b", &__g2_b, b);
        ::autodiff::__private::progress();
        ::autodiff::__private::recycle!(__v7);
        ::autodiff::__private::recycle!(__v5_h);
        ::autodiff::__private::recycle!(__v8);
        ::autodiff::__private::recycle!(__v9);
        ::autodiff::__private::recycle!(__v10);
        (
            __v4,
            RnnGrad {
                wx: ::autodiff::__private::finished!(
                    "wx", ::autodiff::__private::or_zeros(__g1_wx, wx)
                ),
                b: ::autodiff::__private::finished!(
                    "b", ::autodiff::__private::or_zeros(__g2_b, b)
                ),
                u: ::autodiff::__private::finished!(
                    "u", ::autodiff::__private::or_zeros(__g3_u, u)
                ),
            },
        )
    })
}
///[`rnn_grad`] with its arrays taken from, and returned to, `workspace`: from the second call on, the step's own arrays come from the workspace instead of the heap. Give the gradients back with `workspace.recycle(...)` once used.
#[allow(dead_code, clippy::all)]
fn rnn_grad_with(
    __workspace: &mut ::autodiff::__private::Workspace,
    xs: &[Array2<f32>],
    wx: &Array2<f32>,
    b: &Array1<f32>,
    u: &Array2<f32>,
) -> (f32, RnnGrad) {
    __workspace.run(move || rnn_grad(xs, wx, b, u))
}
///[`rnn`] with its arrays taken from, and returned to, `workspace`: the same value, from the steps of [`rnn_grad`]'s forward pass, each array given back to the workspace once the pass is done with it, so that from the second call on an evaluation (a validation loss, a prediction) allocates nothing.
#[inline]
#[allow(
    dead_code,
    unused_variables,
    unused_mut,
    unused_assignments,
    unreachable_code,
    clippy::all
)]
fn rnn_with(
    __workspace: &mut ::autodiff::__private::Workspace,
    xs: &[Array2<f32>],
    wx: &Array2<f32>,
    b: &Array1<f32>,
    u: &Array2<f32>,
) -> f32 {
    let _ = rnn;
    __workspace
        .run(move || {
            #[allow(unused_imports)]
            use ::autodiff::__private::{AnomalyCheck as _, AnomalySkip as _};
            let __anomaly = ::autodiff::__private::anomaly_enabled();
            let mut __v5_h = ::core::option::Option::None;
            let mut __v8 = ::core::option::Option::None;
            let mut __v9 = ::core::option::Option::None;
            let mut __v10 = ::core::option::Option::None;
            let __v7 = linear(&(xs[0]), wx, b);
            if __anomaly {
                (&::autodiff::__private::Probe(&__v7)).check_forward("linear");
            }
            let __new = tanh(&__v7);
            ::autodiff::__private::recycle!(
                ::autodiff::__private::set(& mut __v5_h, __new)
            );
            if __anomaly {
                (&::autodiff::__private::Probe(::autodiff::__private::live(&__v5_h)))
                    .check_forward("tanh");
            }
            ::autodiff::__private::recycle!(__v7);
            for t in 1..xs.len() {
                let __k0 = &xs[t];
                let __new = linear(__k0, wx, b);
                ::autodiff::__private::recycle!(
                    ::autodiff::__private::set(& mut __v9, __new)
                );
                if __anomaly {
                    (&::autodiff::__private::Probe(::autodiff::__private::live(&__v9)))
                        .check_forward("linear");
                }
                let __new = matmul(::autodiff::__private::live(&__v5_h), u);
                ::autodiff::__private::recycle!(
                    ::autodiff::__private::set(& mut __v10, __new)
                );
                if __anomaly {
                    (&::autodiff::__private::Probe(::autodiff::__private::live(&__v10)))
                        .check_forward("matmul");
                }
                let __new = ::autodiff::__private::add(
                    ::autodiff::__private::live(&__v9),
                    ::autodiff::__private::live(&__v10),
                );
                ::autodiff::__private::recycle!(
                    ::autodiff::__private::set(& mut __v8, __new)
                );
                if __anomaly {
                    (&::autodiff::__private::Probe(::autodiff::__private::live(&__v8)))
                        .check_forward("add");
                }
                let __new = tanh(::autodiff::__private::live(&__v8));
                ::autodiff::__private::recycle!(
                    ::autodiff::__private::set(& mut __v5_h, __new)
                );
                if __anomaly {
                    (&::autodiff::__private::Probe(::autodiff::__private::live(&__v5_h)))
                        .check_forward("tanh");
                }
            }
            let __v4 = mean(::autodiff::__private::live(&__v5_h));
            if __anomaly {
                (&::autodiff::__private::Probe(&__v4)).check_forward("mean");
            }
            ::autodiff::__private::recycle!(__v5_h);
            ::autodiff::__private::recycle!(__v8);
            ::autodiff::__private::recycle!(__v9);
            ::autodiff::__private::recycle!(__v10);
            __v4
        })
}
///The vector-Jacobian product of [`rnn`], which makes it a module that other `#[differentiable]` functions can call. It recomputes the forward pass (trading one forward pass for not storing intermediates).
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
fn rnn_vjp(
    xs: &[Array2<f32>],
    wx: &Array2<f32>,
    b: &Array1<f32>,
    u: &Array2<f32>,
    __y: &f32,
    __gout: f32,
    __need: [bool; 4],
) -> (
    ::core::option::Option<::autodiff::__private::NoGrad>,
    ::core::option::Option<Array2<f32>>,
    ::core::option::Option<Array1<f32>>,
    ::core::option::Option<Array2<f32>>,
) {
    let _ = rnn;
    #[allow(unused_imports)]
    use ::autodiff::__private::{AnomalyCheck as _, AnomalySkip as _};
    let __anomaly = ::autodiff::__private::anomaly_enabled();
    let mut __v5_h = ::core::option::Option::None;
    let mut __s5_h = ::autodiff::__private::Stack::new();
    let mut __v8 = ::core::option::Option::None;
    let mut __s8 = ::autodiff::__private::Stack::new();
    let mut __v9 = ::core::option::Option::None;
    let mut __s9 = ::autodiff::__private::Stack::new();
    let mut __v10 = ::core::option::Option::None;
    let mut __s10 = ::autodiff::__private::Stack::new();
    let mut __l0: ::autodiff::__private::Stack<u32> = ::autodiff::__private::Stack::new();
    let mut __sk0 = ::autodiff::__private::Stack::new();
    let __v7 = linear(&(xs[0]), wx, b);
    if __anomaly {
        (&::autodiff::__private::Probe(&__v7)).check_forward("linear");
    }
    let __new = tanh(&__v7);
    ::autodiff::__private::save(&mut __v5_h, &mut __s5_h, __new);
    if __anomaly {
        (&::autodiff::__private::Probe(::autodiff::__private::live(&__v5_h)))
            .check_forward("tanh");
    }
    __l0.push(0u32);
    for t in 1..xs.len() {
        let __k0 = &xs[t];
        let __new = linear(__k0, wx, b);
        ::autodiff::__private::save(&mut __v9, &mut __s9, __new);
        if __anomaly {
            (&::autodiff::__private::Probe(::autodiff::__private::live(&__v9)))
                .check_forward("linear");
        }
        __sk0.push(__k0);
        let __new = matmul(::autodiff::__private::live(&__v5_h), u);
        ::autodiff::__private::save(&mut __v10, &mut __s10, __new);
        if __anomaly {
            (&::autodiff::__private::Probe(::autodiff::__private::live(&__v10)))
                .check_forward("matmul");
        }
        let __new = ::autodiff::__private::add(
            ::autodiff::__private::live(&__v9),
            ::autodiff::__private::live(&__v10),
        );
        ::autodiff::__private::save(&mut __v8, &mut __s8, __new);
        if __anomaly {
            (&::autodiff::__private::Probe(::autodiff::__private::live(&__v8)))
                .check_forward("add");
        }
        let __new = tanh(::autodiff::__private::live(&__v8));
        ::autodiff::__private::save(&mut __v5_h, &mut __s5_h, __new);
        if __anomaly {
            (&::autodiff::__private::Probe(::autodiff::__private::live(&__v5_h)))
                .check_forward("tanh");
        }
        __l0.push(1u32);
    }
    let __v4 = mean(::autodiff::__private::live(&__v5_h));
    if __anomaly {
        (&::autodiff::__private::Probe(&__v4)).check_forward("mean");
    }
    let mut __g1_wx = ::core::option::Option::None;
    let mut __g2_b = ::core::option::Option::None;
    let mut __g3_u = ::core::option::Option::None;
    let mut __g4 = ::core::option::Option::None;
    let mut __g5_h = ::core::option::Option::None;
    let mut __g7 = ::core::option::Option::None;
    let mut __g8 = ::core::option::Option::None;
    let mut __g9 = ::core::option::Option::None;
    let mut __g10 = ::core::option::Option::None;
    __g4 = ::core::option::Option::Some(__gout);
    let (__c7_0,) = match __g4.take() {
        ::core::option::Option::Some(__g) => {
            mean_vjp(
                ::autodiff::__private::live(&__v5_h),
                &__v4,
                __g,
                [(__need[1] || __need[2] || __need[3])],
            )
        }
        ::core::option::Option::None => (::core::option::Option::None,),
    };
    if __anomaly {
        (&::autodiff::__private::Probe(&__c7_0)).check_gradient("mean", 0);
    }
    __g5_h = ::autodiff::__private::accumulate(
        __g5_h.take(),
        ::autodiff::__private::gradient(__c7_0),
    );
    loop {
        let __x0 = __l0.pop();
        if __x0 == 0u32 {
            break;
        }
        let __y6 = ::autodiff::__private::restore(&mut __v5_h, &mut __s5_h);
        let (__c6_0,) = match __g5_h.take() {
            ::core::option::Option::Some(__g) => {
                tanh_vjp(
                    ::autodiff::__private::live(&__v8),
                    ::autodiff::__private::live(&__y6),
                    __g,
                    [(__need[1] || __need[2] || __need[3])],
                )
            }
            ::core::option::Option::None => (::core::option::Option::None,),
        };
        if __anomaly {
            (&::autodiff::__private::Probe(&__c6_0)).check_gradient("tanh", 0);
        }
        __g8 = ::autodiff::__private::accumulate(
            __g8.take(),
            ::autodiff::__private::gradient(__c6_0),
        );
        ::autodiff::__private::recycle!(__y6);
        let __y5 = ::autodiff::__private::restore(&mut __v8, &mut __s8);
        let (__c5_0, __c5_1) = match __g8.take() {
            ::core::option::Option::Some(__g) => {
                ::autodiff::__private::add_vjp(
                    ::autodiff::__private::live(&__v9),
                    ::autodiff::__private::live(&__v10),
                    ::autodiff::__private::live(&__y5),
                    __g,
                    [(__need[1] || __need[2]), (__need[1] || __need[2] || __need[3])],
                )
            }
            ::core::option::Option::None => {
                (::core::option::Option::None, ::core::option::Option::None)
            }
        };
        if __anomaly {
            (&::autodiff::__private::Probe(&__c5_0)).check_gradient("add", 0);
        }
        if __anomaly {
            (&::autodiff::__private::Probe(&__c5_1)).check_gradient("add", 1);
        }
        __g9 = ::autodiff::__private::accumulate(
            __g9.take(),
            ::autodiff::__private::gradient(__c5_0),
        );
        __g10 = ::autodiff::__private::accumulate(
            __g10.take(),
            ::autodiff::__private::gradient(__c5_1),
        );
        ::autodiff::__private::recycle!(__y5);
        let __y4 = ::autodiff::__private::restore(&mut __v10, &mut __s10);
        let (__c4_0, __c4_1) = match __g10.take() {
            ::core::option::Option::Some(__g) => {
                matmul_vjp(
                    ::autodiff::__private::live(&__v5_h),
                    u,
                    ::autodiff::__private::live(&__y4),
                    __g,
                    [(__need[1] || __need[2] || __need[3]), (__need[3])],
                )
            }
            ::core::option::Option::None => {
                (::core::option::Option::None, ::core::option::Option::None)
            }
        };
        if __anomaly {
            (&::autodiff::__private::Probe(&__c4_0)).check_gradient("matmul", 0);
        }
        if __anomaly {
            (&::autodiff::__private::Probe(&__c4_1)).check_gradient("matmul", 1);
        }
        __g5_h = ::autodiff::__private::accumulate(
            __g5_h.take(),
            ::autodiff::__private::gradient(__c4_0),
        );
        __g3_u = ::autodiff::__private::accumulate(
            __g3_u.take(),
            ::autodiff::__private::gradient(__c4_1),
        );
        ::autodiff::__private::recycle!(__y4);
        let __k0 = __sk0.pop();
        let __y3 = ::autodiff::__private::restore(&mut __v9, &mut __s9);
        let (_, __c3_1, __c3_2) = match __g9.take() {
            ::core::option::Option::Some(__g) => {
                linear_vjp(
                    __k0,
                    wx,
                    b,
                    ::autodiff::__private::live(&__y3),
                    __g,
                    [false, (__need[1]), (__need[2])],
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
            (&::autodiff::__private::Probe(&__c3_1)).check_gradient("linear", 1);
        }
        if __anomaly {
            (&::autodiff::__private::Probe(&__c3_2)).check_gradient("linear", 2);
        }
        __g1_wx = ::autodiff::__private::accumulate(
            __g1_wx.take(),
            ::autodiff::__private::gradient(__c3_1),
        );
        __g2_b = ::autodiff::__private::accumulate(
            __g2_b.take(),
            ::autodiff::__private::gradient(__c3_2),
        );
        ::autodiff::__private::recycle!(__y3);
    }
    let __y2 = ::autodiff::__private::restore(&mut __v5_h, &mut __s5_h);
    let (__c2_0,) = match __g5_h.take() {
        ::core::option::Option::Some(__g) => {
            tanh_vjp(
                &__v7,
                ::autodiff::__private::live(&__y2),
                __g,
                [(__need[1] || __need[2])],
            )
        }
        ::core::option::Option::None => (::core::option::Option::None,),
    };
    if __anomaly {
        (&::autodiff::__private::Probe(&__c2_0)).check_gradient("tanh", 0);
    }
    __g7 = ::autodiff::__private::accumulate(
        __g7.take(),
        ::autodiff::__private::gradient(__c2_0),
    );
    ::autodiff::__private::recycle!(__y2);
    let (_, __c1_1, __c1_2) = match __g7.take() {
        ::core::option::Option::Some(__g) => {
            linear_vjp(&(xs[0]), wx, b, &__v7, __g, [false, (__need[1]), (__need[2])])
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
    __g1_wx = ::autodiff::__private::accumulate(
        __g1_wx.take(),
        ::autodiff::__private::gradient(__c1_1),
    );
    __g2_b = ::autodiff::__private::accumulate(
        __g2_b.take(),
        ::autodiff::__private::gradient(__c1_2),
    );
    ::autodiff::__private::recycle!(__v7);
    ::autodiff::__private::recycle!(__v5_h);
    ::autodiff::__private::recycle!(__v8);
    ::autodiff::__private::recycle!(__v9);
    ::autodiff::__private::recycle!(__v10);
    (::core::option::Option::None, __g1_wx, __g2_b, __g3_u)
}
#[doc(hidden)]
#[allow(dead_code, unused_variables, clippy::all)]
fn rnn_tangent<__Tangents: ::autodiff::__private::DeclaredWithHvp>(
    xs: &[Array2<f32>],
    wx: &Array2<f32>,
    b: &Array1<f32>,
    u: &Array2<f32>,
    _: &f32,
    _: __Tangents,
) -> ::core::option::Option<f32> {
    ::core::unreachable!("declared without `hvp`")
}
#[doc(hidden)]
#[allow(dead_code, unused_variables, clippy::all)]
fn rnn_vjp_tangent<__Tangents: ::autodiff::__private::DeclaredWithHvp>(
    xs: &[Array2<f32>],
    wx: &Array2<f32>,
    b: &Array1<f32>,
    u: &Array2<f32>,
    _: __Tangents,
    _: &f32,
    _: ::core::option::Option<&f32>,
    _: f32,
    _: ::core::option::Option<f32>,
    _: [bool; 4],
) -> (
    (
        ::core::option::Option<::autodiff::__private::NoGrad>,
        ::core::option::Option<Array2<f32>>,
        ::core::option::Option<Array1<f32>>,
        ::core::option::Option<Array2<f32>>,
    ),
    (
        ::core::option::Option<::autodiff::__private::NoGrad>,
        ::core::option::Option<Array2<f32>>,
        ::core::option::Option<Array1<f32>>,
        ::core::option::Option<Array2<f32>>,
    ),
) {
    ::core::unreachable!("declared without `hvp`")
}
