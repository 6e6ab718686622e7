"""The GPT training step of benches/gpt.rs in PyTorch (eager) and JAX (jit),
f32: the same model (token and position embeddings, pre-norm blocks of
causal multi-head self-attention from one qkv product and a 4x exact-GELU
MLP, a final layer norm, the head tied to the token table), the same two
recipes. PyTorch: forward + gradients timed apart from the AdamW update
(decay on matrices only) with gradient clipping at 1. JAX: forward +
gradients (`jax.jit(jax.value_and_grad(loss))`; the update is not timed, as
JAX has no optimizer of its own).

Run: python gpt.py              (pip install torch; jax optional)
     THREADS=1 taskset -c 0 python gpt.py
     SMALL=1 python gpt.py       (the small recipe only)
     PEERS=jax python gpt.py     (one peer only: torch or jax)
     TRAIN=1 python gpt.py       (tutorial 15 in PyTorch: its wall time and
                                  validation loss; SEED=1337 by default)
"""
import math
import os
import statistics
import time

import torch
import torch.nn.functional as F

threads = int(os.environ.get("THREADS", "0"))
if threads:
    torch.set_num_threads(threads)

RECIPES = [
    ("small (4 layers, width 128, context 64, batch 12)", dict(vocab=65, context=64, layers=4, heads=4, width=128), 12, 30),
    ("baby (6 layers, width 384, context 256, batch 64)", dict(vocab=65, context=256, layers=6, heads=6, width=384), 64, 3),
]
if os.environ.get("SMALL"):
    RECIPES = RECIPES[:1]


def make(cfg, gen):
    w, layers = cfg["width"], cfg["layers"]
    normal = lambda *shape, std=0.02: (torch.randn(*shape, generator=gen) * std).requires_grad_()
    zeros = lambda n: torch.zeros(n, requires_grad=True)
    ones = lambda n: torch.ones(n, requires_grad=True)
    residual = 0.02 / math.sqrt(2 * layers)
    p = {"tokens": normal(cfg["vocab"], w), "positions": normal(cfg["context"], w), "ln_g": ones(w), "ln_b": zeros(w)}
    p["blocks"] = [
        dict(ln1_g=ones(w), ln1_b=zeros(w), qkv_w=normal(3 * w, w), qkv_b=zeros(3 * w), proj_w=normal(w, w, std=residual),
             proj_b=zeros(w), ln2_g=ones(w), ln2_b=zeros(w), fc_w=normal(4 * w, w), fc_b=zeros(4 * w),
             out_w=normal(w, 4 * w, std=residual), out_b=zeros(w))
        for _ in range(layers)
    ]
    return p


def params(p):
    out = [p["tokens"], p["positions"], p["ln_g"], p["ln_b"]]
    for blk in p["blocks"]:
        out += list(blk.values())
    return out


def loss(p, ids, targets, heads):
    b, t = ids.shape
    c = p["tokens"].shape[1]
    d = c // heads
    x = p["tokens"][ids] + p["positions"][:t]
    mask = torch.triu(torch.ones(t, t, dtype=torch.bool), 1)
    for blk in p["blocks"]:
        h = F.layer_norm(x, (c,), blk["ln1_g"], blk["ln1_b"], 1e-5)
        qkv = F.linear(h, blk["qkv_w"], blk["qkv_b"])
        q, k, v = qkv.split(c, dim=2)
        q = q.view(b, t, heads, d).transpose(1, 2)
        k = k.view(b, t, heads, d).transpose(1, 2)
        v = v.view(b, t, heads, d).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(d)
        att = att.masked_fill(mask, float("-inf")).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(b, t, c)
        x = x + F.linear(y, blk["proj_w"], blk["proj_b"])
        h = F.layer_norm(x, (c,), blk["ln2_g"], blk["ln2_b"], 1e-5)
        x = x + F.linear(F.gelu(F.linear(h, blk["fc_w"], blk["fc_b"])), blk["out_w"], blk["out_b"])
    h = F.layer_norm(x, (c,), p["ln_g"], p["ln_b"], 1e-5)
    return F.cross_entropy(F.linear(h, p["tokens"]).view(-1, p["tokens"].shape[0]), targets.view(-1))


