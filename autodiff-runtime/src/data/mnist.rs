//! MNIST from the four standard IDX `.gz` files in a directory. The repository
//! does not ship MNIST: the directory comes from the command line or the
//! `AUTODIFF_MNIST_DIR` environment variable.
//!
//! IDX: big-endian u32 magic (2051 for images, 2049 for labels), one u32 per
//! dimension, then the data as bytes, row-major.

use std::io::Read;
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;
use ndarray::Array2;

use super::{DataError, Dataset};

/// The environment variable naming the MNIST directory.
pub const MNIST_DIR_VAR: &str = "AUTODIFF_MNIST_DIR";

const IMAGES_MAGIC: u32 = 2051;
const LABELS_MAGIC: u32 = 2049;

/// The training and test splits, pixels scaled to 0..1.
#[derive(Debug, Clone)]
pub struct Mnist {
    /// 60,000 images `[n, 784]` and labels.
    pub train: Dataset,
    /// 10,000 images `[n, 784]` and labels.
    pub test: Dataset,
}

/// The MNIST directory: the first argument if given, else `$AUTODIFF_MNIST_DIR`,
/// else an error that says how to provide it.
pub fn mnist_dir(arg: Option<String>) -> Result<PathBuf, DataError> {
    if let Some(dir) = arg {
        return Ok(PathBuf::from(dir));
    }
    match std::env::var_os(MNIST_DIR_VAR) {
        Some(dir) => Ok(PathBuf::from(dir)),
        None => Err(DataError::NoDirectory(format!(
            "no MNIST directory: pass it as the first argument or set {MNIST_DIR_VAR}; it must hold \
             train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and \
             t10k-labels-idx1-ubyte.gz (in this workspace: ../shared/data/mnist)"
        ))),
    }
}

/// Reads the four files of `dir`.
pub fn mnist(dir: impl AsRef<Path>) -> Result<Mnist, DataError> {
    let dir = dir.as_ref();
    let split = |images: &str, labels: &str| -> Result<Dataset, DataError> {
        let images = read_images(&dir.join(images))?;
        let labels = read_labels(&dir.join(labels))?;
        if images.nrows() != labels.len() {
            return Err(DataError::CountMismatch {
                images: images.nrows(),
                labels: labels.len(),
            });
        }
        Ok(Dataset { images, labels })
    };
    Ok(Mnist {
        train: split("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz")?,
        test: split("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")?,
    })
}

fn read_gz(path: &Path) -> Result<Vec<u8>, DataError> {
    let file = std::fs::File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => DataError::Missing(path.to_path_buf()),
        _ => DataError::Io(path.to_path_buf(), e),
    })?;
    let mut bytes = Vec::new();
    GzDecoder::new(file)
        .read_to_end(&mut bytes)
        .map_err(|e| DataError::Io(path.to_path_buf(), e))?;
    Ok(bytes)
}

/// Checks the magic number and reads `ndim` dimensions; returns them and the payload.
fn parse_idx<'a>(path: &Path, bytes: &'a [u8], magic: u32, ndim: usize) -> Result<(Vec<usize>, &'a [u8]), DataError> {
    let header = 4 * (1 + ndim);
    let truncated = |expected| DataError::Truncated {
        path: path.to_path_buf(),
        expected,
        found: bytes.len(),
    };
    let word = |i: usize| u32::from_be_bytes([bytes[4 * i], bytes[4 * i + 1], bytes[4 * i + 2], bytes[4 * i + 3]]);
    if bytes.len() < 4 {
        return Err(truncated(header));
    }
    if word(0) != magic {
        return Err(DataError::BadMagic {
            path: path.to_path_buf(),
            expected: magic,
            found: word(0),
        });
    }
    if bytes.len() < header {
        return Err(truncated(header));
    }
    let dims: Vec<usize> = (1..=ndim).map(|i| word(i) as usize).collect();
    let expected = header + dims.iter().product::<usize>();
    if bytes.len() < expected {
        return Err(truncated(expected));
    }
    Ok((dims, &bytes[header..expected]))
}

fn read_images(path: &Path) -> Result<Array2<f32>, DataError> {
    let bytes = read_gz(path)?;
    let (dims, data) = parse_idx(path, &bytes, IMAGES_MAGIC, 3)?;
    let pixels = dims[1] * dims[2];
    let scaled: Vec<f32> = data.iter().map(|&b| f32::from(b) / 255.0).collect();
    Ok(Array2::from_shape_vec((dims[0], pixels), scaled).expect("sizes checked"))
}

