fn lstm_cell(
    x: &Array2<f64>,
    h: &Array2<f64>,
    c: &Array2<f64>,
    w: &Array2<f64>,
    b: &Array1<f64>,
) -> (Array2<f64>, Array2<f64>) {
    let n = h.ncols();
    let gates = linear(x, w, b);
    let i = sigmoid(&gates.slice(s![.., 0..n]));
    let f = sigmoid(&gates.slice(s![.., n..2 * n]));
    let g = tanh(&gates.slice(s![.., 2 * n..]));
    let c = f * c + i * g;
    let h = tanh(&c);
    (h, c)
}
///Gradients of [`lstm_cell`], one field per differentiated parameter.
#[derive(::core::fmt::Debug, ::core::clone::Clone)]
#[allow(dead_code)]
struct LstmCellGrad {
    ///∂output/∂`x`, with the shape of `x`.
    pub x: Array2<f64>,
    ///∂output/∂`h`, with the shape of `h`.
    pub h: Array2<f64>,
    ///∂output/∂`c`, with the shape of `c`.
    pub c: Array2<f64>,
    ///∂output/∂`w`, with the shape of `w`.
    pub w: Array2<f64>,
    ///∂output/∂`b`, with the shape of `b`.
    pub b: Array1<f64>,
}
#[doc(hidden)]
#[allow(dead_code)]
const LSTM_CELL_GRAD_SOURCE: &str = "";
#[doc(hidden)]
#[allow(dead_code)]
const LSTM_CELL_GRAPHS: ::autodiff::__private::Graphs = ::autodiff::__private::Graphs {
    forward: "",
    gradient: "",
};
#[doc(hidden)]
#[allow(dead_code, unused_variables, clippy::all)]
fn lstm_cell_grad<__Scalar>(
    x: &Array2<f64>,
    h: &Array2<f64>,
    c: &Array2<f64>,
    w: &Array2<f64>,
    b: &Array1<f64>,
) -> ((Array2<f64>, Array2<f64>), LstmCellGrad)
where
    (Array2<f64>, Array2<f64>): ::autodiff::__private::ScalarOutput<__Scalar>,
{
    ::core::unreachable!()
}
#[doc(hidden)]
#[allow(dead_code, unused_variables, clippy::all)]
fn lstm_cell_grad_with<__Scalar>(
    _: &mut ::autodiff::__private::Workspace,
    x: &Array2<f64>,
    h: &Array2<f64>,
    c: &Array2<f64>,
    w: &Array2<f64>,
    b: &Array1<f64>,
) -> ((Array2<f64>, Array2<f64>), LstmCellGrad)
where
    (Array2<f64>, Array2<f64>): ::autodiff::__private::ScalarOutput<__Scalar>,
{
    ::core::unreachable!()
}
///The vector-Jacobian product of [`lstm_cell`], which makes it a module that other `#[differentiable]` functions can call. It recomputes the forward pass (trading one forward pass for not storing intermediates).
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
fn lstm_cell_vjp(
    x: &Array2<f64>,
    h: &Array2<f64>,
    c: &Array2<f64>,
    w: &Array2<f64>,
    b: &Array1<f64>,
    __y: &(Array2<f64>, Array2<f64>),
    __gout: (::core::option::Option<Array2<f64>>, ::core::option::Option<Array2<f64>>),
    __need: [bool; 5],
) -> (
    ::core::option::Option<Array2<f64>>,
    ::core::option::Option<Array2<f64>>,
    ::core::option::Option<Array2<f64>>,
    ::core::option::Option<Array2<f64>>,
    ::core::option::Option<Array1<f64>>,
) {
    let _ = lstm_cell;
    #[allow(unused_imports)]
    use ::autodiff::__private::{AnomalyCheck as _, AnomalySkip as _};
    let __anomaly = ::autodiff::__private::anomaly_enabled();
    let n = h.ncols();
    let __v7_gates = linear(x, w, b);
    if __anomaly {
        (&::autodiff::__private::Probe(&__v7_gates)).check_forward("linear");
    }
    let __k0 = s![.., 0..n];
    let __v13 = ::autodiff::__private::slice(&__v7_gates, (&__k0).clone());
    if __anomaly {
        (&::autodiff::__private::Probe(&__v13)).check_forward("slice");
    }
    let __v8_i = sigmoid(&__v13);
    if __anomaly {
        (&::autodiff::__private::Probe(&__v8_i)).check_forward("sigmoid");
    }
    let __k1 = s![.., n..2 * n];
    let __v14 = ::autodiff::__private::slice(&__v7_gates, (&__k1).clone());
    if __anomaly {
        (&::autodiff::__private::Probe(&__v14)).check_forward("slice");
    }
    let __v9_f = sigmoid(&__v14);
    if __anomaly {
        (&::autodiff::__private::Probe(&__v9_f)).check_forward("sigmoid");
    }
    let __k2 = s![.., 2 * n..];
    let __v15 = ::autodiff::__private::slice(&__v7_gates, (&__k2).clone());
    if __anomaly {
        (&::autodiff::__private::Probe(&__v15)).check_forward("slice");
    }
    let __v10_g = tanh(&__v15);
    if __anomaly {
        (&::autodiff::__private::Probe(&__v10_g)).check_forward("tanh");
    }
    let __v16 = ::autodiff::__private::mul(&__v9_f, c);
    if __anomaly {
        (&::autodiff::__private::Probe(&__v16)).check_forward("mul");
    }
    let __v17 = ::autodiff::__private::mul(&__v8_i, &__v10_g);
    if __anomaly {
        (&::autodiff::__private::Probe(&__v17)).check_forward("mul");
    }
    let __v11_c = ::autodiff::__private::add(&__v16, &__v17);
    if __anomaly {
        (&::autodiff::__private::Probe(&__v11_c)).check_forward("add");
    }
    let __v12_h = tanh(&__v11_c);
    if __anomaly {
        (&::autodiff::__private::Probe(&__v12_h)).check_forward("tanh");
    }
    let __v5 = __y;
    let __g5 = ::core::option::Option::Some(__gout);
    let (__c12_0, __c12_1) = match __g5 {
        ::core::option::Option::Some(__g) => {
            ::autodiff::__private::tuple2_vjp(
                &__v12_h,
                &__v11_c,
                &__v5,
                __g,
                [
                    (__need[0] || __need[2] || __need[3] || __need[4]),
                    (__need[0] || __need[2] || __need[3] || __need[4]),
                ],
            )
        }
        ::core::option::Option::None => {
            (::core::option::Option::None, ::core::option::Option::None)
        }
    };
    if __anomaly {
        (&::autodiff::__private::Probe(&__c12_0)).check_gradient("tuple2", 0);
    }
    if __anomaly {
        (&::autodiff::__private::Probe(&__c12_1)).check_gradient("tuple2", 1);
    }
    let __g12_h = ::autodiff::__private::gradient(__c12_0);
    let __g11_c = ::autodiff::__private::gradient(__c12_1);
    let (__c11_0,) = match __g12_h {
        ::core::option::Option::Some(__g) => {
            tanh_vjp(
                &__v11_c,
                &__v12_h,
                __g,
                [(__need[0] || __need[2] || __need[3] || __need[4])],
            )
        }
        ::core::option::Option::None => (::core::option::Option::None,),
    };
    if __anomaly {
        (&::autodiff::__private::Probe(&__c11_0)).check_gradient("tanh", 0);
    }
    let __g11_c = ::autodiff::__private::accumulate(
        __g11_c,
        ::autodiff::__private::gradient(__c11_0),
    );
    ::autodiff::__private::recycle!(__v12_h);
    let (__c10_0, __c10_1) = match __g11_c {
        ::core::option::Option::Some(__g) => {
            ::autodiff::__private::add_vjp(
                &__v16,
                &__v17,
                &__v11_c,
                __g,
                [
                    (__need[0] || __need[2] || __need[3] || __need[4]),
                    (__need[0] || __need[3] || __need[4]),
                ],
            )
        }
        ::core::option::Option::None => {
            (::core::option::Option::None, ::core::option::Option::None)
        }
    };
    if __anomaly {
        (&::autodiff::__private::Probe(&__c10_0)).check_gradient("add", 0);
    }
    if __anomaly {
        (&::autodiff::__private::Probe(&__c10_1)).check_gradient("add", 1);
    }
    let __g16 = ::autodiff::__private::gradient(__c10_0);
    let __g17 = ::autodiff::__private::gradient(__c10_1);
    ::autodiff::__private::recycle!(__v11_c);
    let (__c9_0, __c9_1) = match __g17 {
        ::core::option::Option::Some(__g) => {
            ::autodiff::__private::mul_vjp(
                &__v8_i,
                &__v10_g,
                &__v17,
                __g,
                [
                    (__need[0] || __need[3] || __need[4]),
                    (__need[0] || __need[3] || __need[4]),
                ],
            )
        }
        ::core::option::Option::None => {
            (::core::option::Option::None, ::core::option::Option::None)
        }
    };
    if __anomaly {
        (&::autodiff::__private::Probe(&__c9_0)).check_gradient("mul", 0);
    }
    if __anomaly {
        (&::autodiff::__private::Probe(&__c9_1)).check_gradient("mul", 1);
    }
    let __g8_i = ::autodiff::__private::gradient(__c9_0);
    let __g10_g = ::autodiff::__private::gradient(__c9_1);
    ::autodiff::__private::recycle!(__v17);
    let (__c8_0, __c8_1) = match __g16 {
        ::core::option::Option::Some(__g) => {
            ::autodiff::__private::mul_vjp(
                &__v9_f,
                c,
                &__v16,
                __g,
                [(__need[0] || __need[3] || __need[4]), (__need[2])],
            )
        }
        ::core::option::Option::None => {
            (::core::option::Option::None, ::core::option::Option::None)
        }
    };
    if __anomaly {
        (&::autodiff::__private::Probe(&__c8_0)).check_gradient("mul", 0);
    }
    if __anomaly {
        (&::autodiff::__private::Probe(&__c8_1)).check_gradient("mul", 1);
    }
    let __g9_f = ::autodiff::__private::gradient(__c8_0);
    let __g2_c = ::autodiff::__private::gradient(__c8_1);
    ::autodiff::__private::recycle!(__v16);
    let (__c7_0,) = match __g10_g {
        ::core::option::Option::Some(__g) => {
            tanh_vjp(&__v15, &__v10_g, __g, [(__need[0] || __need[3] || __need[4])])
        }
        ::core::option::Option::None => (::core::option::Option::None,),
    };
    if __anomaly {
        (&::autodiff::__private::Probe(&__c7_0)).check_gradient("tanh", 0);
    }
    let __g15 = ::autodiff::__private::gradient(__c7_0);
    ::autodiff::__private::recycle!(__v10_g);
    let (__c6_0, _) = match __g15 {
        ::core::option::Option::Some(__g) => {
            ::autodiff::__private::slice_vjp(
                &__v7_gates,
                __k2,
                &__v15,
                __g,
                [(__need[0] || __need[3] || __need[4]), false],
            )
        }
        ::core::option::Option::None => {
            (::core::option::Option::None, ::core::option::Option::None)
        }
    };
    if __anomaly {
        (&::autodiff::__private::Probe(&__c6_0)).check_gradient("slice", 0);
    }
    let __g7_gates = ::autodiff::__private::gradient(__c6_0);
    ::autodiff::__private::recycle!(__v15);
    let (__c5_0,) = match __g9_f {
        ::core::option::Option::Some(__g) => {
            sigmoid_vjp(&__v14, &__v9_f, __g, [(__need[0] || __need[3] || __need[4])])
        }
        ::core::option::Option::None => (::core::option::Option::None,),
    };
    if __anomaly {
        (&::autodiff::__private::Probe(&__c5_0)).check_gradient("sigmoid", 0);
    }
    let __g14 = ::autodiff::__private::gradient(__c5_0);
    ::autodiff::__private::recycle!(__v9_f);
    let (__c4_0, _) = match __g14 {
        ::core::option::Option::Some(__g) => {
            ::autodiff::__private::slice_vjp(
                &__v7_gates,
                __k1,
                &__v14,
                __g,
                [(__need[0] || __need[3] || __need[4]), false],
            )
        }
        ::core::option::Option::None => {
            (::core::option::Option::None, ::core::option::Option::None)
        }
    };
    if __anomaly {
        (&::autodiff::__private::Probe(&__c4_0)).check_gradient("slice", 0);
    }
    let __g7_gates = ::autodiff::__private::accumulate(
        __g7_gates,
        ::autodiff::__private::gradient(__c4_0),
    );
    ::autodiff::__private::recycle!(__v14);
    let (__c3_0,) = match __g8_i {
        ::core::option::Option::Some(__g) => {
            sigmoid_vjp(&__v13, &__v8_i, __g, [(__need[0] || __need[3] || __need[4])])
        }
        ::core::option::Option::None => (::core::option::Option::None,),
    };
    if __anomaly {
        (&::autodiff::__private::Probe(&__c3_0)).check_gradient("sigmoid", 0);
    }
    let __g13 = ::autodiff::__private::gradient(__c3_0);
    ::autodiff::__private::recycle!(__v8_i);
    let (__c2_0, _) = match __g13 {
        ::core::option::Option::Some(__g) => {
            ::autodiff::__private::slice_vjp(
                &__v7_gates,
                __k0,
                &__v13,
                __g,
                [(__need[0] || __need[3] || __need[4]), false],
            )
        }
        ::core::option::Option::None => {
            (::core::option::Option::None, ::core::option::Option::None)
        }
    };
    if __anomaly {
        (&::autodiff::__private::Probe(&__c2_0)).check_gradient("slice", 0);
    }
    let __g7_gates = ::autodiff::__private::accumulate(
        __g7_gates,
        ::autodiff::__private::gradient(__c2_0),
    );
    ::autodiff::__private::recycle!(__v13);
    let (__c1_0, __c1_1, __c1_2) = match __g7_gates {
        ::core::option::Option::Some(__g) => {
            linear_vjp(
                x,
                w,
                b,
                &__v7_gates,
                __g,
                [(__need[0]), (__need[3]), (__need[4])],
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
        (&::autodiff::__private::Probe(&__c1_0)).check_gradient("linear", 0);
    }
    if __anomaly {
        (&::autodiff::__private::Probe(&__c1_1)).check_gradient("linear", 1);
    }
    if __anomaly {
        (&::autodiff::__private::Probe(&__c1_2)).check_gradient("linear", 2);
    }
    let __g0_x = ::autodiff::__private::gradient(__c1_0);
    let __g3_w = ::autodiff::__private::gradient(__c1_1);
    let __g4_b = ::autodiff::__private::gradient(__c1_2);
    ::autodiff::__private::recycle!(__v7_gates);
    (__g0_x, ::core::option::Option::None, __g2_c, __g3_w, __g4_b)
}
#[doc(hidden)]
#[allow(dead_code, unused_variables, clippy::all)]
fn lstm_cell_tangent<__Tangents: ::autodiff::__private::DeclaredWithHvp>(
    x: &Array2<f64>,
    h: &Array2<f64>,
    c: &Array2<f64>,
    w: &Array2<f64>,
    b: &Array1<f64>,
    _: &(Array2<f64>, Array2<f64>),
    _: __Tangents,
) -> ::core::option::Option<(Array2<f64>, Array2<f64>)> {
    ::core::unreachable!("declared without `hvp`")
}
#[doc(hidden)]
#[allow(dead_code, unused_variables, clippy::all)]
fn lstm_cell_vjp_tangent<__Tangents: ::autodiff::__private::DeclaredWithHvp>(
    x: &Array2<f64>,
    h: &Array2<f64>,
    c: &Array2<f64>,
    w: &Array2<f64>,
    b: &Array1<f64>,
    _: __Tangents,
    _: &(Array2<f64>, Array2<f64>),
    _: ::core::option::Option<&(Array2<f64>, Array2<f64>)>,
    _: (::core::option::Option<Array2<f64>>, ::core::option::Option<Array2<f64>>),
    _: ::core::option::Option<
        (::core::option::Option<Array2<f64>>, ::core::option::Option<Array2<f64>>),
    >,
    _: [bool; 5],
) -> (
    (
        ::core::option::Option<Array2<f64>>,
        ::core::option::Option<Array2<f64>>,
        ::core::option::Option<Array2<f64>>,
        ::core::option::Option<Array2<f64>>,
        ::core::option::Option<Array1<f64>>,
    ),
    (
        ::core::option::Option<Array2<f64>>,
        ::core::option::Option<Array2<f64>>,
        ::core::option::Option<Array2<f64>>,
        ::core::option::Option<Array2<f64>>,
        ::core::option::Option<Array1<f64>>,
    ),
) {
    ::core::unreachable!("declared without `hvp`")
}
