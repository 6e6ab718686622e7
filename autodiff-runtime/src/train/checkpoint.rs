//! Saving and loading a model's tensors as a safetensors file (the format of
//! Hugging Face: a JSON header of names, dtypes and shapes, then the raw data).
//! Loading checks that the file holds exactly the model's tensors with the same
//! shapes and element type; a corrupt or mismatched file is an error, never a
//! panic.

use std::any::{Any, TypeId};
use std::fmt;
use std::path::{Path, PathBuf};

use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use crate::float::Float;
use crate::params::Params;

/// Why a checkpoint could not be saved or loaded.
#[derive(Debug)]
pub enum CheckpointError {
    /// Reading or writing the file failed.
    Io(PathBuf, std::io::Error),
    /// The file is not a valid safetensors file.
    Corrupt(PathBuf, String),
    /// The model has a tensor the file lacks.
    Missing(String),
    /// The file has a tensor the model lacks.
    Unexpected(String),
    /// A tensor's shape differs.
    Shape {
        /// The tensor.
        name: String,
        /// The model's shape.
        expected: Vec<usize>,
        /// The file's shape.
        found: Vec<usize>,
    },
    /// A tensor's element type differs.
    Dtype {
        /// The tensor.
        name: String,
        /// The model's element type.
        expected: &'static str,
        /// The file's element type.
        found: String,
    },
}

impl fmt::Display for CheckpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckpointError::Io(path, e) => write!(f, "{}: {e}", path.display()),
            CheckpointError::Corrupt(path, e) => write!(f, "{}: not a valid safetensors file: {e}", path.display()),
            CheckpointError::Missing(name) => write!(f, "the checkpoint has no tensor `{name}`"),
            CheckpointError::Unexpected(name) => write!(f, "the checkpoint has a tensor `{name}` the model does not"),
            CheckpointError::Shape { name, expected, found } => {
                write!(
                    f,
                    "tensor `{name}` has shape {found:?} in the checkpoint, {expected:?} in the model"
                )
            }
            CheckpointError::Dtype { name, expected, found } => {
                write!(
                    f,
                    "tensor `{name}` is {found} in the checkpoint, {expected} in the model"
                )
            }
        }
    }
}

impl std::error::Error for CheckpointError {}

// How values of each float type are stored: their safetensors type and
// little-endian bytes, told apart by the value's type.
fn dtype_of<F: Float>() -> Dtype {
    if TypeId::of::<F>() == TypeId::of::<f32>() {
        Dtype::F32
    } else {
        Dtype::F64
    }
}

fn dtype_name<F: Float>() -> &'static str {
    if dtype_of::<F>() == Dtype::F32 { "F32" } else { "F64" }
}

fn write_le<F: Float>(x: &F, out: &mut Vec<u8>) {
    let x: &dyn Any = x;
    match (x.downcast_ref::<f32>(), x.downcast_ref::<f64>()) {
        (Some(x), _) => out.extend_from_slice(&x.to_le_bytes()),
        (_, Some(x)) => out.extend_from_slice(&x.to_le_bytes()),
        _ => unreachable!("`Float` is implemented for f32 and f64 only"),
    }
}

fn read_le<F: Float>(bytes: &[u8], x: &mut F) {
    let x: &mut dyn Any = x;
    if let Some(x) = x.downcast_mut::<f32>() {
        *x = f32::from_le_bytes(bytes.try_into().expect("4 bytes"));
    } else if let Some(x) = x.downcast_mut::<f64>() {
        *x = f64::from_le_bytes(bytes.try_into().expect("8 bytes"));
    }
}

/// Writes every tensor of `params` to `path`: to a sibling file first, then
/// renamed over `path`, so a crash or a full disk never leaves a cut-short
/// checkpoint where a good one was.
pub fn save<P: Params>(params: &P, path: impl AsRef<Path>) -> Result<(), CheckpointError> {
    let path = path.as_ref();
    let mut tensors: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    params.visit(&mut |name, view| {
        let mut bytes = Vec::with_capacity(view.len() * std::mem::size_of::<P::Elem>());
        for x in view.iter() {
            write_le(x, &mut bytes);
        }
        tensors.push((name.to_string(), view.shape().to_vec(), bytes));
    });
    let mut views = Vec::with_capacity(tensors.len());
    for (name, shape, bytes) in &tensors {
        let view = TensorView::new(dtype_of::<P::Elem>(), shape.clone(), bytes)
            .map_err(|e| CheckpointError::Corrupt(path.to_path_buf(), e.to_string()))?;
        views.push((name.clone(), view));
    }
    let bytes =
        safetensors::serialize(views, None).map_err(|e| CheckpointError::Corrupt(path.to_path_buf(), e.to_string()))?;
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = std::path::PathBuf::from(partial);
    let written = std::fs::write(&partial, bytes).and_then(|()| std::fs::rename(&partial, path));
    if written.is_err() {
        std::fs::remove_file(&partial).ok();
    }
    written.map_err(|e| CheckpointError::Io(path.to_path_buf(), e))
}

