//! Gradient hooks: `NAME_grad` reports each model field's gradient when it is
//! final, with the value it returns, in the same order on every call; and
//! every tensor of the whole gradient before returning it.

mod common;

use autodiff::hooks::{Elements, ElementsMut, GradientHook, with_gradient_hook};
use autodiff::prelude::*;
use common::random;

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Ready,
    Finish,
}

#[derive(Debug, Clone)]
struct Event {
    name: String,
    kind: Kind,
    shape: Vec<usize>,
    values: Vec<f64>,
    /// How many statements of the backward pass had run.
    statements: usize,
}

/// Records every event; `scale` multiplies the values at `finish`.
#[derive(Default)]
struct Recorder {
    events: Vec<Event>,
    statements: usize,
    scale: Option<f64>,
}

fn values(e: &Elements<'_>) -> Vec<f64> {
    match e {
        Elements::F32(v) => v.iter().map(|&x| f64::from(x)).collect(),
        Elements::F64(v) => v.iter().copied().collect(),
    }
}

impl GradientHook for Recorder {
    fn ready(&mut self, name: &str, gradient: Elements<'_>) {
        self.events.push(Event {
            name: name.to_string(),
            kind: Kind::Ready,
            shape: gradient.shape().to_vec(),
            values: values(&gradient),
            statements: self.statements,
        });
    }

    fn progress(&mut self) {
        self.statements += 1;
    }

    fn finish(&mut self, name: &str, mut gradient: ElementsMut<'_>) {
        let values = match &gradient {
            ElementsMut::F32(v) => v.iter().map(|&x| f64::from(x)).collect(),
            ElementsMut::F64(v) => v.iter().copied().collect(),
        };
        self.events.push(Event {
            name: name.to_string(),
            kind: Kind::Finish,
            shape: gradient.shape().to_vec(),
            values,
            statements: self.statements,
        });
        if let (Some(s), ElementsMut::F64(v)) = (self.scale, &mut gradient) {
            v.mapv_inplace(|x| x * s);
        }
    }
}

impl Recorder {
    fn of(&self, kind: Kind) -> Vec<&Event> {
        self.events.iter().filter(|e| e.kind == kind).collect()
    }

    fn names(&self, kind: Kind) -> Vec<&str> {
        self.of(kind).iter().map(|e| e.name.as_str()).collect()
    }
}

/// Every tensor of `grad`, by name under `prefix`, flattened.
fn tensors<P: Params<Elem = f64>>(prefix: &str, grad: &P) -> Vec<(String, Vec<f64>)> {
    let mut out = Vec::new();
    grad.visit(&mut |name, v| out.push((format!("{prefix}.{name}"), v.iter().copied().collect())));
    out
}

#[derive(Params, Debug, Clone)]
struct Mlp {
    w1: Array2<f64>,
    b1: Array1<f64>,
    w2: Array2<f64>,
    b2: Array1<f64>,
    w3: Array2<f64>,
    b3: Array1<f64>,
}

#[differentiable(wrt(model))]
fn mlp_loss(model: &Mlp, x: &Array2<f64>, labels: &[usize]) -> f64 {
    let h1 = relu(&linear(x, &model.w1, &model.b1));
    let h2 = tanh(&linear(&h1, &model.w2, &model.b2));
    cross_entropy(&linear(&h2, &model.w3, &model.b3), labels)
}

fn mlp() -> Mlp {
    Mlp {
        w1: random((6, 4), 1),
        b1: random(6, 2),
        w2: random((5, 6), 3),
        b2: random(5, 4),
        w3: random((3, 5), 5),
        b3: random(3, 6),
    }
}

