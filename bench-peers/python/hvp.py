"""The Hessian-vector products of benches/hvp.rs (the MLPs of benches/step.rs:
ReLU between layers, mean cross-entropy, f32) in JAX and PyTorch, next to
their own gradient step: JAX's forward-over-reverse `jax.jvp(jax.grad(f))`
under jit (returning the gradient and H·v, as ours does), PyTorch's
`torch.func.jvp` over `torch.func.grad` (the same, eager) and its double
backward (`autograd.grad` with `create_graph=True`, then the gradient of
⟨∇f, v⟩: reverse-over-reverse).

Threads: as steps.py (`taskset -c 0` for one thread of JAX, THREADS=1 for
PyTorch).

Run: python hvp.py            (pip install jax torch)
"""
import os

import numpy as np

from steps import MLPS, ROUNDS, timed

REPS = {"small": 1000, "mnist": 20, "deep": 10}


def problem(batch, sizes, rng):
    x = rng.uniform(-1, 1, (batch, sizes[0])).astype(np.float32)
    layers, direction = [], []
    for i, o in zip(sizes[:-1], sizes[1:]):
        s = np.sqrt(6.0 / i)
        layers.append((rng.uniform(-s, s, (o, i)).astype(np.float32), np.zeros(o, np.float32)))
        direction.append((rng.uniform(-1, 1, (o, i)).astype(np.float32), rng.uniform(-1, 1, o).astype(np.float32)))
    labels = np.arange(batch) % sizes[-1]
    return x, labels, layers, direction


def jax_rows():
    import jax
    import jax.numpy as jnp

    def loss(layers, x, labels):
        h = x
        for i, (w, b) in enumerate(layers):
            h = h @ w.T + b
            if i < len(layers) - 1:
                h = jax.nn.relu(h)
        logp = jax.nn.log_softmax(h)
        return -jnp.mean(logp[jnp.arange(x.shape[0]), labels])

    rng = np.random.default_rng(42)
    rows = {}
    for name, batch, sizes in MLPS:
        x, labels, layers, direction = problem(batch, sizes, rng)
        layers = [(jnp.asarray(w), jnp.asarray(b)) for w, b in layers]
        direction = [(jnp.asarray(w), jnp.asarray(b)) for w, b in direction]
        x, labels = jnp.asarray(x), jnp.asarray(labels)
        grad = jax.jit(jax.value_and_grad(loss))
        hvp = jax.jit(lambda p, v: jax.jvp(lambda q: jax.grad(loss)(q, x, labels), (p,), (v,)))
        g = timed(lambda: jax.block_until_ready(grad(layers, x, labels)), REPS[name])
        h = timed(lambda: jax.block_until_ready(hvp(layers, direction)), REPS[name])
        rows[name] = (g, h)
    return f"JAX {jax.__version__} (jit): jvp(grad(f))", rows


def torch_rows():
    import torch
    import torch.nn.functional as F
    from torch.func import grad, jvp

    if os.environ.get("THREADS"):
        torch.set_num_threads(int(os.environ["THREADS"]))
    rng = np.random.default_rng(42)
    rows, double = {}, {}
    for name, batch, sizes in MLPS:
        x, labels, layers, direction = problem(batch, sizes, rng)
        params = [torch.tensor(a) for l in layers for a in l]
        v = [torch.tensor(a) for l in direction for a in l]
        x, labels = torch.tensor(x), torch.tensor(labels)

        def loss(p):
            h = x
            for i in range(0, len(p), 2):
                h = F.linear(h, p[i], p[i + 1])
                if i + 2 < len(p):
                    h = F.relu(h)
            return F.cross_entropy(h, labels)

        leaves = [p.clone().requires_grad_() for p in params]

        def gradient():
            return torch.autograd.grad(loss(leaves), leaves)

        def forward_over_reverse():
            return jvp(grad(loss), (params,), (v,))

        def reverse_over_reverse():
            g = torch.autograd.grad(loss(leaves), leaves, create_graph=True)
            dot = sum((a * b).sum() for a, b in zip(g, v))
            return torch.autograd.grad(dot, leaves)

        g = timed(gradient, REPS[name])
        rows[name] = (g, timed(forward_over_reverse, REPS[name]))
        double[name] = (g, timed(reverse_over_reverse, REPS[name]))
    threads = torch.get_num_threads()
    return [
        (f"PyTorch {torch.__version__} (eager, {threads} threads): torch.func.jvp(grad(f))", rows),
        (f"PyTorch {torch.__version__} (eager, {threads} threads): double backward", double),
    ]


def main():
    print(f"f32, µs (median of {ROUNDS} rounds): gradient step, then H·v; affinity: {sorted(os.sched_getaffinity(0))}")
    for peer in (jax_rows, torch_rows):
        try:
            results = peer()
        except ImportError as e:
            print(f"{peer.__name__}: not installed ({e})")
            continue
        for name, rows in results if isinstance(results, list) else [results]:
            cells = ", ".join(f"{k} {g:,.1f} / {h:,.1f} ({h / g:.2f}×)" for k, (g, h) in rows.items())
            print(f"{name}: {cells}")


if __name__ == "__main__":
    main()
