//! The module table. Every module `foo` is declared once with
//! [`module!`](crate::module) (its forward, one gradient per differentiable
//! input, its gradient-check cases), which derives a pair of functions:
//!
//! * `foo(args…) -> Y`: the forward kernel;
//! * `foo_vjp(args…, y: &Y, g: Y, need: [bool; N]) -> (Option<G₁>, …, Option<G_N>)`:
//!   the vector-Jacobian product. It receives the forward's arguments (the same
//!   types, passed the same way), the forward's output `y`, the upstream gradient
//!   `g = ∂C/∂y` (same type as `y`, owned: a VJP may reuse its buffer, as the
//!   element-wise ones do) and one flag per argument saying whether that
//!   argument's gradient is wanted; it returns `Some(∂C/∂argᵢ)` for the wanted
//!   ones. An argument that is never differentiated (labels, a mask, a constant
//!   factor) has the slot type `Option<NoGrad>` and is always `None`.
//!
//! `#[differentiable]` calls `foo` in the forward pass and `foo_vjp` in the
//! backward pass; a user-defined module follows the same convention, declared
//! with `module!` or written by hand.
//!
//! Array inputs are taken in any storage: element-wise modules through
//! [`Input`](crate::Input) (owned arrays, views, `CowArray`s, `&ArrayRef`s
//! and scalars), the others as `&ArrayRef<F, D>`, to which every array
//! coerces. Nothing is copied to read an input; results and gradients are
//! owned arrays (`Input::Value`).
//!
//! | module | differentiable inputs | VJP (g = ∂C/∂y) |
//! |---|---|---|
//! | `linear(x, w, b)` | x, w, b | g·w, gᵀ·x, Σ_batch g |
//! | `matmul(a, b)` | a, b | g·bᵀ, aᵀ·g |
//! | `relu(x)` | x | g where x ≥ 0, else 0 |
//! | `leaky_relu(x, slope)` | x | g where x ≥ 0, else slope·g |
//! | `sigmoid(x)` | x | g·y·(1 − y) |
//! | `tanh(x)` | x | g·(1 − y²) |
//! | `exp(x)`, `log(x)` | x | g·y, g/x |
//! | `gelu(x)`, `gelu_tanh(x)` | x | g·(Φ(x) + x·φ(x)); the derivative of the tanh form |
//! | `add(a, b)` / `a + b` | a, b | g, g (summed to each shape) |
//! | `sub(a, b)` / `a - b` | a, b | g, −g |
//! | `mul(a, b)` / `a * b` | a, b | g·b, g·a |
//! | `div(a, b)` / `a / b` | a, b | g/b, −g·y/b |
//! | `neg(a)` / `-a` | a | −g |
//! | `scale(x, c)` | x | c·g |
//! | `max(a, b)` | a, b | g where a > b / g where a ≤ b |
//! | `duplicate(x)` | x | g₁ + g₂ |
//! | `softmax(x)` | x | y·(g − ⟨g, y⟩) |
//! | `causal_mask(scores)` | scores | g, zero above the diagonal |
//! | `log_softmax(x)` | x | g − eʸ·Σg |
//! | `cross_entropy(z, labels)` | z | g·(softmax(z) − onehot)/batch |
//! | `nll_loss(logp, labels)` | logp | −g/batch at each label |
//! | `mse_loss(pred, target)` | pred, target | ±2g·(pred − target)/n |
//! | `sum(x)`, `mean(x)` | x | g, g/n everywhere |
//! | `sum_axis(x, axis)`, `mean_axis(x, axis)` | x | g, g/n repeated along the axis |
//! | `sqrt(x)`, `pow(x, p)`, `abs(x)` | x | g/(2y), g·p·x^(p−1), g·sign(x) (0 at 0) |
//! | `l2(w)`, `l1(w)` | w | 2g·w, g·sign(w) (0 at 0) |
//! | `dropout(x, mask, p)` | x | g·mask/p |
//! | `conv2d(x, w, b, stride, padding)` | x, w, b | col2im(Wᵀ·G), G·colsᵀ, Σ G (per image, im2col) |
//! | `max_pool2d(x, k, stride)` | x | g to each window's first maximum |
//! | `avg_pool2d(x, k, stride)` | x | g/k² to every element of the window |
//! | `flatten(x)`, `reshape(x, shape)` | x | g reshaped to x's shape |
//! | `concat(a, b, axis)` | a, b | g cut at the join |
//! | `transpose(x)` | x | gᵀ (axes reversed back) |
//! | `permute(x, axes)` | x | g with the inverse permutation |
//! | `narrow(x, axis, start, len)` | x | g scattered into zeros at the range |
//! | `slice(x, s![..])` | x | g scattered into zeros where the slice was taken |
//! | `batch_norm(x, gamma, beta, eps)` | x, gamma, beta | (ĝ − mean ĝ − x̂·mean(ĝx̂))/σ, Σ g·x̂, Σ g (per channel) |
//! | `layer_norm(x, gamma, beta, eps)` | x, gamma, beta | the same per row |
//! | `embedding(ids, table)` | table | g added into the rows used |

