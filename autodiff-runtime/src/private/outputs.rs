//! The result of a function with several outputs, `(h, c)`, as a module:
//! the forward gathers the values into a tuple; the VJP hands each output's
//! upstream gradient (one `Option` per output) to the value it came from.
//! And `copy`, what `h.clone()` of an active value is.

use super::tangents::{ZeroTangent, tangent_or_zeros};
use crate::value::Input;

crate::module! {
    /// A copy of `x`, as `x.clone()` and `x.to_owned()`.
    pub fn copy<X: Input + ?Sized>(x: &X) -> X::Value {
        x.map_to_value(|v| v)
    }

    /// The gradient, unchanged.
    backward(y, g, need) {
        crate::value::check_input("copy", "input", x, &g);
        grad x: X::Value = g;
    }

    tangent linear;

    gradcheck {
        x: random([3, 4]);
        x: random([5]);
    }
}

macro_rules! tuple_module {
    ($name:ident, $vjp:ident, $n:literal; $($T:ident $a:ident $i:tt),+) => {
        /// The outputs gathered into a tuple (each cloned: the function's own
        /// values stay where they are until recycled).
        #[inline]
        pub fn $name<$($T: Clone),+>($($a: &$T),+) -> ($($T,)+) {
            ($($a.clone(),)+)
        }

        /// Each output's upstream gradient, to the value it came from. The
        /// outputs themselves are not read: a function's `_vjp` passes the
        /// `y` its caller gave it rather than gathering them again.
        #[inline]
        #[allow(clippy::too_many_arguments)]
        pub fn $vjp<$($T,)+ Y: ?Sized>(
            $(_: &$T,)+
            _: &Y,
            g: ($(Option<$T>,)+),
            need: [bool; $n],
        ) -> ($(Option<$T>,)+) {
            ($(g.$i.filter(|_| need[$i]),)+)
        }
    };
}

tuple_module!(tuple2, tuple2_vjp, 2; A a 0, B b 1);
tuple_module!(tuple3, tuple3_vjp, 3; A a 0, B b 1, C c 2);
tuple_module!(tuple4, tuple4_vjp, 4; A a 0, B b 1, C c 2, D d 3);

macro_rules! tuple_tangents {
    ($tangent:ident, $vjp_tangent:ident, $vjp:ident, $n:literal; $($T:ident $a:ident $i:tt),+) => {
        /// The outputs' tangents gathered into a tuple (zeros for a missing
        /// one), `None` when all are zero.
        #[inline]
        pub fn $tangent<$($T: ZeroTangent + Clone),+>($($a: &$T,)+ _: &($($T,)+), t: ($(Option<&$T>,)+)) -> Option<($($T,)+)> {
            if $(t.$i.is_none())&&+ {
                return None;
            }
            Some(($(tangent_or_zeros(t.$i, $a),)+))
        }

        /// The gradients as the VJP routes them, and their tangents the same way.
        #[inline]
        #[allow(clippy::too_many_arguments, clippy::type_complexity)]
        pub fn $vjp_tangent<$($T),+>(
            $($a: &$T,)+
            _: ($(Option<&$T>,)+),
            y: &($($T,)+),
            _: Option<&($($T,)+)>,
            g: ($(Option<$T>,)+),
            tg: Option<($(Option<$T>,)+)>,
            need: [bool; $n],
        ) -> (($(Option<$T>,)+), ($(Option<$T>,)+)) {
            let tangent = match tg {
                Some(tg) => $vjp($($a,)+ y, tg, need),
                None => ($(::core::option::Option::<$T>::None,)+),
            };
            ($vjp($($a,)+ y, g, need), tangent)
        }
    };
}

tuple_tangents!(tuple2_tangent, tuple2_vjp_tangent, tuple2_vjp, 2; A a 0, B b 1);
tuple_tangents!(tuple3_tangent, tuple3_vjp_tangent, tuple3_vjp, 3; A a 0, B b 1, C c 2);
tuple_tangents!(tuple4_tangent, tuple4_vjp_tangent, tuple4_vjp, 4; A a 0, B b 1, C c 2, D d 3);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gradients_go_to_their_outputs() {
        let y = tuple2(&1.0_f64, &2.0_f64);
        assert_eq!(y, (1.0, 2.0));
        assert_eq!(
            tuple2_vjp(&1.0, &2.0, &y, (Some(3.0), None), [true, true]),
            (Some(3.0), None)
        );
        assert_eq!(
            tuple2_vjp(&1.0, &2.0, &y, (Some(3.0), Some(4.0)), [false, true]),
            (None, Some(4.0))
        );
        let y = tuple3(&1.0_f32, &2.0, &3.0);
        assert_eq!(
            tuple3_vjp(&1.0, &2.0, &3.0, &y, (None, Some(5.0), Some(6.0)), [true; 3]),
            (None, Some(5.0), Some(6.0))
        );
    }
}