fn read_labels(path: &Path) -> Result<Vec<usize>, DataError> {
    let bytes = read_gz(path)?;
    let (_, data) = parse_idx(path, &bytes, LABELS_MAGIC, 1)?;
    Ok(data.iter().map(|&b| usize::from(b)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::GzEncoder;
    use std::io::Write;

    /// A fresh directory with a tiny MNIST-shaped data set: `n` 2×2 images.
    fn fixture(name: &str, images: &[u8], labels: &[u8]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("autodiff-mnist-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (prefix, img, lab) in [("train", images, labels), ("t10k", images, labels)] {
            write_gz(&dir.join(format!("{prefix}-images-idx3-ubyte.gz")), img);
            write_gz(&dir.join(format!("{prefix}-labels-idx1-ubyte.gz")), lab);
        }
        dir
    }

    fn write_gz(path: &Path, bytes: &[u8]) {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
        encoder.write_all(bytes).unwrap();
        std::fs::write(path, encoder.finish().unwrap()).unwrap();
    }

    fn idx(magic: u32, dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut out = magic.to_be_bytes().to_vec();
        dims.iter().for_each(|d| out.extend(d.to_be_bytes()));
        out.extend(data);
        out
    }

    #[test]
    fn reads_a_valid_directory() {
        let dir = fixture(
            "valid",
            &idx(2051, &[2, 2, 2], &[0, 255, 51, 0, 1, 2, 3, 4]),
            &idx(2049, &[2], &[7, 3]),
        );
        let m = mnist(&dir).unwrap();
        assert_eq!(m.train.images.dim(), (2, 4));
        assert_eq!(m.train.images[[0, 1]], 1.0);
        assert_eq!(m.train.images[[0, 2]], 0.2);
        assert_eq!(m.test.labels, vec![7, 3]);
    }

    #[test]
    fn missing_file() {
        let dir = std::env::temp_dir().join(format!("autodiff-mnist-{}-empty", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let err = mnist(&dir).unwrap_err();
        assert!(matches!(err, DataError::Missing(_)), "{err}");
        assert!(err.to_string().contains("train-images-idx3-ubyte.gz: file not found"));
    }

    #[test]
    fn bad_magic_number() {
        let dir = fixture("magic", &idx(2049, &[1, 1, 1], &[0]), &idx(2049, &[1], &[0]));
        let err = mnist(&dir).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::BadMagic {
                    expected: 2051,
                    found: 2049,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn truncated_file() {
        let dir = fixture(
            "truncated",
            &idx(2051, &[3, 2, 2], &[0; 10]),
            &idx(2049, &[3], &[0, 1, 2]),
        );
        let err = mnist(&dir).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::Truncated {
                    expected: 28,
                    found: 26,
                    ..
                }
            ),
            "{err}"
        );
        let dir = fixture("short-header", &[0, 0, 8], &idx(2049, &[1], &[0]));
        assert!(matches!(mnist(&dir).unwrap_err(), DataError::Truncated { .. }));
    }

    #[test]
    fn label_count_disagrees_with_image_count() {
        let dir = fixture("count", &idx(2051, &[2, 1, 1], &[0, 0]), &idx(2049, &[3], &[0, 1, 2]));
        let err = mnist(&dir).unwrap_err();
        assert!(
            matches!(err, DataError::CountMismatch { images: 2, labels: 3 }),
            "{err}"
        );
    }

    #[test]
    fn directory_from_argument_or_environment() {
        assert_eq!(mnist_dir(Some("/data".into())).unwrap(), PathBuf::from("/data"));
        if std::env::var_os(MNIST_DIR_VAR).is_none() {
            let err = mnist_dir(None).unwrap_err();
            assert!(err.to_string().contains("AUTODIFF_MNIST_DIR"));
        }
    }

    /// The real files, when the directory is available. CI sets it, and
    /// there its absence is a failure (`CI` is set), not a skip.
    #[test]
    fn the_real_mnist_when_available() {
        let Some(dir) = std::env::var_os(MNIST_DIR_VAR) else {
            assert!(
                std::env::var_os("CI").is_none(),
                "{MNIST_DIR_VAR} is not set in CI: the real-MNIST check cannot run"
            );
            eprintln!("{MNIST_DIR_VAR} is not set: skipping the real-MNIST check");
            return;
        };
        let m = mnist(dir).unwrap();
        assert_eq!(m.train.images.dim(), (60000, 784));
        assert_eq!(m.test.images.dim(), (10000, 784));
        let mut counts = [0; 10];
        m.test.labels.iter().for_each(|&l| counts[l] += 1);
        assert_eq!(counts, [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
    }
}
