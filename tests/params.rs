//! Models as structs: `#[derive(Params)]` and differentiating with respect to
//! a whole struct through field access.

mod common;

use autodiff::prelude::*;
use common::{assert_gradients, d1, d2, random};

#[derive(Params, Debug, Clone, PartialEq)]
struct Mlp {
    w1: Array2<f64>,
    b1: Array1<f64>,
    w2: Array2<f64>,
    b2: Array1<f64>,
}

#[differentiable(wrt(model))]
fn loss(model: &Mlp, x: &Array2<f64>, labels: &[usize]) -> f64 {
    let h = relu(&linear(x, &model.w1, &model.b1));
    let z = linear(&h, &model.w2, &model.b2);
    // w1 is read a second time: a fan-out through a field.
    cross_entropy(&z, labels) + 0.01 * l2(&model.w1)
}

fn model(seed: u64) -> Mlp {
    Mlp {
        w1: random((5, 3), seed),
        b1: random(5, seed + 1),
        w2: random((4, 5), seed + 2),
        b2: random(4, seed + 3),
    }
}

#[test]
fn gradient_of_a_struct_is_a_struct_of_gradients() {
    let m = model(1);
    let x = random((6, 3), 9);
    let labels = [0, 1, 2, 3, 0, 1];
    let (value, g) = loss_grad(&m, &x, &labels);
    assert_eq!(value, loss(&m, &x, &labels));
    let g: Mlp = g.model;
    assert_eq!(g.w1.shape(), m.w1.shape());
    assert_gradients(
        |v| {
            let m = Mlp {
                w1: d2(&v[0]),
                b1: d1(&v[1]),
                w2: d2(&v[2]),
                b2: d1(&v[3]),
            };
            loss(&m, &x, &labels)
        },
        &[m.w1.into_dyn(), m.b1.into_dyn(), m.w2.into_dyn(), m.b2.into_dyn()],
        &[g.w1.into_dyn(), g.b1.into_dyn(), g.w2.into_dyn(), g.b2.into_dyn()],
    );
}

#[test]
fn params_visits_every_tensor_by_name() {
    let mut m = model(2);
    assert_eq!(
        m.shapes(),
        vec![
            ("w1".to_string(), vec![5, 3]),
            ("b1".to_string(), vec![5]),
            ("w2".to_string(), vec![4, 5]),
            ("b2".to_string(), vec![4]),
        ]
    );
    assert_eq!(m.num_params(), 15 + 5 + 20 + 4);
    m.visit_mut(&mut |_, mut t| t.fill(1.0));
    assert!(m.w2.iter().all(|&v| v == 1.0));
}

// Models nest: a struct of structs, names joined with dots.
#[derive(Params, Debug, Clone)]
struct Layer {
    w: Array2<f32>,
    b: Array1<f32>,
}

#[derive(Params, Debug, Clone)]
struct Deep {
    first: Layer,
    second: Layer,
}

#[differentiable(wrt(net))]
fn deep_loss(net: &Deep, x: &Array2<f32>, labels: &[usize]) -> f32 {
    let h = relu(&linear(x, &net.first.w, &net.first.b));
    cross_entropy(&linear(&h, &net.second.w, &net.second.b), labels)
}

#[test]
fn nested_models() {
    let layer = |o, i| Layer {
        w: Array2::from_elem((o, i), 0.1),
        b: Array1::zeros(o),
    };
    let net = Deep {
        first: layer(4, 3),
        second: layer(2, 4),
    };
    let names: Vec<String> = net.shapes().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["first.w", "first.b", "second.w", "second.b"]);
    let _ = deep_loss;
}

// A layer as a differentiable function of a sub-struct: the model gradient
// flows through a nested call taking `&net.first`.
#[derive(Params, Debug, Clone)]
struct Layer64 {
    w: Array2<f64>,
    b: Array1<f64>,
}

#[derive(Params, Debug, Clone)]
struct Net64 {
    first: Layer64,
    second: Layer64,
}

