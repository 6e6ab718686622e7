//! Character-level text for language models: a vocabulary of the text's
//! distinct characters (sorted, so ids follow character order, as nanoGPT's
//! `shakespeare_char`), encoding and decoding, the usual split, random
//! contiguous blocks for minibatches, and sampling the next character.

use std::fmt;

use ndarray::{Array2, ArrayView1};
use rand::Rng;

use crate::float::Float;

/// The distinct characters of a text, sorted: id `i` is the `i`-th.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vocabulary {
    chars: Vec<char>,
}

/// A character the vocabulary does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownChar {
    /// The character.
    pub found: char,
    /// Its position in the text encoded, in characters.
    pub position: usize,
}

impl fmt::Display for UnknownChar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "character {:?} at position {} is not in the vocabulary",
            self.found, self.position
        )
    }
}

impl std::error::Error for UnknownChar {}

impl Vocabulary {
    /// The sorted distinct characters of `text`.
    pub fn of(text: &str) -> Vocabulary {
        let mut chars: Vec<char> = text.chars().collect();
        chars.sort_unstable();
        chars.dedup();
        Vocabulary { chars }
    }

    /// The number of characters.
    pub fn len(&self) -> usize {
        self.chars.len()
    }

    /// True for the vocabulary of an empty text.
    pub fn is_empty(&self) -> bool {
        self.chars.is_empty()
    }

    /// The id of each character of `text`.
    pub fn encode(&self, text: &str) -> Result<Vec<usize>, UnknownChar> {
        text.chars()
            .enumerate()
            .map(|(position, c)| {
                self.chars
                    .binary_search(&c)
                    .map_err(|_| UnknownChar { found: c, position })
            })
            .collect()
    }

    /// The text of `ids`.
    ///
    /// # Panics
    /// If an id is not one of the vocabulary's, naming it.
    pub fn decode(&self, ids: &[usize]) -> String {
        ids.iter()
            .map(|&id| {
                *self
                    .chars
                    .get(id)
                    .unwrap_or_else(|| panic!("decode: id {id} is out of range for a vocabulary of {}", self.len()))
            })
            .collect()
    }
}

/// `n` random blocks of `context + 1` consecutive tokens of `tokens`, as
/// inputs `[n, context]` and targets `[n, context]` (each input shifted by
/// one): target `[i, t]` is the token after input `[i, t]`.
///
/// # Panics
/// If `tokens` is not longer than `context`.
pub fn blocks(tokens: &[usize], n: usize, context: usize, rng: &mut impl Rng) -> (Array2<usize>, Array2<usize>) {
    if tokens.len() <= context {
        panic!(
            "blocks: {} tokens hold no block of context {context} and its next token",
            tokens.len()
        );
    }
    let (mut x, mut y) = (Array2::zeros((n, context)), Array2::zeros((n, context)));
    for i in 0..n {
        let start = rng.random_range(0..tokens.len() - context);
        x.row_mut(i).assign(&ArrayView1::from(&tokens[start..start + context]));
        y.row_mut(i)
            .assign(&ArrayView1::from(&tokens[start + 1..start + context + 1]));
    }
    (x, y)
}

/// Every block of `context` tokens of `tokens` that has a next token for
/// each position, one after the other without overlap (the last one shorter
/// blocks are dropped): the whole validation split, for an exact loss.
pub fn all_blocks(tokens: &[usize], context: usize) -> (Array2<usize>, Array2<usize>) {
    let n = tokens.len().saturating_sub(1) / context.max(1);
    let x = Array2::from_shape_fn((n, context), |(i, t)| tokens[i * context + t]);
    let y = Array2::from_shape_fn((n, context), |(i, t)| tokens[i * context + t + 1]);
    (x, y)
}

/// A token drawn from `logits` (one row, the next token's scores): softmax
/// of `logits / temperature` over the `top_k` largest (all with `None`).
///
/// # Panics
/// If `temperature` is not positive or `logits` is empty.
pub fn sample<F: Float>(
    logits: ArrayView1<'_, F>,
    temperature: f64,
    top_k: Option<usize>,
    rng: &mut impl Rng,
) -> usize {
    if temperature.is_nan() || temperature <= 0.0 || logits.is_empty() {
        panic!(
            "sample: needs a positive temperature and some logits, got {temperature} and {} logits",
            logits.len()
        );
    }
    let mut scored: Vec<(usize, f64)> = logits
        .iter()
        .map(|v| v.to_f64_lossless() / temperature)
        .enumerate()
        .collect();
    if let Some(k) = top_k.filter(|&k| k > 0 && k < scored.len()) {
        scored.select_nth_unstable_by(k - 1, |a, b| b.1.total_cmp(&a.1));
        scored.truncate(k);
    }
    let m = scored.iter().fold(f64::NEG_INFINITY, |m, &(_, s)| m.max(s));
    let weights: Vec<f64> = scored.iter().map(|&(_, s)| (s - m).exp()).collect();
    let mut r = rng.random_range(0.0..weights.iter().sum::<f64>());
    for (&(id, _), w) in scored.iter().zip(&weights) {
        if r < *w {
            return id;
        }
        r -= w;
    }
    scored.last().map_or(0, |&(id, _)| id)
}

#[cfg(test)]
mod tests {
    use ndarray::arr1;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    #[test]
    fn encode_and_decode_round_trip_with_sorted_ids() {
        let v = Vocabulary::of("hello, world");
        assert_eq!(v.len(), 9);
        assert_eq!(v.encode(" ").unwrap(), vec![0]);
        let ids = v.encode("world").unwrap();
        assert_eq!(v.decode(&ids), "world");
        assert_eq!(
            v.encode("hex").unwrap_err().to_string(),
            "character 'x' at position 2 is not in the vocabulary"
        );
    }

    #[test]
    fn blocks_are_contiguous_and_targets_shifted() {
        let tokens: Vec<usize> = (0..100).collect();
        let (x, y) = blocks(&tokens, 8, 5, &mut StdRng::seed_from_u64(1));
        for (xr, yr) in x.rows().into_iter().zip(y.rows()) {
            for t in 0..5 {
                assert_eq!(yr[t], xr[t] + 1);
                if t > 0 {
                    assert_eq!(xr[t], xr[t - 1] + 1);
                }
            }
        }
        let (x, y) = all_blocks(&tokens, 7);
        assert_eq!((x.nrows(), x[[13, 6]], y[[13, 6]]), (14, 97, 98));
    }

    #[test]
    fn sampling_follows_temperature_and_top_k() {
        let logits = arr1(&[0.0_f64, 1.0, 5.0, 2.0]);
        let mut rng = StdRng::seed_from_u64(2);
        // Top 1 is the argmax.
        assert!((0..50).all(|_| sample(logits.view(), 1.0, Some(1), &mut rng) == 2));
        // Top 2 never draws outside the two largest.
        assert!((0..200).all(|_| matches!(sample(logits.view(), 1.0, Some(2), &mut rng), 2 | 3)));
        // A high temperature draws every id; a low one almost only the argmax.
        let hot: std::collections::BTreeSet<usize> =
            (0..400).map(|_| sample(logits.view(), 50.0, None, &mut rng)).collect();
        assert_eq!(hot.len(), 4);
        let cold = (0..200)
            .filter(|_| sample(logits.view(), 0.05, None, &mut rng) == 2)
            .count();
        assert_eq!(cold, 200);
    }
}
