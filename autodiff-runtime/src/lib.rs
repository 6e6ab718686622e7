//! The runtime of `autodiff`: every module's forward kernel and vector-Jacobian
//! product (VJP) on `ndarray`, the traits the generated code relies on, and
//! finite-difference gradient checking.
//!
//! Users normally reach this through the `autodiff` facade crate.
//!
//! # Layers
//!
//! Each module imports only modules of its own layer or the layers below it
//! (`tests::modules_import_only_their_layer_and_below`), and within a layer
//! none import each other in a circle:
//!
//! 1. `float`: the numeric element type, nothing else;
//! 2. `cpu` (which instruction sets the kernels use), `stats`;
//! 3. `workspace`: memory reused between steps;
//! 4. kernels: `elementwise`, `parallel` (the helper threads), `gemm`;
//! 5. modules: `value` (what modules take), `modules`, `gradcheck`, `check`;
//! 6. gradients and parameters: `elements`, `gradient`, `params`, `graphs`;
//! 7. `hooks`, `anomaly`;
//! 8. training: `train`, `data`, `distributed`;
//! 9. `private`: what the generated code calls, which nothing else imports.

#![warn(missing_docs)]
// Every `unsafe` block says why it is sound; every `unsafe fn` has a
// `# Safety` section (`tests::every_unsafe_fn_documents_its_safety`).
#![deny(clippy::undocumented_unsafe_blocks, unsafe_op_in_unsafe_fn)]
// A VJP returns one `Option` per argument: that tuple is the module convention,
// clearer spelled out than hidden behind aliases.
#![allow(clippy::type_complexity)]

pub mod anomaly;
#[doc(hidden)]
pub mod check;
mod cpu;
pub mod data;
#[cfg(feature = "mpi")]
pub mod distributed;
mod elements;
mod elementwise;
mod float;
pub mod gemm;
pub mod gradcheck;
mod gradient;
mod graphs;
pub mod hooks;
pub mod modules;
mod parallel;
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
pub use value::{Broadcast, Input, Value, broadcast_shape, sum_to_shape};
pub use workspace::{Recycle, Workspace};

/// Declares a module once: its forward function, one gradient per
/// differentiable input, and the cases its generated tests check. From that
/// come the `NAME_vjp` of the module convention (see [`modules`]), a rustdoc
/// line naming the differentiable inputs, and three tests per module: the
/// VJP against finite differences in f64 on every case, each gradient
/// computed alone equal to all of them together, and f32 against f64 (and a
/// fourth for the tangent rules, when declared). A module without a
/// gradcheck case does not compile.
///
/// ```
/// use autodiff_runtime::module;
/// use autodiff_runtime::Float;
/// use ndarray::{Array2, ArrayRef2};
///
/// module! {
///     /// `x³`, element-wise.
///     pub fn cube<F: Float>(x: &ArrayRef2<F>) -> Array2<F> {
///         x.mapv(|v| v * v * v)
///     }
///     backward(y, g, need) {
///         // `need.x` says whether ∂C/∂x is wanted; `grad x` runs only then.
///         grad x = &g * &x.mapv(|v| F::of(3.0) * v * v);
///     }
///     gradcheck {
///         x: random([3, 4]);
///         x: random([1, 1]);
///     }
/// }
///
/// let x = ndarray::array![[1.0, 2.0]];
/// let y = cube(&x);
/// let (gx,) = cube_vjp(&x, &y, Array2::ones((1, 2)), [true]);
/// assert_eq!(gx.unwrap(), ndarray::array![[3.0, 12.0]]);
/// ```
///
/// The grammar:
///
/// * the forward function, with its docs: each input a plain name; arrays are
///   best taken as `&ArrayRef<F, D>` (`&ArrayRef2<F>`, ...), which owned
///   arrays, views and `CowArray`s all coerce to;
/// * `backward(y, g, need) { ... }`: `y` the forward's output, `g` the
///   upstream gradient (owned, same type as `y`), `need.NAME` the flag of each
///   input. Ordinary statements run as written; `grad NAME = EXPR;` (or
///   `grad NAME: TYPE = EXPR;`) gives the gradient of a differentiable input
///   and runs only when it is needed. Its type defaults to the owned
///   counterpart of the input's (`&ArrayRef2<F>` → `Array2<F>`, `&A` → `A`).
///   Inputs without a `grad` line are constants (their slot is
///   `Option<NoGrad>`);
/// * optionally, the tangent rules that functions with `hvp` need (a module
///   without them gets stubs whose call from such a function is a compile
///   error naming it): `tangent linear;` for a module linear in its one
///   differentiable input (its tangent is the forward of the input's tangent,
///   its VJP's tangent the VJP of the upstream gradient's tangent), or
///   `tangent(y) { EXPR }` (the output's tangent; each differentiable input's
///   tangent is `NAME_t`, an `Option` whose `None` is zero; not all of them
///   are `None`) followed by `backward_tangent(y, y_t, g, g_t, need) { ... }`
///   (`g: &` upstream gradient, `g_t` its tangent as an `Option<&_>`, `y_t`
///   the output's tangent, `grad NAME = EXPR;` the tangent of each gradient).
///   A test checks both rules against central differences of the forward and
///   of the VJP along random tangents, in f64:
///
/// ```
/// use autodiff_runtime::module;
/// use autodiff_runtime::Float;
/// use ndarray::{Array2, ArrayRef2};
///
/// module! {
///     /// `x³`, element-wise.
///     pub fn cube<F: Float>(x: &ArrayRef2<F>) -> Array2<F> {
///         x.mapv(|v| v * v * v)
///     }
///     backward(y, g, need) {
///         grad x = &g * &x.mapv(|v| F::of(3.0) * v * v);
///     }
///     /// ẏ = 3x²·ẋ; the VJP 3x²·g has the tangent 3x²·ġ + 6x·ẋ·g.
///     tangent(y) {
///         let d1 = x.mapv(|v| F::of(3.0) * v * v);
///         x_t.map_or_else(|| Array2::zeros(x.raw_dim()), |t| &d1 * &t.view())
///     }
///     backward_tangent(y, y_t, g, g_t, need) {
///         let d1 = x.mapv(|v| F::of(3.0) * v * v);
///         let d2 = x.mapv(|v| F::of(6.0) * v);
///         let mut t = g_t.map_or_else(|| Array2::zeros(x.raw_dim()), |tg| tg * &d1);
///         if let Some(tx) = x_t {
///             t = t + &(&(&d2 * &tx.view()) * g);
///         }
///         grad x = t;
///     }
///     gradcheck {
///         x: random([3, 4]);
///     }
/// }
///
/// let (x, t) = (ndarray::array![[2.0]], ndarray::array![[1.0]]);
/// let y = cube(&x);
/// assert_eq!(cube_tangent(&x, &y, (Some(&t),)), Some(ndarray::array![[12.0]]));
/// ```
///
/// * `gradcheck { NAME: EXPR, ...; ... }`: one case per `;`, a value for every
///   input. `random(shape)`, `uniform(shape, lo, hi)` and `indices(len, n)`
///   draw from a seed that restarts with each case; every case runs in f64
///   and in f32.
#[macro_export]
macro_rules! module {
    ($($declaration:tt)*) => {
        $crate::__private::declare_module! { $crate; $($declaration)* }
    };
}

