"""The GPT training step of benches/gpt.rs in PyTorch (eager), f32: the
same model (token and position embeddings, pre-norm blocks of causal
multi-head self-attention from one qkv product and a 4x exact-GELU MLP, a
final layer norm, the head tied to the token table), the same two recipes,
forward + gradients timed apart from the AdamW update (decay on matrices
only) with gradient clipping at 1.

Run: python gpt.py              (pip install torch)
     THREADS=1 taskset -c 0 python gpt.py
     SMALL=1 python gpt.py       (the small recipe only)
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


def main():
    print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} thread(s); medians in ms")
    print("| recipe | forward + gradients | AdamW + clipping |")
    print("|---|---:|---:|")
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
        g = median_ms(rounds, gradients)
        u = median_ms(rounds, update)
        print(f"| {name} | {g:.1f} | {u:.1f} |")


if __name__ == "__main__":
    main()
