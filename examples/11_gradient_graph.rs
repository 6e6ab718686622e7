//! Tutorial 11: the forward graph and the gradient graph, drawn.
//!
//! Backpropagation reverses the graph of a computation: each module becomes
//! its vector-Jacobian product, each edge turns around, and where a value
//! fanned out, its gradients meet and are summed. `#[differentiable]` does
//! this at compile time, and hands both graphs out as Graphviz DOT in
//! `NAME_GRAPHS`. This tutorial draws them side by side, as the lecture
//! does, with `layout-rs` (pure Rust: no Graphviz needed), and points to the
//! generated code they describe (`LECTURE_GRAD_SOURCE`, whose length it
//! prints).
//!
//! Run: `cargo run --release --example 11_gradient_graph`

#[path = "common/mod.rs"]
mod common;

use autodiff::prelude::*;
use layout::backends::svg::SVGWriter;
use layout::gv::{DotParser, GraphBuilder};

/// The lecture's modules in one function: Linear, ReLU, Duplicate, Max, Add
/// and a cross-entropy loss.
#[differentiable(wrt(w, b))]
fn lecture(x: &Array2<f64>, w: &Array2<f64>, b: &Array1<f64>, labels: &[usize]) -> f64 {
    let h = relu(&linear(x, w, b));
    let (left, right) = duplicate(&h);
    let m = max(&right, &h);
    let y = &left + &m;
    cross_entropy(&y, labels)
}

/// A DOT graph laid out and drawn as SVG.
fn draw(dot: &str) -> Result<String, String> {
    let mut parser = DotParser::new(dot);
    let tree = parser.process()?;
    let mut builder = GraphBuilder::new();
    builder.visit_graph(&tree);
    let mut graph = builder.get();
    let mut svg = SVGWriter::new();
    graph.do_it(false, false, false, &mut svg);
    Ok(svg.finalize())
}

/// The width and height of a drawing, from its `<svg width=.. height=..>`.
fn size(svg: &str) -> (f64, f64) {
    let attribute = |name: &str| {
        svg.split(&format!("<svg {name}=\""))
            .nth(1)
            .or_else(|| svg.split(&format!(" {name}=\"")).nth(1))
            .and_then(|rest| rest.split('"').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(400.0)
    };
    (attribute("width"), attribute("height"))
}

/// Two drawings side by side, with a title over each, in one SVG file.
fn side_by_side(left: (&str, &str), right: (&str, &str)) -> String {
    let body = |svg: &str| {
        // The drawing without its XML header, as a nested <svg>.
        let start = svg.find("<svg").unwrap_or(0);
        svg[start..].to_string()
    };
    let ((lw, lh), (rw, rh)) = (size(left.1), size(right.1));
    let (width, height) = (lw + rw + 40.0, lh.max(rh) + 40.0);
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{}\" y=\"24\" font-family=\"sans-serif\" font-size=\"18\" text-anchor=\"middle\">{}</text>\n\
         <text x=\"{}\" y=\"24\" font-family=\"sans-serif\" font-size=\"18\" text-anchor=\"middle\">{}</text>\n\
         <g transform=\"translate(0, 40)\">{}</g>\n<g transform=\"translate({}, 40)\">{}</g>\n</svg>\n",
        lw / 2.0,
        left.0,
        lw + 40.0 + rw / 2.0,
        right.0,
        body(left.1),
        lw + 40.0,
        body(right.1),
    )
}

fn main() {
    let graphs = LECTURE_GRAPHS;
    println!(
        "The forward graph of `lecture`, as DOT (LECTURE_GRAPHS.forward):\n\n{}",
        graphs.forward
    );
    println!("Its gradient graph (LECTURE_GRAPHS.gradient):\n\n{}", graphs.gradient);

    // What the pictures say, counted from the DOT text.
    let edges_into = |dot: &str, label: &str| {
        let id = dot
            .lines()
            .find(|l| l.contains(&format!("[label=\"{label}\"")))
            .and_then(|l| l.split_whitespace().next())
            .unwrap_or("?")
            .to_string();
        dot.lines()
            .filter(|l| l.trim_end_matches(';').ends_with(&format!("-> {id}")) || l.contains(&format!("-> {id} ")))
            .count()
    };
    println!(
        "∂h receives {} gradients (from the duplicate's VJP and from max's VJP): the generated code sums them.",
        edges_into(graphs.gradient, "∂h")
    );
    println!(
        "x and labels have no gradient node: nothing asked for one, so no VJP computes it (∂x in the graph: {}).\n",
        graphs.gradient.contains("∂x")
    );
    assert_eq!(edges_into(graphs.gradient, "∂h"), 2);
    assert!(!graphs.gradient.contains("∂x"));

    let (forward, gradient) = match (draw(graphs.forward), draw(graphs.gradient)) {
        (Ok(f), Ok(g)) => (f, g),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("cannot lay out the graphs: {e}");
            std::process::exit(1);
        }
    };
    let path = common::plot_path("11_gradient_graph");
    std::fs::write(
        &path,
        side_by_side(("forward graph", &forward), ("gradient graph (reversed)", &gradient)),
    )
    .expect("the picture is written");
    println!("the two graphs side by side: {}", path.display());
    println!(
        "(with Graphviz installed, `dot -Tsvg` draws the same DOT text; the generated code the gradient graph\n\
         describes is LECTURE_GRAD_SOURCE, {} lines)",
        LECTURE_GRAD_SOURCE.lines().count()
    );
}
