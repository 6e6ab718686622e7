#[differentiable]
fn lstm_cell(x: &Array2<f64>, h: &Array2<f64>, c: &Array2<f64>, w: &Array2<f64>, b: &Array1<f64>) -> (Array2<f64>, Array2<f64>) {
    let n = h.ncols();
    let gates = linear(x, w, b);
    let i = sigmoid(&gates.slice(s![.., 0..n]));
    let f = sigmoid(&gates.slice(s![.., n..2 * n]));
    let g = tanh(&gates.slice(s![.., 2 * n..]));
    let c = f * c + i * g;
    let h = tanh(&c);
    (h, c)
}
