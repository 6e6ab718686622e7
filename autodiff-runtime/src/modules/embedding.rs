//! `embedding(ids, table)`: rows of a table picked by constant ids, as
//! PyTorch's `F.embedding`. The gradient adds each upstream row into the
//! table row it came from (ids that repeat add up).

use ndarray::{Array2, ArrayRef2};

use crate::float::Float;
use crate::workspace::{recycle_array, take_scratch, zeros};

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
    pub fn embedding<F: Float>(ids: &[usize], table: &ArrayRef2<F>) -> Array2<F> {
        check_ids(ids, table);
        let mut y: Array2<F> = take_scratch((ids.len(), table.ncols()));
        for (mut row, &id) in y.rows_mut().into_iter().zip(ids) {
            row.assign(&table.row(id));
        }
        y
    }

    backward(y, g, need) {
        check_ids(ids, table);
        crate::value::check_shape("embedding", "output", &[ids.len(), table.ncols()], g.shape());
        grad table = {
            let mut gt: Array2<F> = zeros(table.raw_dim());
            for (row, &id) in g.rows().into_iter().zip(ids) {
                let mut target = gt.row_mut(id);
                target += &row;
            }
            gt
        };
        recycle_array(g);
    }

    gradcheck {
        ids: vec![0, 2, 2, 1], table: random([4, 3]);
        ids: vec![5], table: random([6, 2]);
        ids: Vec::new(), table: random([3, 2]);
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
