"""The training steps of benches/step.rs (three MLPs), benches/rnn.rs (an
Elman RNN, batch 128, 28 steps of 28 inputs, 128 hidden units, 10 classes)
and benches/lenet.rs (LeNet-5, batch 64, or LENET_BATCH), f32, forward + gradients of the mean cross-entropy, no
optimizer, in JAX (jit) and, when installed, PyTorch (eager): the peers of
the README's tables, measured on the same machine.

Threads: JAX's CPU backend and PyTorch use all cores unless told otherwise;
run under `taskset -c 0` for one thread (XLA's Eigen pool follows the
affinity mask) and set `torch.set_num_threads` through THREADS=1.

Run: python steps.py            (pip install jax; torch optional)
"""
import os
import statistics
import time

import numpy as np

REPS = {"small": 2000, "mnist": 50, "deep": 20, "rnn": 20, "lenet5": 10}
ROUNDS = 7
MLPS = [("small", 16, [64, 32, 10]), ("mnist", 128, [784, 256, 10]), ("deep", 64, [784, 512, 512, 512, 10])]


def timed(step, reps):
    """Median over rounds of the mean time of one call, in µs."""
    step()
    step()
    times = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for _ in range(reps):
            step()
        times.append((time.perf_counter() - start) * 1e6 / reps)
    return statistics.median(times)


def mlp_problem(batch, sizes, rng):
    x = rng.uniform(-1, 1, (batch, sizes[0])).astype(np.float32)
    layers = []
    for i, o in zip(sizes[:-1], sizes[1:]):
        s = np.sqrt(6.0 / i)
        layers.append((rng.uniform(-s, s, (o, i)).astype(np.float32), np.zeros(o, np.float32)))
    labels = np.arange(batch) % sizes[-1]
    return x, labels, layers


def rnn_problem(rng):
    u = lambda shape, s: rng.uniform(-s, s, shape).astype(np.float32)
    params = [u((128, 28), 0.2), np.zeros(128, np.float32), u((128, 128), 0.1), u((10, 128), 0.2),
              np.zeros(10, np.float32)]
    xs = u((28, 128, 28), 1.0)
    labels = np.arange(128) % 10
    return xs, labels, params


def lenet_problem(rng):
    def u(shape):
        fan_in = int(np.prod(shape[1:]))
        s = np.sqrt(6.0 / fan_in)
        return rng.uniform(-s, s, shape).astype(np.float32)

    params = [u((6, 1, 5, 5)), np.zeros(6, np.float32), u((16, 6, 5, 5)), np.zeros(16, np.float32),
              u((120, 400)), np.zeros(120, np.float32), u((84, 120)), np.zeros(84, np.float32),
              u((10, 84)), np.zeros(10, np.float32)]
    batch = int(os.environ.get("LENET_BATCH", "64"))
    x = rng.uniform(-1, 1, (batch, 1, 28, 28)).astype(np.float32)
    labels = np.arange(batch) % 10
    return x, labels, params


