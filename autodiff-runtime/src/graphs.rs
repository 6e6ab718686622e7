//! What `NAME_GRAPHS` holds.

/// A differentiable function's graphs in Graphviz DOT, as `#[differentiable]`
/// derived them from the body: `NAME_GRAPHS` for a function `NAME` (an
/// associated constant for a method).
///
/// * `forward`: inputs (boxes) and module calls (ellipses); an edge per value
///   a call reads, labelled with the variable's name; a variable assigned
///   more than once (in a loop or a branch) is a node where its assignments
///   meet, and a loop is a cycle through it.
/// * `gradient`: the reversed graph that `NAME_grad` runs: one node per VJP
///   call, one per gradient (`∂h`), an edge from the gradient of a call's
///   output to its VJP and from the VJP to the gradient of each argument
///   that needs one. A gradient with several incoming edges is their sum;
///   the gradients returned to the caller are boxes. Constants (data,
///   labels) have no gradient, and calls that no differentiated parameter
///   reaches have no VJP.
///
/// Render with `dot -Tsvg` when Graphviz is installed, or with a pure-Rust
/// layout crate (tutorial 11 uses `layout-rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Graphs {
    /// The forward graph.
    pub forward: &'static str,
    /// The gradient graph.
    pub gradient: &'static str,
}
