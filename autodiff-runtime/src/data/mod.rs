//! Data sets: the bundled 8×8 digits, MNIST read from its IDX `.gz` files,
//! and character-level text ([`text`]).

mod digits;
mod mnist;
pub mod text;

use std::fmt;
use std::path::PathBuf;

use ndarray::Array2;
use rand::Rng;
use rand::seq::SliceRandom;

pub use digits::{digits, parse_digits_csv};
pub use mnist::{MNIST_DIR_VAR, Mnist, mnist, mnist_dir};

/// Images as rows of pixels, with their labels.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// `[samples, pixels]`.
    pub images: Array2<f32>,
    /// One label per row.
    pub labels: Vec<usize>,
}

impl Dataset {
    /// The number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when there are no samples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// A shuffled split into (train, test) with `test_fraction` of the samples held out.
    pub fn split(&self, test_fraction: f64, rng: &mut impl Rng) -> (Dataset, Dataset) {
        let mut order: Vec<usize> = (0..self.len()).collect();
        order.shuffle(rng);
        let n_test = ((self.len() as f64) * test_fraction).round() as usize;
        let (test, train) = order.split_at(n_test);
        (self.subset(train), self.subset(test))
    }

    /// The samples at `indices`.
    pub fn subset(&self, indices: &[usize]) -> Dataset {
        Dataset {
            images: self.images.select(ndarray::Axis(0), indices),
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
        }
    }
}

/// Why a data set could not be read.
#[derive(Debug)]
pub enum DataError {
    /// No directory was given, and the environment variable is unset.
    NoDirectory(String),
    /// A file is missing.
    Missing(PathBuf),
    /// Reading a file failed.
    Io(PathBuf, std::io::Error),
    /// An IDX file starts with the wrong magic number.
    BadMagic {
        /// The file.
        path: PathBuf,
        /// The magic number of its kind of file.
        expected: u32,
        /// What the file has.
        found: u32,
    },
    /// A file is shorter than its header says.
    Truncated {
        /// The file.
        path: PathBuf,
        /// Bytes the header announces.
        expected: usize,
        /// Bytes present.
        found: usize,
    },
    /// Images and labels disagree in number.
    CountMismatch {
        /// Number of images.
        images: usize,
        /// Number of labels.
        labels: usize,
    },
    /// A malformed line of a CSV file.
    Csv {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataError::NoDirectory(hint) => write!(f, "{hint}"),
            DataError::Missing(path) => write!(f, "{}: file not found", path.display()),
            DataError::Io(path, e) => write!(f, "{}: {e}", path.display()),
            DataError::BadMagic { path, expected, found } => {
                write!(
                    f,
                    "{}: not an IDX file of this kind (magic number {found}, expected {expected})",
                    path.display()
                )
            }
            DataError::Truncated { path, expected, found } => {
                write!(
                    f,
                    "{}: truncated: the header announces {expected} bytes, the file has {found}",
                    path.display()
                )
            }
            DataError::CountMismatch { images, labels } => {
                write!(f, "{images} images but {labels} labels")
            }
            DataError::Csv { line, message } => write!(f, "line {line}: {message}"),
        }
    }
}

impl std::error::Error for DataError {}