/// Reads `path` into `params`, whose tensors must match the file's exactly.
/// On error, `params` is left unchanged.
pub fn load<P: Params>(params: &mut P, path: impl AsRef<Path>) -> Result<(), CheckpointError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| CheckpointError::Io(path.to_path_buf(), e))?;
    let file =
        SafeTensors::deserialize(&bytes).map_err(|e| CheckpointError::Corrupt(path.to_path_buf(), e.to_string()))?;
    // Check everything before writing anything.
    let mut wanted = Vec::new();
    params.visit(&mut |name, view| wanted.push((name.to_string(), view.shape().to_vec())));
    for (name, shape) in &wanted {
        let tensor = file.tensor(name).map_err(|_| CheckpointError::Missing(name.clone()))?;
        if tensor.dtype() != dtype_of::<P::Elem>() {
            return Err(CheckpointError::Dtype {
                name: name.clone(),
                expected: dtype_name::<P::Elem>(),
                found: format!("{:?}", tensor.dtype()),
            });
        }
        if tensor.shape() != shape.as_slice() {
            return Err(CheckpointError::Shape {
                name: name.clone(),
                expected: shape.clone(),
                found: tensor.shape().to_vec(),
            });
        }
    }
    if let Some(extra) = file.names().into_iter().find(|n| !wanted.iter().any(|(w, _)| w == *n)) {
        return Err(CheckpointError::Unexpected(extra.to_string()));
    }
    let size = std::mem::size_of::<P::Elem>();
    params.visit_mut(&mut |name, mut view| {
        let tensor = file.tensor(name).expect("checked above");
        for (x, chunk) in view.iter_mut().zip(tensor.data().chunks_exact(size)) {
            read_le(chunk, x);
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array1, Array2, ArrayViewD, ArrayViewMutD};

    #[derive(Debug, Clone, PartialEq)]
    struct Model<F: Float> {
        w: Array2<F>,
        b: Array1<F>,
    }

    impl<F: Float> Params for Model<F> {
        type Elem = F;
        fn visit_prefixed<'a>(&'a self, _: &str, f: &mut dyn FnMut(&str, ArrayViewD<'a, F>)) {
            f("w", self.w.view().into_dyn());
            f("b", self.b.view().into_dyn());
        }
        fn visit_prefixed_mut(&mut self, _: &str, f: &mut dyn FnMut(&str, ArrayViewMutD<'_, F>)) {
            f("w", self.w.view_mut().into_dyn());
            f("b", self.b.view_mut().into_dyn());
        }
    }

    fn temp(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("autodiff-{}-{name}", std::process::id()))
    }

    fn model(rows: usize) -> Model<f32> {
        Model {
            w: Array2::from_shape_fn((rows, 3), |(i, j)| (i * 3 + j) as f32 * 0.25 - 1.0),
            b: Array1::from_elem(rows, 0.5),
        }
    }

    #[test]
    fn round_trip() {
        let path = temp("round-trip.safetensors");
        let saved = model(2);
        save(&saved, &path).unwrap();
        let mut loaded = Model {
            w: Array2::zeros((2, 3)),
            b: Array1::zeros(2),
        };
        load(&mut loaded, &path).unwrap();
        assert_eq!(loaded, saved);
        std::fs::remove_file(path).ok();
    }

    #[test]
    fn a_failed_save_leaves_the_old_checkpoint() {
        let path = temp("kept.safetensors");
        save(&model(2), &path).unwrap();
        let before = std::fs::read(&path).unwrap();
        // The sibling file cannot be created: a directory is in its place.
        let mut partial = path.clone().into_os_string();
        partial.push(".partial");
        std::fs::create_dir(&partial).unwrap();
        assert!(matches!(save(&model(4), &path).unwrap_err(), CheckpointError::Io(..)));
        assert_eq!(std::fs::read(&path).unwrap(), before);
        std::fs::remove_dir(&partial).ok();
        std::fs::remove_file(&path).ok();
    }

    #[test]
    fn mismatches_are_errors() {
        let path = temp("mismatch.safetensors");
        save(&model(2), &path).unwrap();
        let mut wrong_shape = model(4);
        let err = load(&mut wrong_shape, &path).unwrap_err();
        assert!(matches!(err, CheckpointError::Shape { .. }), "{err}");
        assert!(
            err.to_string()
                .contains("tensor `w` has shape [2, 3] in the checkpoint, [4, 3] in the model")
        );
        assert_eq!(wrong_shape, model(4), "unchanged on error");
        let mut wrong_type = Model::<f64> {
            w: Array2::zeros((2, 3)),
            b: Array1::zeros(2),
        };
        assert!(matches!(
            load(&mut wrong_type, &path).unwrap_err(),
            CheckpointError::Dtype { .. }
        ));
        std::fs::remove_file(path).ok();
    }

    #[test]
    fn corrupt_and_missing_files_are_errors() {
        let path = temp("corrupt.safetensors");
        std::fs::write(&path, b"\x10\x00\x00\x00\x00\x00\x00\x00{not json").unwrap();
        let err = load(&mut model(2), &path).unwrap_err();
        assert!(matches!(err, CheckpointError::Corrupt(..)), "{err}");
        // A valid file cut short.
        save(&model(2), &path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 5]).unwrap();
        assert!(matches!(
            load(&mut model(2), &path).unwrap_err(),
            CheckpointError::Corrupt(..)
        ));
        std::fs::remove_file(&path).ok();
        assert!(matches!(
            load(&mut model(2), &path).unwrap_err(),
            CheckpointError::Io(..)
        ));
    }
}