#[test]
fn fields_are_ready_last_layer_first_with_the_values_returned() {
    let (model, x, labels) = (mlp(), random((7, 4), 9), [0, 2, 1, 1, 0, 2, 2]);
    let (plain_value, plain) = mlp_loss_grad(&model, &x, &labels);
    let mut hook = Recorder::default();
    let (value, g) = with_gradient_hook(&mut hook, || mlp_loss_grad(&model, &x, &labels));
    assert_eq!(
        (value, &g.model.w1),
        (plain_value, &plain.model.w1),
        "a hook changes nothing"
    );

    // Backward order: a layer's fields are final right after its VJP, while
    // the layers before it are still to be differentiated.
    let ready = hook.of(Kind::Ready);
    let order: Vec<&str> = ready.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        order,
        ["model.b3", "model.w3", "model.b2", "model.w2", "model.b1", "model.w1"]
    );
    let at = |name: &str| {
        ready
            .iter()
            .find(|e| e.name == name)
            .map(|e| e.statements)
            .unwrap_or_default()
    };
    assert!(at("model.w3") < at("model.w2") && at("model.w2") < at("model.w1"));
    assert!(
        hook.statements > at("model.w1"),
        "progress after the last statement too"
    );

    // What was reported is what is returned.
    let returned = tensors("model", &g.model);
    for e in &ready {
        let (_, v) = returned.iter().find(|(n, _)| *n == e.name).expect("a returned tensor");
        assert_eq!(&e.values, v, "{}", e.name);
    }
    // `finish` sees every tensor once, in the model's order, at the end.
    let finished: Vec<(String, Vec<f64>)> = hook
        .of(Kind::Finish)
        .iter()
        .map(|e| (e.name.clone(), e.values.clone()))
        .collect();
    assert_eq!(finished, returned);
    assert!(hook.of(Kind::Finish).iter().all(|e| e.statements == hook.statements));
}

#[test]
fn the_workspace_version_reports_the_same() {
    let (model, x, labels) = (mlp(), random((3, 4), 11), [1, 0, 2]);
    let mut plain = Recorder::default();
    with_gradient_hook(&mut plain, || mlp_loss_grad(&model, &x, &labels));
    let mut ws = Workspace::new();
    for _ in 0..2 {
        let mut hook = Recorder::default();
        let (_, g) = with_gradient_hook(&mut hook, || mlp_loss_grad_with(&mut ws, &model, &x, &labels));
        assert_eq!(hook.names(Kind::Ready), plain.names(Kind::Ready));
        assert_eq!(hook.events.len(), plain.events.len());
        ws.recycle(g.model);
    }
}

#[test]
fn finish_may_change_the_gradient() {
    let (model, x, labels) = (mlp(), random((4, 4), 12), [0, 1, 2, 0]);
    let (_, plain) = mlp_loss_grad(&model, &x, &labels);
    let mut hook = Recorder {
        scale: Some(0.5),
        ..Recorder::default()
    };
    let (_, halved) = with_gradient_hook(&mut hook, || mlp_loss_grad(&model, &x, &labels));
    assert_eq!(halved.model.w2, &plain.model.w2 * 0.5);
    assert_eq!(halved.model.b3, &plain.model.b3 * 0.5);
}

#[test]
fn no_hook_after_the_call_returns_or_unwinds() {
    let (model, x, labels) = (mlp(), random((2, 4), 13), [0, 1]);
    let mut hook = Recorder::default();
    with_gradient_hook(&mut hook, || mlp_loss_grad(&model, &x, &labels));
    let events = hook.events.len();
    let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        with_gradient_hook(&mut hook, || panic!("inside"))
    }));
    assert!(unwound.is_err());
    assert!(!autodiff::hooks::hooked());
    mlp_loss_grad(&model, &x, &labels);
    assert_eq!(hook.events.len(), events);
}

#[test]
fn hooks_nest() {
    let (model, x, labels) = (mlp(), random((2, 4), 14), [2, 1]);
    let (mut outer, mut inner) = (Recorder::default(), Recorder::default());
    with_gradient_hook(&mut outer, || {
        with_gradient_hook(&mut inner, || mlp_loss_grad(&model, &x, &labels));
        mlp_loss_grad(&model, &x, &labels);
    });
    assert_eq!(inner.events.len(), outer.events.len());
    assert_eq!(inner.names(Kind::Ready), outer.names(Kind::Ready));
}

// Layers visited by a loop: each layer is final when the loop's backward
// half has finished with it; the head, used last, is final first. A loop that
// may stop early reports the whole list after it.
#[derive(Params, Debug, Clone)]
struct Layer {
    w: Array2<f64>,
    b: Array1<f64>,
}

#[derive(Params, Debug, Clone)]
struct Deep {
    layers: Vec<Layer>,
    head: Layer,
}

#[differentiable(wrt(net))]
fn deep_loss(net: &Deep, x: &Array2<f64>, labels: &[usize]) -> f64 {
    let mut h = tanh(x);
    for layer in &net.layers {
        h = tanh(&linear(&h, &layer.w, &layer.b));
    }
    cross_entropy(&linear(&h, &net.head.w, &net.head.b), labels)
}

