//! `embedding(ids, table)`: rows of a table picked by constant ids, as
//! PyTorch's `F.embedding`. The gradient adds each upstream row into the
//! table row it came from (ids that repeat add up).

use std::borrow::Cow;

use ndarray::{Array, Array2, ArrayBase, ArrayRef2, Data, Dimension, Ix2, RemoveAxis};

use crate::float::Float;
use crate::workspace::{recycle_array, take_scratch, zeros};

/// What `embedding` takes as ids: a slice or `Vec` (giving `[ids, dim]`), or
/// an array of any rank, such as `[batch, time]` token ids (giving
/// `[batch, time, dim]`).
pub trait Ids {
    /// The rank of the result: one axis more than the ids'.
    type Out: Dimension;
    /// The ids in row-major order.
    fn flat(&self) -> Cow<'_, [usize]>;
    /// The result's shape for rows of `dim` values.
    fn shape_with(&self, dim: usize) -> Self::Out;
}

impl Ids for [usize] {
    type Out = Ix2;
    fn flat(&self) -> Cow<'_, [usize]> {
        Cow::Borrowed(self)
    }
    fn shape_with(&self, dim: usize) -> Ix2 {
        Ix2(self.len(), dim)
    }
}

impl<const N: usize> Ids for [usize; N] {
    type Out = Ix2;
    fn flat(&self) -> Cow<'_, [usize]> {
        Cow::Borrowed(self)
    }
    fn shape_with(&self, dim: usize) -> Ix2 {
        Ix2(N, dim)
    }
}

impl Ids for Vec<usize> {
    type Out = Ix2;
    fn flat(&self) -> Cow<'_, [usize]> {
        Cow::Borrowed(self)
    }
    fn shape_with(&self, dim: usize) -> Ix2 {
        Ix2(self.len(), dim)
    }
}

impl<S: Data<Elem = usize>, D: Dimension> Ids for ArrayBase<S, D>
where
    D::Larger: RemoveAxis,
{
    type Out = D::Larger;
    fn flat(&self) -> Cow<'_, [usize]> {
        match self.as_slice() {
            Some(ids) => Cow::Borrowed(ids),
            None => Cow::Owned(self.iter().copied().collect()),
        }
    }
    fn shape_with(&self, dim: usize) -> D::Larger {
        let mut shape = D::Larger::zeros(self.ndim() + 1);
        shape.slice_mut()[..self.ndim()].copy_from_slice(self.shape());
        shape.slice_mut()[self.ndim()] = dim;
        shape
    }
}

fn check_ids<F>(ids: &[usize], table: &ArrayRef2<F>) {
    if let Some((position, id)) = ids.iter().enumerate().find(|(_, id)| **id >= table.nrows()) {
        panic!(
            "embedding: id {id} at position {position} is out of range for a table of shape {:?} ({} rows)",
            table.shape(),
            table.nrows()
        );
    }
}

crate::module! {
    /// Row `ids[i]` of `table` `[vocab, dim]` as row `i` of the result
    /// `[ids.len(), dim]`.
    ///
    /// # Panics
    /// If an id is not a row of the table, naming the id and its position.
    pub fn embedding<F: Float, I: Ids + ?Sized>(ids: &I, table: &ArrayRef2<F>) -> Array<F, I::Out> {
        let flat = ids.flat();
        check_ids(&flat, table);
        let mut y: Array2<F> = take_scratch((flat.len(), table.ncols()));
        for (mut row, &id) in y.rows_mut().into_iter().zip(flat.iter()) {
            row.assign(&table.row(id));
        }
        y.into_shape_with_order(ids.shape_with(table.ncols())).expect("ids × dim values")
    }

    backward(y, g, need) {
        let flat = ids.flat();
        check_ids(&flat, table);
        crate::value::check_shape("embedding", "output", ids.shape_with(table.ncols()).slice(), g.shape());
        let g = crate::elementwise::standard(g);
        grad table = {
            let mut gt: Array2<F> = zeros(table.raw_dim());
            let rows = g.as_slice().expect("standard layout").chunks_exact(table.ncols().max(1));
            for (row, &id) in rows.zip(flat.iter()) {
                let mut target = gt.row_mut(id);
                target.iter_mut().zip(row).for_each(|(t, &v)| *t += v);
            }
            gt
        };
        recycle_array(g);
    }

    tangent linear;

    gradcheck {
        ids: vec![0, 2, 2, 1], table: random([4, 3]);
        ids: vec![5], table: random([6, 2]);
        ids: Vec::new(), table: random([3, 2]);
        ids: ndarray::array![[0, 3], [3, 1]], table: random([4, 2]);
    }
}

#[cfg(test)]
mod tests {
    use ndarray::array;

    use super::*;

    #[test]
    fn repeated_ids_add_their_gradients() {
        let table = array![[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]];
        let y = embedding(&[2, 0, 2], &table);
        assert_eq!(y, array![[5.0, 6.0], [1.0, 2.0], [5.0, 6.0]]);
        let (_, gt) = embedding_vjp(
            &[2, 0, 2],
            &table,
            &y,
            array![[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]],
            [false, true],
        );
        assert_eq!(gt.unwrap(), array![[2.0, 2.0], [0.0, 0.0], [4.0, 4.0]]);
    }

    #[test]
    #[should_panic(expected = "embedding: id 3 at position 1 is out of range for a table of shape [3, 2] (3 rows)")]
    fn an_id_out_of_range_is_an_error() {
        embedding(&[0, 3], &Array2::<f64>::zeros((3, 2)));
    }
}
