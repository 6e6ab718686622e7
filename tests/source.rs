//! The generated code can be read: `NAME_GRAD_SOURCE` holds `NAME_grad` as
//! the macro generated it, pretty-printed (the same text is in the rustdoc of
//! `NAME_grad`), with locals named after the user's variables.

use autodiff::prelude::*;

#[differentiable(wrt(w))]
fn fan_out(x: &Array2<f64>, w: &Array2<f64>) -> f64 {
    let h = relu(&matmul(x, w));
    let skip = &h * 2.0;
    sum(&(&h + &skip))
}

struct Scaled {
    factor: f64,
}

impl Scaled {
    #[differentiable(wrt(x))]
    fn energy(&self, x: &Array2<f64>) -> f64 {
        sum(&(x * self.factor))
    }
}

/// The identifier of the form `__<kind><n>_<name>` in `source`.
fn generated(source: &str, kind: &str, name: &str) -> Option<String> {
    source
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .find(|w| {
            w.strip_prefix(&format!("__{kind}"))
                .and_then(|rest| rest.strip_suffix(&format!("_{name}")))
                .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
        })
        .map(str::to_owned)
}

#[test]
fn the_source_is_the_generated_function() {
    let source = FAN_OUT_GRAD_SOURCE;
    assert!(source.starts_with("fn fan_out_grad("), "{source}");
    assert!(source.trim_end().ends_with('}'), "{source}");
    // The hygienic paths are shortened for reading.
    assert!(!source.contains("::autodiff::__private::"), "{source}");
    assert!(!source.contains("::core::option::Option::"), "{source}");
    // The value `h` and its gradient are named after it; the gradient of
    // `h`, used twice, is summed.
    let (value, grad) = (generated(source, "v", "h"), generated(source, "g", "h"));
    let (value, grad) = (value.expect("h's value is named"), grad.expect("h's gradient is named"));
    assert!(source.contains("relu_vjp(&") && source.contains(&value), "{source}");
    assert!(
        source.contains(&format!("let {grad} = accumulate({grad}, ")),
        "{source}"
    );
    // What it describes is what runs: the gradient agrees with 2·relu'·x.
    let x = Array2::from_shape_vec((2, 2), vec![1.0, -2.0, 0.5, 3.0]).unwrap();
    let w = Array2::from_shape_vec((2, 2), vec![0.3, -0.1, 0.2, 0.4]).unwrap();
    let (_, g) = fan_out_grad(&x, &w);
    let active = x.dot(&w).mapv(|v| if v > 0.0 { 3.0 } else { 0.0 });
    assert!((g.w - x.t().dot(&active)).iter().all(|d| d.abs() < 1e-12));
}

#[test]
fn a_method_has_its_source_as_an_associated_constant() {
    let source = Scaled::ENERGY_GRAD_SOURCE;
    assert!(source.starts_with("fn energy_grad(&self"), "{source}");
    assert!(generated(source, "g", "x").is_some(), "{source}");
    let s = Scaled { factor: 3.0 };
    let (_, g) = s.energy_grad(&Array2::ones((2, 2)));
    assert_eq!(g.args.0, Array2::from_elem((2, 2), 3.0));
}