fn deep(depth: usize) -> Deep {
    let layer = |i: u64| Layer {
        w: random((4, 4), 20 + 2 * i) * 0.5,
        b: random(4, 21 + 2 * i),
    };
    Deep {
        layers: (0..depth as u64).map(layer).collect(),
        head: Layer {
            w: random((3, 4), 40),
            b: random(3, 41),
        },
    }
}

#[test]
fn layer_lists_are_ready_after_their_loop() {
    let (x, labels) = (random((5, 4), 30), [0, 1, 2, 1, 0]);
    for depth in [0, 1, 3] {
        let net = deep(depth);
        let mut hook = Recorder::default();
        let (_, g) = with_gradient_hook(&mut hook, || deep_loss_grad(&net, &x, &labels));
        // The head first, then each layer as the loop's backward half leaves it.
        let mut expected = vec!["net.head.b".to_string(), "net.head.w".to_string()];
        for i in (0..depth).rev() {
            expected.extend([format!("net.layers.{i}.w"), format!("net.layers.{i}.b")]);
        }
        assert_eq!(hook.names(Kind::Ready), expected, "depth {depth}");
        let returned = tensors("net", &g.net);
        for e in hook.of(Kind::Ready) {
            let (_, v) = returned.iter().find(|(n, _)| *n == e.name).expect("a returned tensor");
            assert_eq!(&e.values, v, "{}", e.name);
        }
        assert_eq!(hook.of(Kind::Finish).len(), returned.len());
        let at = |name: &str| hook.events.iter().find(|e| e.name == name).map(|e| e.statements);
        if depth == 3 {
            assert!(at("net.layers.2.w") < at("net.layers.0.w"), "layer by layer");
        }
    }
}

#[differentiable(wrt(net))]
#[allow(clippy::explicit_counter_loop)]
fn stopping_loss(net: &Deep, x: &Array2<f64>, labels: &[usize], depth: usize) -> f64 {
    let mut h = tanh(x);
    let mut k = 0;
    for layer in &net.layers {
        if k == depth {
            break;
        }
        h = tanh(&linear(&h, &layer.w, &layer.b));
        k += 1;
    }
    cross_entropy(&linear(&h, &net.head.w, &net.head.b), labels)
}

#[test]
fn a_loop_that_may_stop_early_reports_every_layer_after_it() {
    let (x, labels, net) = (random((5, 4), 31), [0, 1, 2, 1, 0], deep(3));
    let mut names = Vec::new();
    for depth in [1, 3] {
        let mut hook = Recorder::default();
        let (_, g) = with_gradient_hook(&mut hook, || stopping_loss_grad(&net, &x, &labels, depth));
        assert!(g.net.layers[2].w.iter().all(|&v| v == 0.0) == (depth == 1));
        let layer_2 = hook
            .events
            .iter()
            .find(|e| e.name == "net.layers.2.w")
            .expect("reported");
        assert_eq!(layer_2.values, g.net.layers[2].w.iter().copied().collect::<Vec<_>>());
        names.push(shapes(&hook));
    }
    assert_eq!(names[0], names[1], "the same events at any depth");
}

// A field that one arm does not use, and an early return: the same events,
// by name and shape, whichever way the forward pass went.
#[derive(Params, Debug, Clone)]
struct Two {
    a: Array2<f64>,
    b: Array2<f64>,
}

#[differentiable(wrt(model))]
fn gated(model: &Two, x: &Array2<f64>, wide: bool) -> f64 {
    let h = tanh(&matmul(x, &model.a));
    if wide { sum(&matmul(&h, &model.b)) } else { sum(&h) }
}

#[differentiable(wrt(model))]
fn early(model: &Two, x: &Array2<f64>, stop: bool) -> f64 {
    let h = tanh(&matmul(x, &model.a));
    if stop {
        return sum(&h);
    }
    sum(&matmul(&h, &model.b))
}

fn two() -> Two {
    Two {
        a: random((3, 4), 50),
        b: random((4, 2), 51),
    }
}

fn shapes(hook: &Recorder) -> Vec<(String, Vec<usize>)> {
    hook.events.iter().map(|e| (e.name.clone(), e.shape.clone())).collect()
}

