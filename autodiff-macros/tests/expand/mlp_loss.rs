#[differentiable(wrt(w1, b1, w2, b2))]
pub fn mlp_loss(
    x: &Array2<f64>,
    labels: &[usize],
    w1: &Array2<f64>,
    b1: &Array1<f64>,
    w2: &Array2<f64>,
    b2: &Array1<f64>,
) -> f64 {
    let h = linear(x, w1, b1);
    let a = relu(&h);
    let z = linear(&a, w2, b2);
    cross_entropy(&z, labels)
}
