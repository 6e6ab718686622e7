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
//! For second order (`#[differentiable(.., hvp)]`), a module also has its
//! tangent rules, declared in its `module!` (`tangent linear;` for a module
//! linear in its one differentiable input, or both rules written out):
//!
//! * `foo_tangent(args…, y: &Y, t: (Option<T₁>, …)) -> Y`: the JVP of the
//!   forward, ẏ, given each argument's tangent (`None`: zero, or a constant);
//! * `foo_vjp_tangent(args…, t, y: &Y, ẏ: &Y, g: Y, ġ: Option<Y>, need)
//!   -> ((Option<G₁>, …), (Option<Ġ₁>, …))`: the VJP and its JVP, the
//!   tangent of each gradient (where f'' enters an element-wise module; the
//!   product rule for a bilinear one such as `linear` and `matmul`).
//!
//! The generated tests check both against central differences of the forward
//! and of the VJP, in f64. Every module here has them ([`NO_TANGENT_RULE`] is
//! empty); a module declared without them gets stub tangent functions whose
//! call from a function with `hvp` is a compile error naming the module.
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
//! | `split(x, n, axis)` | x | the parts' gradients side by side (zeros for an unused part) |
//! | `slice(x, s![..])` | x | g scattered into zeros where the slice was taken |
//! | `batch_norm(x, gamma, beta, eps)` | x, gamma, beta | (ĝ − mean ĝ − x̂·mean(ĝx̂))/σ, Σ g·x̂, Σ g (per channel) |
//! | `batch_norm_running(x, gamma, beta, stats, training, eps)` | x, gamma, beta | training: `batch_norm`'s; evaluation: g·γ·s, Σ g·(x − μ)·s, Σ g with the running μ, s |
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
mod tangents;

pub use activation::{
    exp, exp_tangent, exp_vjp, exp_vjp_tangent, gelu, gelu_tangent, gelu_tanh, gelu_tanh_tangent, gelu_tanh_vjp,
    gelu_tanh_vjp_tangent, gelu_vjp, gelu_vjp_tangent, leaky_relu, leaky_relu_tangent, leaky_relu_vjp,
    leaky_relu_vjp_tangent, log, log_tangent, log_vjp, log_vjp_tangent, relu, relu_tangent, relu_vjp, relu_vjp_tangent,
    sigmoid, sigmoid_scalar, sigmoid_tangent, sigmoid_vjp, sigmoid_vjp_tangent, tanh, tanh_tangent, tanh_vjp,
    tanh_vjp_tangent,
};
pub use arith::{
    add, add_tangent, add_vjp, add_vjp_tangent, div, div_tangent, div_vjp, div_vjp_tangent, mul, mul_tangent, mul_vjp,
    mul_vjp_tangent, neg, neg_tangent, neg_vjp, neg_vjp_tangent, scale, scale_tangent, scale_vjp, scale_vjp_tangent,
    sub, sub_tangent, sub_vjp, sub_vjp_tangent,
};
pub use attention::{causal_mask, causal_mask_tangent, causal_mask_vjp, causal_mask_vjp_tangent};
pub use conv::{conv2d, conv2d_tangent, conv2d_vjp, conv2d_vjp_tangent};
pub use dropout::{dropout, dropout_tangent, dropout_vjp, dropout_vjp_tangent};
pub use duplicate::{duplicate, duplicate_tangent, duplicate_vjp, duplicate_vjp_tangent};
pub use embedding::{Ids, embedding, embedding_tangent, embedding_vjp, embedding_vjp_tangent};
pub use linear::{linear, linear_tangent, linear_vjp, linear_vjp_tangent};
pub use loss::{
    cross_entropy, cross_entropy_tangent, cross_entropy_vjp, cross_entropy_vjp_tangent, mse_loss, mse_loss_tangent,
    mse_loss_vjp, mse_loss_vjp_tangent, nll_loss, nll_loss_tangent, nll_loss_vjp, nll_loss_vjp_tangent,
};
pub use matmul::{matmul, matmul_tangent, matmul_vjp, matmul_vjp_tangent};
pub use max::{max, max_tangent, max_vjp, max_vjp_tangent};
pub use norm::{
    RunningStats, batch_norm, batch_norm_running, batch_norm_running_tangent, batch_norm_running_vjp,
    batch_norm_running_vjp_tangent, batch_norm_tangent, batch_norm_vjp, batch_norm_vjp_tangent, batch_statistics,
    layer_norm, layer_norm_tangent, layer_norm_vjp, layer_norm_vjp_tangent,
};
pub use pool::{
    avg_pool2d, avg_pool2d_tangent, avg_pool2d_vjp, avg_pool2d_vjp_tangent, max_pool2d, max_pool2d_tangent,
    max_pool2d_vjp, max_pool2d_vjp_tangent,
};
pub use powers::{
    abs, abs_tangent, abs_vjp, abs_vjp_tangent, exponent, pow, pow_tangent, pow_vjp, pow_vjp_tangent, sqrt,
    sqrt_tangent, sqrt_vjp, sqrt_vjp_tangent,
};
pub use reduce::{
    l1, l1_tangent, l1_vjp, l1_vjp_tangent, l2, l2_tangent, l2_vjp, l2_vjp_tangent, mean, mean_axis, mean_axis_tangent,
    mean_axis_vjp, mean_axis_vjp_tangent, mean_tangent, mean_vjp, mean_vjp_tangent, sum, sum_axis, sum_axis_tangent,
    sum_axis_vjp, sum_axis_vjp_tangent, sum_tangent, sum_vjp, sum_vjp_tangent,
};
pub use shape::{
    concat, concat_tangent, concat_vjp, concat_vjp_tangent, flatten, flatten_tangent, flatten_vjp, flatten_vjp_tangent,
    narrow, narrow_tangent, narrow_vjp, narrow_vjp_tangent, permute, permute_tangent, permute_vjp, permute_vjp_tangent,
    reshape, reshape_tangent, reshape_vjp, reshape_vjp_tangent, slice, slice_tangent, slice_vjp, slice_vjp_tangent,
    split, split_tangent, split_vjp, split_vjp_tangent, transpose, transpose_tangent, transpose_vjp,
    transpose_vjp_tangent,
};
pub use softmax::{
    log_softmax, log_softmax_tangent, log_softmax_vjp, log_softmax_vjp_tangent, softmax, softmax_tangent, softmax_vjp,
    softmax_vjp_tangent,
};

