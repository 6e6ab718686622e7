//! The values of the generated code: the stacks of loops, the values of
//! variables assigned more than once, and the end of each value's life.

/// A value at its last use, handed to `recycle!`.
pub struct Dead<T>(pub core::cell::Cell<Option<T>>);

/// Arrays go back to the active workspace (`recycle!` picks this first).
pub trait RecycleArray {
    /// Gives the buffer back.
    fn recycle(&self);
}

impl<F: crate::float::Float, D: ndarray::Dimension> RecycleArray for Dead<ndarray::Array<F, D>> {
    fn recycle(&self) {
        if let Some(array) = self.0.take() {
            crate::workspace::recycle_array(array);
        }
    }
}

/// The parts of a `split`: each buffer goes back.
impl<F: crate::float::Float, D: ndarray::Dimension, const N: usize> RecycleArray for Dead<[ndarray::Array<F, D>; N]> {
    fn recycle(&self) {
        if let Some(parts) = self.0.take() {
            parts.into_iter().for_each(crate::workspace::recycle_array);
        }
    }
}

/// A slot of a `split`'s parts, or of their tangents (`None`: zero).
impl<F: crate::float::Float, D: ndarray::Dimension, const N: usize> RecycleArray
    for Dead<Option<[ndarray::Array<F, D>; N]>>
{
    fn recycle(&self) {
        if let Some(Some(parts)) = self.0.take() {
            parts.into_iter().for_each(crate::workspace::recycle_array);
        }
    }
}

/// The outputs of a function with several (`duplicate`, an LSTM cell's
/// `(h, c)`), and a slot of them: each array's buffer goes back.
macro_rules! recycle_outputs {
    ($(($($t:ident),+)),+) => {$(
        impl<$($t: crate::workspace::Recycle),+> RecycleArray for Dead<($($t,)+)> {
            fn recycle(&self) {
                if let Some(outputs) = self.0.take() {
                    crate::workspace::recycle_value(outputs);
                }
            }
        }

        impl<$($t: crate::workspace::Recycle),+> RecycleArray for Dead<Option<($($t,)+)>> {
            fn recycle(&self) {
                if let Some(Some(outputs)) = self.0.take() {
                    crate::workspace::recycle_value(outputs);
                }
            }
        }
    )+};
}
recycle_outputs!((A, B), (A, B, C), (A, B, C, D));

/// Any other value is dropped (chosen by autoref when `RecycleArray` does not apply).
pub trait RecycleAny {
    /// Drops the value.
    fn recycle(&self);
}

impl<T> RecycleAny for &Dead<T> {
    fn recycle(&self) {
        drop(self.0.take());
    }
}

/// Ends a value's life in generated code: an array's buffer returns to the
/// active workspace, anything else is dropped. (Autoref dispatch: the generated
/// code is monomorphic, so the array case is found first when it applies.)
#[doc(hidden)]
#[macro_export]
macro_rules! __autodiff_recycle {
    ($value:expr) => {{
        #[allow(unused_imports)]
        use $crate::private::{RecycleAny as _, RecycleArray as _};
        (&$crate::private::Dead(::core::cell::Cell::new(::core::option::Option::Some($value)))).recycle();
    }};
}
pub use crate::__autodiff_recycle as recycle;

/// A last-in-first-out store of one kind of value, kept across the loops of a
/// generated gradient: the forward pass pushes what the backward pass will
/// read (a value about to be overwritten, a branch taken, a loop iteration's
/// end), and the backward pass pops it in reverse order. Inside
/// [`Workspace::run`](crate::workspace::Workspace::run) its buffer comes from, and returns to, the workspace.
pub struct Stack<T> {
    items: Vec<T>,
}

impl<T> Stack<T> {
    /// An empty stack (a kept buffer inside a workspace).
    #[inline]
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Stack {
            items: crate::workspace::take_vec(),
        }
    }

    /// Stores `value` on top.
    #[inline]
    pub fn push(&mut self, value: T) {
        self.items.push(value);
    }

    /// Takes the value on top. The generated backward pass pops exactly what
    /// its forward pass pushed, so an empty stack is a bug of the macro.
    #[inline]
    pub fn pop(&mut self) -> T {
        match self.items.pop() {
            Some(value) => value,
            None => panic!("internal error of #[differentiable]: the backward pass read past its stored values"),
        }
    }
}