mod activation;
mod arith;
mod attention;
mod conv;
mod dropout;
mod duplicate;
mod embedding;
mod linear;
mod loss;
mod matmul;
mod max;
mod norm;
mod pool;
mod powers;
mod reduce;
mod shape;
mod softmax;

pub use activation::{
    exp, exp_vjp, gelu, gelu_tanh, gelu_tanh_vjp, gelu_vjp, leaky_relu, leaky_relu_vjp, log, log_vjp, relu, relu_vjp,
    sigmoid, sigmoid_scalar, sigmoid_vjp, tanh, tanh_vjp,
};
pub use arith::{add, add_vjp, div, div_vjp, mul, mul_vjp, neg, neg_vjp, scale, scale_vjp, sub, sub_vjp};
pub use attention::{causal_mask, causal_mask_vjp};
pub use conv::{conv2d, conv2d_vjp};
pub use dropout::{dropout, dropout_vjp};
pub use duplicate::{duplicate, duplicate_vjp};
pub use embedding::{Ids, embedding, embedding_vjp};
pub use linear::{linear, linear_vjp};
pub use loss::{cross_entropy, cross_entropy_vjp, mse_loss, mse_loss_vjp, nll_loss, nll_loss_vjp};
pub use matmul::{matmul, matmul_vjp};
pub use max::{max, max_vjp};
pub use norm::{batch_norm, batch_norm_vjp, batch_statistics, layer_norm, layer_norm_vjp};
pub use pool::{avg_pool2d, avg_pool2d_vjp, max_pool2d, max_pool2d_vjp};
pub use powers::{abs, abs_vjp, exponent, pow, pow_vjp, sqrt, sqrt_vjp};
pub use reduce::{
    l1, l1_vjp, l2, l2_vjp, mean, mean_axis, mean_axis_vjp, mean_vjp, sum, sum_axis, sum_axis_vjp, sum_vjp,
};
pub use shape::{
    concat, concat_vjp, flatten, flatten_vjp, narrow, narrow_vjp, permute, permute_vjp, reshape, reshape_vjp, slice,
    slice_vjp, transpose, transpose_vjp,
};
pub use softmax::{log_softmax, log_softmax_vjp, softmax, softmax_vjp};

/// The module tables are checked against the declarations: every module
/// declared in this directory (with `module!`, or by hand for the listed
/// exceptions) has a row in the rustdoc table above and in the README's, is
/// re-exported, and has a gradient check.
#[cfg(test)]
mod registry {
    use std::collections::BTreeSet;
    use std::path::Path;

    /// Modules written as a hand-made `foo` / `foo_vjp` pair, each with its
    /// own finite-difference test: the mask, whose −∞ outputs the generated
    /// check cannot project.
    const BY_HAND: &[&str] = &["causal_mask"];