#[test]
fn the_same_events_whichever_way_the_forward_pass_went() {
    let (model, x) = (two(), random((2, 3), 52));
    let runs: Vec<Recorder> = [true, false]
        .iter()
        .flat_map(|&flag| {
            let mut a = Recorder::default();
            let (_, ga) = with_gradient_hook(&mut a, || gated_grad(&model, &x, flag));
            let mut b = Recorder::default();
            let (_, gb) = with_gradient_hook(&mut b, || early_grad(&model, &x, !flag));
            if !flag {
                assert!(ga.model.b.iter().all(|&v| v == 0.0));
                assert!(gb.model.b.iter().all(|&v| v == 0.0));
                let zero = a.events.iter().find(|e| e.name == "model.b").expect("model.b reported");
                assert_eq!(zero.shape, [4, 2]);
                assert_eq!(zero.values, [0.0; 8]);
            }
            [a, b]
        })
        .collect();
    assert_eq!(shapes(&runs[0]), shapes(&runs[2]), "gated");
    assert_eq!(shapes(&runs[1]), shapes(&runs[3]), "early return");
    assert_eq!(runs[0].names(Kind::Ready), ["model.b", "model.a"]);
}

// A parameter also used whole (passed to another differentiable function):
// its fields are complete only at the end, so they are only finished.
#[differentiable(wrt(model, x))]
fn inner(model: &Two, x: &Array2<f64>) -> Array2<f64> {
    tanh(&matmul(&matmul(x, &model.a), &model.b))
}

#[differentiable(wrt(model))]
fn whole(model: &Two, x: &Array2<f64>) -> f64 {
    sum(&inner(model, x)) + sum(&model.a)
}

#[test]
fn a_parameter_used_whole_is_only_finished() {
    let (model, x) = (two(), random((2, 3), 53));
    let mut hook = Recorder::default();
    let (_, g) = with_gradient_hook(&mut hook, || whole_grad(&model, &x));
    assert!(hook.of(Kind::Ready).is_empty());
    let finished: Vec<(String, Vec<f64>)> = hook
        .of(Kind::Finish)
        .iter()
        .map(|e| (e.name.clone(), e.values.clone()))
        .collect();
    assert_eq!(finished, tensors("model", &g.model));
}

// f32 gradients, a method's receiver, and plain array parameters.
#[derive(Params, Debug, Clone)]
struct Small {
    w: Array2<f32>,
}

impl Small {
    #[differentiable]
    fn loss(&self, x: &Array2<f32>, v: &Array1<f32>) -> f32 {
        sum(&(matmul(x, &self.w) + v))
    }
}

#[test]
fn f32_methods_and_plain_arrays() {
    let small = Small {
        w: random((3, 2), 60).mapv(|v| v as f32),
    };
    let (x, v) = (random((2, 3), 61).mapv(|v| v as f32), Array1::from(vec![1.0f32, 2.0]));
    let mut hook = Recorder::default();
    let (_, g) = with_gradient_hook(&mut hook, || small.loss_grad(&x, &v));
    // `v` is final after the addition's VJP, `x` and `self.w` after the product's.
    assert_eq!(hook.names(Kind::Ready), ["v", "x", "self.w"]);
    assert_eq!(hook.names(Kind::Finish), ["self.w", "x", "v"]);
    let w: Vec<f64> = g.self_.w.iter().map(|&v| f64::from(v)).collect();
    assert_eq!(hook.of(Kind::Ready)[2].values, w);
    assert_eq!(hook.of(Kind::Finish)[2].values, vec![2.0, 2.0]);
}

// A generic function: the events do not depend on the element type being known.
#[differentiable(wrt(w, b))]
fn generic_loss<F: Float>(w: &Array2<F>, b: &Array1<F>, x: &Array2<F>) -> F {
    sum(&tanh(&linear(x, w, b)))
}

#[test]
fn generic_functions_report_too() {
    let (w, b, x) = (random((2, 3), 70), random(2, 71), random((4, 3), 72));
    let mut hook = Recorder::default();
    let (_, g) = with_gradient_hook(&mut hook, || generic_loss_grad(&w, &b, &x));
    assert_eq!(hook.names(Kind::Ready), ["w", "b"]);
    assert_eq!(hook.names(Kind::Finish), ["w", "b"]);
    assert_eq!(hook.of(Kind::Finish)[0].values, g.w.iter().copied().collect::<Vec<_>>());
}