#[differentiable]
fn dense(layer: &Layer64, x: &Array2<f64>) -> Array2<f64> {
    tanh(&linear(x, &layer.w, &layer.b))
}

#[differentiable(wrt(net))]
fn net_loss(net: &Net64, x: &Array2<f64>, labels: &[usize]) -> f64 {
    let h = dense(&net.first, x);
    cross_entropy(&linear(&h, &net.second.w, &net.second.b), labels)
}

#[test]
fn layers_as_functions_of_sub_structs() {
    let net = Net64 {
        first: Layer64 {
            w: random((4, 3), 31),
            b: random(4, 32),
        },
        second: Layer64 {
            w: random((3, 4), 33),
            b: random(3, 34),
        },
    };
    let x = random((5, 3), 35);
    let labels = [0, 1, 2, 1, 0];
    let (value, g) = net_loss_grad(&net, &x, &labels);
    assert_eq!(value, net_loss(&net, &x, &labels));
    let g = g.net;
    assert_gradients(
        |v| {
            let n = Net64 {
                first: Layer64 {
                    w: d2(&v[0]),
                    b: d1(&v[1]),
                },
                second: Layer64 {
                    w: d2(&v[2]),
                    b: d1(&v[3]),
                },
            };
            net_loss(&n, &x, &labels)
        },
        &[
            net.first.w.into_dyn(),
            net.first.b.into_dyn(),
            net.second.w.into_dyn(),
            net.second.b.into_dyn(),
        ],
        &[
            g.first.w.into_dyn(),
            g.first.b.into_dyn(),
            g.second.w.into_dyn(),
            g.second.b.into_dyn(),
        ],
    );
}

// A model with a tensor the loss never reads: its gradient is zeros, also when
// the workspace hands back buffers that held other values.
#[derive(Params, Debug, Clone)]
struct WithSpare {
    w: Array2<f64>,
    b: Array1<f64>,
    spare: Array2<f64>,
}

#[differentiable(wrt(model))]
fn spare_loss(model: &WithSpare, x: &Array2<f64>, labels: &[usize]) -> f64 {
    cross_entropy(&linear(x, &model.w, &model.b), labels)
}

#[test]
fn a_field_the_loss_never_reads_gets_zeros() {
    let model = WithSpare {
        w: random((3, 4), 41),
        b: random(3, 42),
        spare: random((2, 5), 43),
    };
    let x = random((6, 4), 44);
    let labels = [0, 1, 2, 0, 1, 2];
    let (value, plain) = spare_loss_grad(&model, &x, &labels);
    assert_eq!(plain.model.spare, Array2::<f64>::zeros((2, 5)));
    let mut ws = Workspace::new();
    // Fill the workspace with buffers of non-zero values of every size.
    ws.recycle(model.clone());
    for _ in 0..3 {
        let (again, g) = spare_loss_grad_with(&mut ws, &model, &x, &labels);
        assert_eq!(again, value);
        assert_eq!(g.model.w, plain.model.w);
        assert_eq!(g.model.b, plain.model.b);
        assert_eq!(g.model.spare, Array2::<f64>::zeros((2, 5)));
        ws.recycle(g.model);
    }
}

#[test]
fn visit_zip_mut_pairs_corresponding_tensors() {
    let mut net = Net64 {
        first: Layer64 {
            w: random((4, 3), 51),
            b: random(4, 52),
        },
        second: Layer64 {
            w: random((3, 4), 53),
            b: random(3, 54),
        },
    };
    let other = net.clone();
    let names: Vec<String> = net.shapes().into_iter().map(|(name, _)| name).collect();
    assert_eq!(names, ["first.w", "first.b", "second.w", "second.b"]);
    let mut seen = Vec::new();
    net.visit_zip_mut(&other, &mut |mut mine, theirs| {
        assert_eq!(mine, theirs);
        seen.push(mine.shape().to_vec());
        mine *= 2.0;
    });
    let expected: Vec<Vec<usize>> = other.shapes().into_iter().map(|(_, shape)| shape).collect();
    assert_eq!(seen, expected);
    assert_eq!(net.second.b, &other.second.b * 2.0);
}