impl<T> Drop for Stack<T> {
    fn drop(&mut self) {
        crate::workspace::recycle_vec(std::mem::take(&mut self.items));
    }
}

/// A slot of the generated code (see [`live`]).
pub trait Slotted {
    /// The value the slot holds.
    type Value;
    /// The value, if computed.
    fn get(&self) -> Option<&Self::Value>;
}

impl<T> Slotted for Option<T> {
    type Value = T;
    #[inline(always)]
    fn get(&self) -> Option<&T> {
        self.as_ref()
    }
}

/// The value in a slot of the generated code: a variable assigned in a loop or
/// branch, which always holds a value where it is read. (The value's type
/// comes from the slot through a trait, so that a module taking
/// `&ArrayRef2<F>` sees `&Array2<F>` and coerces it, instead of asking the
/// slot to hold an `ArrayRef2`.)
#[inline(always)]
pub fn live<S: Slotted>(slot: &S) -> &S::Value {
    match slot.get() {
        Some(value) => value,
        None => panic!("internal error of #[differentiable]: a value was read before it was computed"),
    }
}

/// Assigns `value` to `slot`, saving the old value for the backward pass.
#[inline(always)]
pub fn save<T>(slot: &mut Option<T>, stack: &mut Stack<Option<T>>, value: T) {
    stack.push(slot.replace(value));
}

/// Undoes a [`save`]: returns the slot's value and puts the saved one back.
#[inline(always)]
pub fn restore<T>(slot: &mut Option<T>, stack: &mut Stack<Option<T>>) -> Option<T> {
    std::mem::replace(slot, stack.pop())
}

/// Assigns `value` to `slot` when the old value is not needed again.
#[inline(always)]
pub fn set<T>(slot: &mut Option<T>, value: T) -> Option<T> {
    slot.replace(value)
}

impl<F: crate::float::Float, D: ndarray::Dimension> RecycleArray for Dead<Option<ndarray::Array<F, D>>> {
    fn recycle(&self) {
        if let Some(Some(array)) = self.0.take() {
            crate::workspace::recycle_array(array);
        }
    }
}

/// A slot of tangents (`hvp`): each holds an `Option`, `None` for a zero one.
impl<F: crate::float::Float, D: ndarray::Dimension> RecycleArray for Dead<Option<Option<ndarray::Array<F, D>>>> {
    fn recycle(&self) {
        if let Some(Some(Some(array))) = self.0.take() {
            crate::workspace::recycle_array(array);
        }
    }
}

/// What a printing macro or an assertion in a differentiable function sees
/// under an active value's name: a float by value (so `assert!(loss > 0.0)`
/// compiles), an array by reference.
pub trait Read {
    /// The value as the macro sees it.
    type Seen<'a>
    where
        Self: 'a;
    /// Reads it.
    fn read(&self) -> Self::Seen<'_>;
}

impl<F: crate::float::Float> Read for F {
    type Seen<'a> = F;
    fn read(&self) -> F {
        *self
    }
}

impl<S: ndarray::RawData, D> Read for ndarray::ArrayBase<S, D> {
    type Seen<'a>
        = &'a Self
    where
        Self: 'a;
    fn read(&self) -> &Self {
        self
    }
}

/// See [`Read`].
#[inline(always)]
pub fn read<T: Read + ?Sized>(value: &T) -> T::Seen<'_> {
    value.read()
}

#[cfg(test)]
mod tests {
    use ndarray::Array2;

    use crate::workspace::Workspace;

    /// `recycle!` on the outputs of a function with several (a tuple, or a
    /// slot holding one) returns each array's buffer to the workspace; a
    /// scalar output is dropped; anything else is dropped without error.
    #[test]
    fn tuples_of_outputs_give_their_arrays_back() {
        let mut ws = Workspace::new();
        ws.run(|| {
            crate::private::recycle!((Array2::<f32>::zeros((2, 3)), Array2::<f32>::zeros((4, 1))));
            crate::private::recycle!(Some((
                Array2::<f64>::zeros((2, 2)),
                1.5_f64,
                ndarray::Array1::<f64>::zeros(3)
            )));
            crate::private::recycle!(None::<(Array2<f32>, Array2<f32>)>);
            crate::private::recycle!((String::from("not an array"), 3_u8));
        });
        assert_eq!(ws.free_buffers(), 4);
    }
}