    fn declared() -> (BTreeSet<String>, BTreeSet<String>) {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/modules");
        let (mut declared, mut by_hand) = (BTreeSet::new(), BTreeSet::new());
        for entry in std::fs::read_dir(&dir).expect("src/modules is readable") {
            let path = entry.expect("readable entry").path();
            let text = std::fs::read_to_string(&path).expect("readable file");
            let lines: Vec<&str> = text.lines().collect();
            for (i, line) in lines.iter().enumerate() {
                let code = line.trim_start();
                // `pub fn NAME` right after `crate::module! {` and its docs.
                if code.starts_with("crate::module! {") {
                    let name = lines[i + 1..]
                        .iter()
                        .map(|l| l.trim_start())
                        .find_map(|l| l.strip_prefix("pub fn "))
                        .and_then(|rest| rest.split(['<', '(']).next());
                    let name = name.expect("a declaration names its function");
                    // The template inside `binary_module!` is not a module.
                    if !name.starts_with('$') {
                        declared.insert(name.to_string());
                    }
                }
                // `binary_module! { docs NAME, op, ... }` in arith.rs.
                if code.starts_with("binary_module! {") {
                    let name = lines[i + 1..]
                        .iter()
                        .map(|l| l.trim_start())
                        .find(|l| !l.starts_with("///"))
                        .and_then(|l| l.split(',').next());
                    declared.insert(name.expect("a binary module names itself").to_string());
                }
                if let Some(rest) = code.strip_prefix("pub fn ")
                    && let Some(name) = rest.split(['<', '(']).next().and_then(|n| n.strip_suffix("_vjp"))
                {
                    by_hand.insert(name.to_string());
                    assert!(
                        text.contains("fn vjp_matches_finite_differences"),
                        "{}: the hand-written {name}_vjp has no finite-difference test",
                        path.display()
                    );
                }
            }
        }
        (declared, by_hand)
    }

    /// The modules named in the first column of a Markdown table's rows
    /// (`` `name(args)` ``, several per cell allowed), from `heading` on.
    fn table(text: &str, heading: &str) -> BTreeSet<String> {
        let start = text.find(heading).unwrap_or_else(|| panic!("no {heading:?}"));
        let mut names = BTreeSet::new();
        for line in text[start..].lines().skip_while(|l| !l.contains("| module")).skip(2) {
            let line = line.trim_start_matches("//! ");
            if !line.starts_with('|') {
                break;
            }
            let cell = line.split('|').nth(1).unwrap_or("");
            for part in cell.split('`').skip(1).step_by(2) {
                if let Some(name) = part.split('(').next().filter(|n| {
                    n.chars()
                        .all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit())
                }) {
                    names.insert(name.to_string());
                }
            }
        }
        names
    }

    #[test]
    fn every_module_is_declared_tabled_exported_and_checked() {
        let (declared, by_hand) = declared();
        assert_eq!(
            by_hand.iter().map(String::as_str).collect::<Vec<_>>(),
            BY_HAND,
            "modules written by hand"
        );
        let all: BTreeSet<String> = declared.union(&by_hand).cloned().collect();
        assert!(all.len() >= 30, "found only {all:?}: is the scan broken?");
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let docs = std::fs::read_to_string(root.join("src/modules/mod.rs")).expect("readable");
        let readme = std::fs::read_to_string(root.join("../README.md")).expect("the README beside the crate");
        assert_eq!(table(&docs, "//! | module"), all, "the rustdoc table of modules/mod.rs");
        assert_eq!(table(&readme, "## Modules"), all, "the README's table of modules");
        let exports: String = docs.lines().filter(|l| !l.starts_with("//")).collect();
        for name in &all {
            for item in [name.clone(), format!("{name}_vjp")] {
                let exported = exports
                    .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .any(|word| word == item);
                assert!(exported, "{item} is not re-exported from modules/mod.rs");
            }
        }
    }
}
