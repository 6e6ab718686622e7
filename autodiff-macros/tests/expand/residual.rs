#[differentiable]
fn residual(x: &Array2<f64>, w: &Array2<f64>, b: &Array1<f64>) -> f64 {
    let h = relu(&linear(x, w, b));
    let (left, right) = duplicate(&h);
    let y = left + max(&right, &h) * 0.5;
    sum(&y)
}
