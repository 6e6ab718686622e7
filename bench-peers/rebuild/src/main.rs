use autodiff::prelude::*;

#[derive(Params, Clone)]
pub struct Lstm {
    pub wx: Array2<f32>,
    pub b: Array1<f32>,
    pub u: Array2<f32>,
    pub wo: Array2<f32>,
    pub bo: Array1<f32>,
}

impl Lstm {
    #[cfg_attr(feature = "macro", differentiable(wrt(self, x, h, c)))]
    pub fn step(&self, x: &Array2<f32>, h: &Array2<f32>, c: &Array2<f32>) -> (Array2<f32>, Array2<f32>) {
        let n = h.ncols();
        let gates = linear(x, &self.wx, &self.b) + h.dot(&self.u.t());
        let i = sigmoid(&gates.slice(s![.., 0..n]));
        let f = sigmoid(&gates.slice(s![.., n..2 * n]));
        let g = tanh(&gates.slice(s![.., 2 * n..3 * n]));
        let o = sigmoid(&gates.slice(s![.., 3 * n..]));
        let c = f * c + i * g;
        let h = o * tanh(&c);
        (h, c)
    }

    #[cfg_attr(feature = "macro", differentiable(wrt(self)))]
    pub fn loss(&self, xs: &[Array2<f32>], labels: &[usize]) -> f32 {
        let zeros = Array2::zeros((xs[0].nrows(), self.u.ncols()));
        let (mut h, mut c) = (zeros.clone(), zeros);
        for x in xs {
            (h, c) = self.step(x, &h, &c);
        }
        cross_entropy(&linear(&h, &self.wo, &self.bo), labels)
    }
}

fn main() {
    let k = 0.1; // EDIT
    let m = Lstm {
        wx: Array2::from_elem((32, 8), k),
        b: Array1::zeros(32),
        u: Array2::from_elem((32, 8), k),
        wo: Array2::from_elem((10, 8), k),
        bo: Array1::zeros(10),
    };
    let xs: Vec<Array2<f32>> = (0..5).map(|_| Array2::from_elem((4, 8), 0.5)).collect();
    #[cfg(feature = "macro")]
    {
        let (l, g) = m.loss_grad(&xs, &[1, 2, 3, 4]);
        println!("{l} {}", g.self_.wx.sum());
    }
    #[cfg(not(feature = "macro"))]
    println!("{}", m.loss(&xs, &[1, 2, 3, 4]));
}
