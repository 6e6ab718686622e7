//! `NAME_GRAPHS`: the forward graph and the gradient graph in DOT.

mod common;

use autodiff::prelude::*;
use common::MLP_LOSS_GRAPHS;

#[differentiable(wrt(w))]
fn fan_out(x: &Array2<f64>, w: &Array2<f64>) -> f64 {
    let h = relu(&matmul(x, w));
    let (left, right) = duplicate(&h);
    let y = &left + &(right * 2.0);
    sum(&y)
}

#[differentiable(wrt(wx, u))]
fn rnn(xs: &[Array2<f64>], wx: &Array2<f64>, u: &Array2<f64>) -> f64 {
    let mut h = tanh(&matmul(&xs[0], wx));
    for x in &xs[1..] {
        h = tanh(&(matmul(x, wx) + matmul(&h, u)));
    }
    mean(&h)
}

/// A DOT graph as this crate writes it: node labels by id, and edges.
struct Graph {
    labels: std::collections::BTreeMap<String, String>,
    edges: Vec<(String, String, String)>,
}

fn parse(dot: &str) -> Graph {
    let mut g = Graph {
        labels: Default::default(),
        edges: Vec::new(),
    };
    let label_of = |line: &str| {
        line.split("label=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_default()
            .to_string()
    };
    for line in dot.lines().map(str::trim) {
        if let Some((from, rest)) = line.split_once(" -> ") {
            let to = rest.split([' ', ';']).next().unwrap_or_default();
            g.edges.push((from.to_string(), to.to_string(), label_of(rest)));
        } else if line.starts_with('n') && line.contains("[label=") {
            let id = line.split(' ').next().unwrap_or_default();
            g.labels.insert(id.to_string(), label_of(line));
        }
    }
    for (from, to, _) in &g.edges {
        assert!(
            g.labels.contains_key(from) && g.labels.contains_key(to),
            "edge {from} -> {to} of undeclared nodes"
        );
    }
    g
}

impl Graph {
    fn id(&self, label: &str) -> &str {
        let ids: Vec<&String> = self
            .labels
            .iter()
            .filter(|(_, l)| *l == label)
            .map(|(id, _)| id)
            .collect();
        assert_eq!(ids.len(), 1, "one node labelled {label:?}: {:?}", self.labels);
        ids[0]
    }
    fn has(&self, label: &str) -> bool {
        self.labels.values().any(|l| l == label)
    }
    fn count(&self, label: &str) -> usize {
        self.labels.values().filter(|l| l.starts_with(label)).count()
    }
    fn incoming(&self, label: &str) -> usize {
        let id = self.id(label);
        self.edges.iter().filter(|(_, to, _)| to == id).count()
    }
    /// Whether `to` can be reached from `from` along one edge or more.
    fn reaches(&self, from: &str, to: &str) -> bool {
        let (mut stack, mut seen) = (vec![from.to_string()], std::collections::BTreeSet::new());
        while let Some(node) = stack.pop() {
            for (a, b, _) in &self.edges {
                if *a == node {
                    if b == to {
                        return true;
                    }
                    if seen.insert(b.clone()) {
                        stack.push(b.clone());
                    }
                }
            }
        }
        false
    }
}

#[test]
fn the_forward_graph_is_the_body() {
    let g = parse(MLP_LOSS_GRAPHS.forward);
    for input in ["x", "labels", "w1", "b1", "w2", "b2"] {
        assert!(g.has(input), "input {input}");
    }
    assert_eq!(g.count("linear"), 2);
    let labels: Vec<&str> = g
        .edges
        .iter()
        .map(|(_, _, l)| l.as_str())
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(labels, ["h", "a", "z"], "edges named after the user's variables");
    assert!(g.reaches(g.id("x"), g.id("C")) && g.reaches(g.id("w1"), g.id("C")));
}

#[test]
fn the_gradient_graph_is_the_reversed_graph_pruned_by_activity() {
    let g = parse(MLP_LOSS_GRAPHS.gradient);
    assert_eq!(
        g.count("linear VJP") + g.count("relu VJP") + g.count("cross_entropy VJP"),
        4
    );
    // Data and labels get no gradient.
    assert!(!g.has("∂x") && !g.has("∂labels"));
    for p in ["∂w1", "∂b1", "∂w2", "∂b2"] {
        assert!(g.reaches(g.id("∂C/∂C = 1"), g.id(p)), "{p} is reached from the seed");
    }
    assert!(
        MLP_LOSS_GRAPHS.gradient.contains("label=\"∂w1\", shape=box"),
        "returned gradients are boxes"
    );
}

#[test]
fn fan_out_is_a_sum() {
    let g = parse(FAN_OUT_GRAPHS.gradient);
    // Both copies of h send their gradient into the duplicate's, which is their sum.
    assert_eq!(g.incoming("∂duplicate(…)"), 2);
    assert_eq!(g.incoming("∂h"), 1);
    assert!(g.reaches(g.id("∂y"), g.id("∂w")));
}

#[test]
fn a_loop_is_a_cycle_in_both_graphs() {
    let forward = parse(RNN_GRAPHS.forward);
    let h = forward.id("h");
    assert!(forward.reaches(h, h), "h feeds the next iteration");
    let gradient = parse(RNN_GRAPHS.gradient);
    let dh = gradient.id("∂h");
    assert!(gradient.reaches(dh, dh), "∂h flows back one iteration at a time");
    // wx is read before the loop and inside it: its gradient is a sum.
    assert_eq!(gradient.incoming("∂wx"), 2);
}
