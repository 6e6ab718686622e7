#[differentiable(wrt(model))]
fn model_loss(model: &Mlp, x: &Array2<f64>, labels: &[usize]) -> f64 {
    let h = relu(&linear(x, &model.w1, &model.b1));
    cross_entropy(&linear(&h, &model.w2, &model.b2), labels) + 0.001 * l2(&model.w1)
}