/// Support for the code `#[differentiable]` emits. Not a stable API.
#[doc(hidden)]
pub mod private;
#[doc(hidden)]
pub use private as __private;

#[cfg(test)]
mod tests {
    /// The layers of the crate's documentation, lowest first.
    const LAYERS: &[&[&str]] = &[
        &["float"],
        &["cpu", "stats"],
        &["workspace"],
        &["elementwise", "parallel", "gemm"],
        &["value", "modules", "gradcheck", "check"],
        &["elements", "gradient", "params", "graphs"],
        &["hooks", "anomaly"],
        &["train", "data", "distributed"],
        &["private"],
    ];

    /// Each file's `crate::NAME` paths (outside comments and test modules)
    /// name only modules of its own layer or below, and the imports within a
    /// layer form no circle. `module!` and the crate root's re-exports are
    /// not imports of a module.
    #[test]
    fn modules_import_only_their_layer_and_below() {
        use std::collections::{BTreeMap, BTreeSet};
        let layer_of = |name: &str| LAYERS.iter().position(|layer| layer.contains(&name));
        fn files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            for entry in std::fs::read_dir(dir).expect("src/ is readable") {
                let path = entry.expect("readable entry").path();
                if path.is_dir() {
                    files(&path, out);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    out.push(path);
                }
            }
        }
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut all = Vec::new();
        files(&src, &mut all);
        let (mut wrong, mut graph) = (Vec::new(), BTreeMap::<String, BTreeSet<String>>::new());
        for path in all {
            let relative = path.strip_prefix(&src).expect("under src");
            let module = relative
                .components()
                .next()
                .expect("a file")
                .as_os_str()
                .to_string_lossy();
            let module = module.trim_end_matches(".rs").to_string();
            if module == "lib" || module == "testing" {
                continue;
            }
            let Some(own) = layer_of(&module) else {
                wrong.push(format!("{}: module `{module}` is in no layer", relative.display()));
                continue;
            };
            let text = std::fs::read_to_string(&path).expect("readable file");
            let code = text.split("#[cfg(test)]\nmod tests").next().unwrap_or_default();
            for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
                for (i, _) in line.match_indices("crate::") {
                    let name: String = line[i + 7..]
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    if name == module || name == "module" || name.starts_with("__") {
                        continue;
                    }
                    match layer_of(&name) {
                        Some(layer) if layer <= own => {
                            graph.entry(module.clone()).or_default().insert(name);
                        }
                        Some(layer) => wrong.push(format!(
                            "{}: `{module}` (layer {}) imports `{name}` (layer {})",
                            relative.display(),
                            own + 1,
                            layer + 1
                        )),
                        None => wrong.push(format!(
                            "{}: `crate::{name}` is not a module of a layer (name the module, not a re-export)",
                            relative.display()
                        )),
                    }
                }
            }
        }
        assert!(
            graph.len() >= 12,
            "found only {} importing modules: is the scan broken?",
            graph.len()
        );
        assert!(wrong.is_empty(), "imports against the layers:\n{}", wrong.join("\n"));
        // Within a layer: no circle (a depth-first search from every module).
        fn reaches(
            graph: &BTreeMap<String, BTreeSet<String>>,
            from: &str,
            to: &str,
            seen: &mut BTreeSet<String>,
        ) -> bool {
            graph
                .get(from)
                .into_iter()
                .flatten()
                .any(|next| next == to || (seen.insert(next.clone()) && reaches(graph, next, to, seen)))
        }
        for module in graph.keys() {
            assert!(
                !reaches(&graph, module, module, &mut BTreeSet::new()),
                "`{module}` imports itself around a circle"
            );
        }
    }

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
