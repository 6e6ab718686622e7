//! The runtime of `autodiff`: every module's forward kernel and vector-Jacobian
//! product (VJP) on `ndarray`, the traits the generated code relies on, and
//! finite-difference gradient checking.
//!
//! Users normally reach this through the `autodiff` facade crate.

#![warn(missing_docs)]
// Every `unsafe` block says why it is sound; every `unsafe fn` has a
// `# Safety` section (`tests::every_unsafe_fn_documents_its_safety`).
#![deny(clippy::undocumented_unsafe_blocks, unsafe_op_in_unsafe_fn)]
// A VJP returns one `Option` per argument: that tuple is the module convention,
// clearer spelled out than hidden behind aliases.
#![allow(clippy::type_complexity)]

pub mod anomaly;
pub mod data;
mod float;
pub mod gemm;
pub mod gradcheck;
mod gradient;
mod graphs;
pub mod modules;
mod params;
pub mod stats;
pub mod train;
mod value;
pub mod workspace;

#[cfg(test)]
mod testing;

pub use float::Float;
pub use gradient::{Gradient, MethodGrad, NoGrad};
pub use graphs::Graphs;
pub use params::{Params, join_name};
pub use value::{Broadcast, Value, broadcast_shape, sum_to_shape};
pub use workspace::{Recycle, Workspace};

/// Support for the code `#[differentiable]` emits. Not a stable API.
#[doc(hidden)]
pub mod private;

#[cfg(test)]
mod tests {
    /// Every `unsafe fn` of the crate states its contract: a `# Safety`
    /// section in the doc comment above it (trait methods and their
    /// implementations alike). Clippy's `missing_safety_doc` checks only
    /// public functions.
    #[test]
    fn every_unsafe_fn_documents_its_safety() {
        fn visit(dir: &std::path::Path, missing: &mut Vec<String>, seen: &mut usize) {
            for entry in std::fs::read_dir(dir).expect("src/ is readable") {
                let path = entry.expect("readable entry").path();
                if path.is_dir() {
                    visit(&path, missing, seen);
                    continue;
                }
                if path.extension().is_none_or(|e| e != "rs") {
                    continue;
                }
                let text = std::fs::read_to_string(&path).expect("readable file");
                let lines: Vec<&str> = text.lines().collect();
                for (i, line) in lines.iter().enumerate() {
                    let code = line.trim_start();
                    // Definitions, not function-pointer types or comments.
                    let defines = code
                        .split("unsafe fn ")
                        .nth(1)
                        .is_some_and(|rest| rest.starts_with(|c: char| c.is_alphabetic() || c == '_' || c == '$'));
                    if !defines || code.starts_with("//") {
                        continue;
                    }
                    *seen += 1;
                    let documented = lines[..i]
                        .iter()
                        .rev()
                        .map(|l| l.trim_start())
                        .take_while(|l| l.starts_with("///") || l.starts_with("#["))
                        .any(|l| l.starts_with("/// # Safety"));
                    if !documented {
                        missing.push(format!("{}:{}: {}", path.display(), i + 1, code));
                    }
                }
            }
        }
        let (mut missing, mut seen) = (Vec::new(), 0);
        visit(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut missing,
            &mut seen,
        );
        assert!(seen >= 10, "found only {seen} unsafe fns: is the scan broken?");
        assert!(
            missing.is_empty(),
            "unsafe fns without a `# Safety` section:\n{}",
            missing.join("\n")
        );
    }
}