def median_ms(rounds, f):
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        f()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def jax_rows():
    """Forward + gradients of the same model in JAX, jit-compiled."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    def loss_fn(p, ids, targets, heads):
        b, t = ids.shape
        c = p["tokens"].shape[1]
        d = c // heads

        def norm(x, g, bias):
            mu = x.mean(-1, keepdims=True)
            var = ((x - mu) ** 2).mean(-1, keepdims=True)
            return (x - mu) / jnp.sqrt(var + 1e-5) * g + bias

        x = p["tokens"][ids] + p["positions"][:t]
        mask = jnp.triu(jnp.ones((t, t), dtype=bool), 1)
        for blk in p["blocks"]:
            h = norm(x, blk["ln1_g"], blk["ln1_b"])
            qkv = h @ blk["qkv_w"].T + blk["qkv_b"]
            q, k, v = jnp.split(qkv, 3, axis=2)
            q, k, v = (z.reshape(b, t, heads, d).transpose(0, 2, 1, 3) for z in (q, k, v))
            att = (q @ k.transpose(0, 1, 3, 2)) / math.sqrt(d)
            att = jax.nn.softmax(jnp.where(mask, -jnp.inf, att), axis=-1)
            y = (att @ v).transpose(0, 2, 1, 3).reshape(b, t, c)
            x = x + y @ blk["proj_w"].T + blk["proj_b"]
            h = norm(x, blk["ln2_g"], blk["ln2_b"])
            x = x + jax.nn.gelu(h @ blk["fc_w"].T + blk["fc_b"], approximate=False) @ blk["out_w"].T + blk["out_b"]
        h = norm(x, p["ln_g"], p["ln_b"])
        logp = jax.nn.log_softmax(h @ p["tokens"].T, axis=-1)
        return -jnp.take_along_axis(logp, targets[..., None], axis=-1).mean()

    print(f"JAX {jax.__version__}; medians in ms")
    print("| recipe | forward + gradients |")
    print("|---|---:|")
    for name, cfg, batch, rounds in RECIPES:
        gen = torch.Generator().manual_seed(3)
        p = make(cfg, gen)
        as_np = lambda x: jnp.asarray(x.detach().numpy())
        params = {k: as_np(v) for k, v in p.items() if k != "blocks"}
        params["blocks"] = [{k: as_np(v) for k, v in blk.items()} for blk in p["blocks"]]
        ids = torch.randint(0, cfg["vocab"], (batch, cfg["context"]), generator=gen)
        targets = torch.randint(0, cfg["vocab"], (batch, cfg["context"]), generator=gen)
        ids, targets = jnp.asarray(ids.numpy()), jnp.asarray(targets.numpy())
        step = jax.jit(jax.value_and_grad(loss_fn), static_argnums=3)
        run = lambda: jax.block_until_ready(step(params, ids, targets, cfg["heads"]))
        run()
        run()
        print(f"| {name} | {median_ms(rounds, run):.1f} |")


def train():
    """Tutorial 15's small recipe, step for step as examples/15_gpt.rs runs
    it: 2,000 AdamW steps (decay 0.1 on matrices, beta2 0.99), 100 of
    warm-up then a cosine to 1e-4, clipping at 1, 20 validation estimates
    of 8 batches, then the loss on every block of the validation split."""
    path = os.path.join(os.path.dirname(__file__), "../../examples/data/tinyshakespeare/input.txt")
    text = open(path, encoding="utf-8").read()
    chars = sorted(set(text))
    index = {c: i for i, c in enumerate(chars)}
    tokens = torch.tensor([index[c] for c in text])
    split = len(tokens) * 9 // 10
    train_tokens, validation = tokens[:split], tokens[split:]
    cfg = dict(vocab=len(chars), context=64, layers=4, heads=4, width=128)
    batch, iters, warmup, base, low = 12, 2000, 100, 1e-3, 1e-4
    gen = torch.Generator().manual_seed(int(os.environ.get("SEED", "1337")))
    p = make(cfg, gen)
    ps = params(p)
    opt = torch.optim.AdamW([{"params": [x for x in ps if x.dim() >= 2], "weight_decay": 0.1},
                             {"params": [x for x in ps if x.dim() < 2], "weight_decay": 0.0}],
                            lr=base, betas=(0.9, 0.99))
    t = cfg["context"]

    def blocks(data):
        starts = torch.randint(0, len(data) - t, (batch,), generator=gen)
        x = torch.stack([data[s:s + t] for s in starts])
        y = torch.stack([data[s + 1:s + t + 1] for s in starts])
        return x, y

    def rate(step):
        if step < warmup:
            return base * (step + 1) / warmup
        progress = min((step - warmup) / iters, 1.0)
        return low + (base - low) * 0.5 * (1 + math.cos(math.pi * progress))

    started = time.perf_counter()
    every = iters // 20
    for step in range(iters):
        for group in opt.param_groups:
            group["lr"] = rate(step)
        x, y = blocks(train_tokens)
        for q in ps:
            q.grad = None
        loss(p, x, y, cfg["heads"]).backward()
        torch.nn.utils.clip_grad_norm_(ps, 1.0)
        opt.step()
        if (step + 1) % every == 0:
            with torch.no_grad():
                estimate = sum(loss(p, *blocks(validation), cfg["heads"]).item() for _ in range(8)) / 8
            print(f"step {step + 1:>5}: validation estimate {estimate:.4f}  ({time.perf_counter() - started:.0f} s)")
    training = time.perf_counter() - started
    with torch.no_grad():
        n = (len(validation) - 1) // t
        x = validation[:n * t].view(n, t)
        y = validation[1:n * t + 1].view(n, t)
        total = sum(loss(p, x[i:i + 64], y[i:i + 64], cfg["heads"]).item() * y[i:i + 64].numel()
                    for i in range(0, n, 64))
    print(f"validation loss {total / (n * t):.4f}; training took {training:.1f} s, "
          f"{time.perf_counter() - started:.1f} s with the final evaluation")


def main():
    if os.environ.get("TRAIN"):
        return train()
    peers = os.environ.get("PEERS", "torch,jax").split(",")
    if "torch" in peers:
        torch_rows()
    if "jax" in peers:
        try:
            import jax  # noqa: F401
        except ImportError:
            print("(JAX is not installed: pip install jax)")
            return
        jax_rows()


def torch_rows():
    print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} thread(s); medians in ms")
    print("| recipe | forward + gradients | AdamW + clipping | evaluation (no_grad) |")
    print("|---|---:|---:|---:|")
    for name, cfg, batch, rounds in RECIPES:
        gen = torch.Generator().manual_seed(3)
        p = make(cfg, gen)
        ps = params(p)
        decay = [x for x in ps if x.dim() >= 2]
        no_decay = [x for x in ps if x.dim() < 2]
        opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                                lr=1e-3, betas=(0.9, 0.99))
        ids = torch.randint(0, cfg["vocab"], (batch, cfg["context"]), generator=gen)
        targets = torch.randint(0, cfg["vocab"], (batch, cfg["context"]), generator=gen)

        def gradients():
            for x in ps:
                x.grad = None
            loss(p, ids, targets, cfg["heads"]).backward()

        def update():
            torch.nn.utils.clip_grad_norm_(ps, 1.0)
            opt.step()

        for _ in range(2):
            gradients()
            update()
        def evaluation():
            with torch.no_grad():
                loss(p, ids, targets, cfg["heads"]).item()

        g = median_ms(rounds, gradients)
        u = median_ms(rounds, update)
        e = median_ms(rounds, evaluation)
        print(f"| {name} | {g:.1f} | {u:.1f} | {e:.1f} |")


if __name__ == "__main__":
    main()
