use autodiff::prelude::*;

#[derive(Params)]
struct Head {
    w: Array2<f64>,
}

#[derive(Params)]
struct Block {
    heads: Vec<Head>,
}

#[derive(Params)]
struct Net {
    blocks: Vec<Block>,
}

// A model's own list may be indexed (`net.blocks[0]`); a list inside one of
// its elements may not.
#[differentiable(wrt(net))]
fn loss(net: &Net, x: &Array2<f64>) -> f64 {
    let mut h = matmul(x, &net.blocks[0].heads.first().unwrap().w);
    for block in &net.blocks {
        h = relu(&matmul(&h, &block.heads[0].w));
    }
    sum(&h)
}

fn main() {}