def jax_rows():
    import jax
    import jax.numpy as jnp

    def mlp_loss(layers, x, labels):
        h = x
        for i, (w, b) in enumerate(layers):
            h = h @ w.T + b
            if i < len(layers) - 1:
                h = jax.nn.relu(h)
        logp = jax.nn.log_softmax(h)
        return -jnp.mean(logp[jnp.arange(x.shape[0]), labels])

    def lenet_loss(p, x, labels):
        def conv(x, w, b, pad):
            y = jax.lax.conv_general_dilated(x, w, (1, 1), [(pad, pad), (pad, pad)],
                                             dimension_numbers=("NCHW", "OIHW", "NCHW"))
            return y + b[None, :, None, None]

        def pool(x):
            return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")

        h = pool(jax.nn.relu(conv(x, p[0], p[1], 2)))
        h = pool(jax.nn.relu(conv(h, p[2], p[3], 0)))
        h = h.reshape(h.shape[0], -1)
        h = jax.nn.relu(h @ p[4].T + p[5])
        h = jax.nn.relu(h @ p[6].T + p[7])
        z = h @ p[8].T + p[9]
        logp = jax.nn.log_softmax(z)
        return -jnp.mean(logp[jnp.arange(x.shape[0]), labels])

    rng = np.random.default_rng(42)
    rows = {}
    for name, batch, sizes in MLPS:
        x, labels, layers = mlp_problem(batch, sizes, rng)
        layers = [(jnp.asarray(w), jnp.asarray(b)) for w, b in layers]
        step = jax.jit(jax.value_and_grad(mlp_loss))
        x, labels = jnp.asarray(x), jnp.asarray(labels)
        rows[name] = timed(lambda: jax.block_until_ready(step(layers, x, labels)), REPS[name])
    def rnn_loss(p, xs, labels):
        wx, b, u, wo, bo = p
        h0 = jnp.tanh(xs[0] @ wx.T + b)

        def cell(h, x):
            return jnp.tanh(x @ wx.T + b + h @ u), None

        h, _ = jax.lax.scan(cell, h0, xs[1:])
        logp = jax.nn.log_softmax(h @ wo.T + bo)
        return -jnp.mean(logp[jnp.arange(h.shape[0]), labels])

    xs, labels, params = rnn_problem(rng)
    params = [jnp.asarray(a) for a in params]
    step = jax.jit(jax.value_and_grad(rnn_loss))
    xs, labels = jnp.asarray(xs), jnp.asarray(labels)
    rows["rnn"] = timed(lambda: jax.block_until_ready(step(params, xs, labels)), REPS["rnn"])
    x, labels, params = lenet_problem(rng)
    params = [jnp.asarray(a) for a in params]
    step = jax.jit(jax.value_and_grad(lenet_loss))
    x, labels = jnp.asarray(x), jnp.asarray(labels)
    rows["lenet5"] = timed(lambda: jax.block_until_ready(step(params, x, labels)), REPS["lenet5"])
    return f"JAX {jax.__version__} (jit)", rows


def torch_rows():
    import torch
    import torch.nn.functional as F

    if os.environ.get("THREADS"):
        torch.set_num_threads(int(os.environ["THREADS"]))
    rng = np.random.default_rng(42)
    rows = {}
    for name, batch, sizes in MLPS:
        x, labels, layers = mlp_problem(batch, sizes, rng)
        layers = [(torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True)) for w, b in layers]
        x, labels = torch.tensor(x), torch.tensor(labels)

        def step():
            h = x
            for i, (w, b) in enumerate(layers):
                h = F.linear(h, w, b)
                if i < len(layers) - 1:
                    h = F.relu(h)
            loss = F.cross_entropy(h, labels)
            return torch.autograd.grad(loss, [t for l in layers for t in l])

        rows[name] = timed(step, REPS[name])
    xs, labels, params = rnn_problem(rng)
    wx, b, u, wo, bo = [torch.tensor(a, requires_grad=True) for a in params]
    xs, labels = torch.tensor(xs), torch.tensor(labels)

    def rnn_step():
        h = torch.tanh(F.linear(xs[0], wx, b))
        for x in xs[1:]:
            h = torch.tanh(F.linear(x, wx, b) + h @ u)
        loss = F.cross_entropy(F.linear(h, wo, bo), labels)
        return torch.autograd.grad(loss, [wx, b, u, wo, bo])

    rows["rnn"] = timed(rnn_step, REPS["rnn"])
    x, labels, params = lenet_problem(rng)
    p = [torch.tensor(a, requires_grad=True) for a in params]
    x, labels = torch.tensor(x), torch.tensor(labels)

    def lenet_step():
        h = F.max_pool2d(F.relu(F.conv2d(x, p[0], p[1], 1, 2)), 2, 2)
        h = F.max_pool2d(F.relu(F.conv2d(h, p[2], p[3], 1, 0)), 2, 2)
        h = F.relu(F.linear(torch.flatten(h, 1), p[4], p[5]))
        h = F.relu(F.linear(h, p[6], p[7]))
        loss = F.cross_entropy(F.linear(h, p[8], p[9]), labels)
        return torch.autograd.grad(loss, p)

    rows["lenet5"] = timed(lenet_step, REPS["lenet5"])
    return f"PyTorch {torch.__version__} (eager, {torch.get_num_threads()} threads)", rows


def main():
    print(f"one training step, f32, µs (median of {ROUNDS} rounds); affinity: {sorted(os.sched_getaffinity(0))}")
    for peer in (jax_rows, torch_rows):
        try:
            name, rows = peer()
        except ImportError as e:
            print(f"{peer.__name__}: not installed ({e})")
            continue
        print(name + ": " + ", ".join(f"{k} {v:,.1f}" for k, v in rows.items()))


if __name__ == "__main__":
    main()
