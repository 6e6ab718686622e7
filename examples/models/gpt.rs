//! A decoder-only transformer (GPT-2's layout, as nanoGPT writes it): token
//! and position embeddings, pre-norm blocks of causal multi-head
//! self-attention and a 4× GELU MLP with residual connections, a final layer
//! norm, and an output head tied to the token table. Generic over the float
//! type, so that its gradient is checked in f64.

use autodiff::prelude::*;
use rand::Rng;

/// The shape of a GPT; kept outside the model, which holds only tensors.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    pub vocab: usize,
    pub context: usize,
    pub layers: usize,
    pub heads: usize,
    pub width: usize,
}

/// One block: `x + attention(ln₁(x))`, then `x + mlp(ln₂(x))`.
#[derive(Params, Clone)]
pub struct Block<F: Float> {
    pub ln1_g: Array1<F>,
    pub ln1_b: Array1<F>,
    /// Queries, keys and values in one product: `[3·width, width]`.
    pub qkv_w: Array2<F>,
    pub qkv_b: Array1<F>,
    pub proj_w: Array2<F>,
    pub proj_b: Array1<F>,
    pub ln2_g: Array1<F>,
    pub ln2_b: Array1<F>,
    /// `[4·width, width]`.
    pub fc_w: Array2<F>,
    pub fc_b: Array1<F>,
    /// `[width, 4·width]`.
    pub out_w: Array2<F>,
    pub out_b: Array1<F>,
}

#[derive(Params, Clone)]
pub struct Gpt<F: Float> {
    /// `[vocab, width]`: the token embedding, and the output head (tied).
    pub tokens: Array2<F>,
    /// `[context, width]`.
    pub positions: Array2<F>,
    pub blocks: Vec<Block<F>>,
    pub ln_g: Array1<F>,
    pub ln_b: Array1<F>,
}

impl<F: Float> Gpt<F> {
    /// A model initialised as GPT-2: weights normal with σ = 0.02, the
    /// projections back into the residual stream with σ = 0.02/√(2·layers),
    /// biases 0, norms' scales 1.
    pub fn new(config: Config, rng: &mut impl Rng) -> Gpt<F> {
        let Config {
            vocab,
            context,
            layers,
            width,
            ..
        } = config;
        let mut normal = |shape: (usize, usize), std: f64| {
            Array2::from_shape_simple_fn(shape, || {
                // Box-Muller: two uniforms give one standard normal.
                let (u, v): (f64, f64) = (rng.random_range(f64::EPSILON..1.0), rng.random());
                F::of(std * (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos())
            })
        };
        let residual = 0.02 / (2.0 * layers as f64).sqrt();
        let blocks = (0..layers)
            .map(|_| Block {
                ln1_g: Array1::ones(width),
                ln1_b: Array1::zeros(width),
                qkv_w: normal((3 * width, width), 0.02),
                qkv_b: Array1::zeros(3 * width),
                proj_w: normal((width, width), residual),
                proj_b: Array1::zeros(width),
                ln2_g: Array1::ones(width),
                ln2_b: Array1::zeros(width),
                fc_w: normal((4 * width, width), 0.02),
                fc_b: Array1::zeros(4 * width),
                out_w: normal((width, 4 * width), residual),
                out_b: Array1::zeros(width),
            })
            .collect();
        Gpt {
            tokens: normal((vocab, width), 0.02),
            positions: normal((context, width), 0.02),
            blocks,
            ln_g: Array1::ones(width),
            ln_b: Array1::zeros(width),
        }
    }

    /// The mean cross-entropy of predicting `targets` (one per position,
    /// row-major) from `ids` `[batch, time]`, with `heads` attention heads.
    #[differentiable(wrt(self))]
    pub fn loss(&self, ids: &Array2<usize>, targets: &[usize], heads: usize) -> F {
        let (b, t) = ids.dim();
        let c = self.tokens.ncols();
        let d = c / heads;
        let eps = F::of(1e-5);
        let scale = F::of(1.0 / (d as f64).sqrt());
        // Positions 0..t: the first t rows of the table, broadcast over the batch.
        let mut x = embedding(ids, &self.tokens) + narrow(&self.positions, 0, 0, t);
        for block in &self.blocks {
            // Causal self-attention, heads side by side: [b, h, t, d].
            let h = layer_norm(&x, &block.ln1_g, &block.ln1_b, eps);
            let qkv = linear(&h, &block.qkv_w, &block.qkv_b);
            let [q, k, v] = split(&qkv, 3, 2);
            // Scaled by 1/√d before the product: the same scores as scaling
            // them, on a t/d times smaller array.
            let q = permute(&reshape(&(q * scale), (b, t, heads, d)), [0, 2, 1, 3]);
            let k = permute(&reshape(&k, (b, t, heads, d)), [0, 2, 3, 1]);
            let v = permute(&reshape(&v, (b, t, heads, d)), [0, 2, 1, 3]);
            let att = softmax(&causal_mask(&matmul(&q, &k)));
            let y = reshape(&permute(&matmul(&att, &v), [0, 2, 1, 3]), (b, t, c));
            x = &x + &linear(&y, &block.proj_w, &block.proj_b);
            // The MLP.
            let h = layer_norm(&x, &block.ln2_g, &block.ln2_b, eps);
            let m = linear(&gelu(&linear(&h, &block.fc_w, &block.fc_b)), &block.out_w, &block.out_b);
            x = &x + &m;
        }
        let h = layer_norm(&x, &self.ln_g, &self.ln_b, eps);
        // The head is the token table: logits = h·tokensᵀ, one row per position.
        let logits = matmul(&reshape(&h, (b * t, c)), &transpose(&self.tokens));
        cross_entropy(&logits, targets)
    }

    /// The next token's logits after the last position of `ids` `[1, time]`
    /// (the same computation as [`Gpt::loss`], for sampling).
    pub fn last_logits(&self, ids: &Array2<usize>, heads: usize) -> Array1<F> {
        let (b, t) = ids.dim();
        let c = self.tokens.ncols();
        let d = c / heads;
        let eps = F::of(1e-5);
        let scale = F::of(1.0 / (d as f64).sqrt());
        // Positions 0..t: the first t rows of the table, broadcast over the batch.
        let mut x = embedding(ids, &self.tokens) + narrow(&self.positions, 0, 0, t);
        for block in &self.blocks {
            let h = layer_norm(&x, &block.ln1_g, &block.ln1_b, eps);
            let qkv = linear(&h, &block.qkv_w, &block.qkv_b);
            let [q, k, v] = split(&qkv, 3, 2);
            // Scaled by 1/√d before the product: the same scores as scaling
            // them, on a t/d times smaller array.
            let q = permute(&reshape(&(q * scale), (b, t, heads, d)), [0, 2, 1, 3]);
            let k = permute(&reshape(&k, (b, t, heads, d)), [0, 2, 3, 1]);
            let v = permute(&reshape(&v, (b, t, heads, d)), [0, 2, 1, 3]);
            let att = softmax(&causal_mask(&matmul(&q, &k)));
            let y = reshape(&permute(&matmul(&att, &v), [0, 2, 1, 3]), (b, t, c));
            x = &x + &linear(&y, &block.proj_w, &block.proj_b);
            let h = layer_norm(&x, &block.ln2_g, &block.ln2_b, eps);
            x = &x + &linear(&gelu(&linear(&h, &block.fc_w, &block.fc_b)), &block.out_w, &block.out_b);
        }
        let last = layer_norm(&x.slice(s![b - 1, t - 1, ..]), &self.ln_g, &self.ln_b, eps);
        self.tokens.dot(&last)
    }
}
