#[differentiable(wrt(wx, b, u))]
fn rnn(xs: &[Array2<f32>], wx: &Array2<f32>, b: &Array1<f32>, u: &Array2<f32>) -> f32 {
    let mut h = tanh(&linear(&xs[0], wx, b));
    for t in 1..xs.len() {
        h = tanh(&(linear(&xs[t], wx, b) + matmul(&h, u)));
    }
    mean(&h)
}
