use autodiff::prelude::*;

#[differentiable(wrt(w))]
async fn loss(w: &Array1<f64>, ready: std::future::Ready<f64>) -> f64 {
    let k = ready.await;
    sum(w) * k
}

fn main() {}