/// The module tables are checked against the declarations: every module
/// declared in this directory (with `module!`, or by hand for the listed
/// exceptions) has a row in the rustdoc table above and in the README's, is
/// re-exported, and has a gradient check.
/// The modules of the runtime without second-order rules (a function with
/// `hvp` cannot call them: a compile error says so). None, and a test keeps
/// this list true.
pub const NO_TANGENT_RULE: &[&str] = &[];

#[cfg(test)]
mod registry {
    use std::collections::BTreeSet;
    use std::path::Path;

    /// Modules written as a hand-made `foo` / `foo_vjp` pair, each with its
    /// own finite-difference test: the mask, whose −∞ outputs the generated
    /// check cannot project.
    const BY_HAND: &[&str] = &["causal_mask", "split"];

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
            for item in [
                name.clone(),
                format!("{name}_vjp"),
                format!("{name}_tangent"),
                format!("{name}_vjp_tangent"),
            ] {
                let exported = exports
                    .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .any(|word| word == item);
                assert!(exported, "{item} is not re-exported from modules/mod.rs");
            }
        }
        // The modules without tangent rules are the ones listed.
        let mut without = BTreeSet::new();
        for entry in std::fs::read_dir(root.join("src/modules")).expect("src/modules is readable") {
            let text = std::fs::read_to_string(entry.expect("readable entry").path()).expect("readable file");
            for block in text.split("crate::module! {").skip(1) {
                let block = block.split("\n    gradcheck").next().unwrap_or("");
                let name = block.lines().find_map(|l| l.trim_start().strip_prefix("pub fn "));
                let name = name.and_then(|rest| rest.split(['<', '(']).next()).unwrap_or("");
                let has_rule = block.lines().any(|l| l.starts_with("    tangent"));
                if !name.is_empty() && !name.starts_with('$') && !has_rule {
                    without.insert(name.to_string());
                }
            }
        }
        assert_eq!(
            without.iter().map(String::as_str).collect::<Vec<_>>(),
            super::NO_TANGENT_RULE,
            "modules without tangent rules"
        );
    }
}
