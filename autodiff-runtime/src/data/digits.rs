//! The 8×8 digits (UCI optdigits test set, CC BY 4.0), bundled in the crate:
//! 1,797 images of 64 pixels valued 0..16, labels 0..9.

use std::io::Read;

use flate2::read::GzDecoder;
use ndarray::Array2;

use super::{DataError, Dataset};

const DIGITS_CSV_GZ: &[u8] = include_bytes!("../../data/digits/digits.csv.gz");

/// The bundled digits: 1,797 images `[1797, 64]` with pixels 0..16 as f32.
pub fn digits() -> Dataset {
    let mut text = String::new();
    GzDecoder::new(DIGITS_CSV_GZ)
        .read_to_string(&mut text)
        .expect("the bundled digits file is valid gzip");
    parse_digits_csv(&text).expect("the bundled digits file is valid")
}

/// Parses CSV lines of 64 pixel values and a label.
pub fn parse_digits_csv(text: &str) -> Result<Dataset, DataError> {
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let bad = |message: String| DataError::Csv { line: i + 1, message };
        let values: Vec<&str> = line.split(',').map(str::trim).collect();
        if values.len() != 65 {
            return Err(bad(format!(
                "expected 65 values (64 pixels and a label), found {}",
                values.len()
            )));
        }
        for v in &values[..64] {
            pixels.push(
                v.parse::<f32>()
                    .map_err(|_| bad(format!("pixel `{v}` is not a number")))?,
            );
        }
        let label: usize = values[64]
            .parse()
            .map_err(|_| bad(format!("label `{}` is not a digit", values[64])))?;
        if label > 9 {
            return Err(bad(format!("label {label} is not a digit")));
        }
        labels.push(label);
    }
    let images = Array2::from_shape_vec((labels.len(), 64), pixels).expect("64 pixels a row");
    Ok(Dataset { images, labels })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn the_bundled_file_has_the_documented_contents() {
        let d = digits();
        assert_eq!(d.images.dim(), (1797, 64));
        let mut counts = [0; 10];
        d.labels.iter().for_each(|&l| counts[l] += 1);
        assert_eq!(counts, [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]);
        assert!(d.images.iter().all(|&p| (0.0..=16.0).contains(&p)));
    }

    #[test]
    fn split_holds_out_a_fraction() {
        let d = digits();
        let (train, test) = d.split(0.2, &mut StdRng::seed_from_u64(0));
        assert_eq!(test.len(), 359);
        assert_eq!(train.len() + test.len(), 1797);
    }

    #[test]
    fn malformed_lines_are_errors() {
        let row = |label: &str| format!("{}{label}\n", "0,".repeat(64));
        assert_eq!(parse_digits_csv(&row("3")).unwrap().labels, vec![3]);
        assert!(
            parse_digits_csv(&row("12"))
                .unwrap_err()
                .to_string()
                .contains("line 1: label 12")
        );
        assert!(
            parse_digits_csv("1,2,3\n")
                .unwrap_err()
                .to_string()
                .contains("expected 65 values")
        );
        let text = format!("{}x,{}", "0,".repeat(63), "1\n");
        assert!(parse_digits_csv(&text).unwrap_err().to_string().contains("pixel `x`"));
    }
}
