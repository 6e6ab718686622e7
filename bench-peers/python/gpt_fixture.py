"""The PyTorch side of tests/transformer.rs's fixture: reads the tiny GPT's
weights and data from tests/fixtures/gpt_tiny_inputs.txt (written by
`cargo test --test transformer write_the_fixtures_inputs -- --ignored`),
computes its loss and gradients in f64 with PyTorch, the model written
independently of ours (the same one as gpt.py), and writes them to
tests/fixtures/gpt_tiny.txt: `loss v`, then `grad NAME values...` per
tensor, in the inputs' order.

Run from the repository root: python bench-peers/python/gpt_fixture.py
"""
import math

import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
INPUTS = "tests/fixtures/gpt_tiny_inputs.txt"
OUTPUT = "tests/fixtures/gpt_tiny.txt"
HEADS = 2


def read():
    tensors, ids, targets = {}, None, None
    for line in open(INPUTS):
        fields = line.split()
        if fields[0] == "tensor":
            name, shape = fields[1], [int(n) for n in fields[2].split("x")]
            values = torch.tensor([float(v) for v in fields[3:]]).reshape(shape)
            tensors[name] = values.requires_grad_()
        elif fields[0] == "ids":
            shape = [int(n) for n in fields[1].split("x")]
            ids = torch.tensor([int(v) for v in fields[2:]]).reshape(shape)
        elif fields[0] == "targets":
            targets = torch.tensor([int(v) for v in fields[1:]])
    return tensors, ids, targets


def loss(p, ids, targets, heads):
    b, t = ids.shape
    c = p["tokens"].shape[1]
    d = c // heads
    x = p["tokens"][ids] + p["positions"][:t]
    mask = torch.triu(torch.ones(t, t, dtype=torch.bool), 1)
    layers = 1 + max(int(name.split(".")[1]) for name in p if name.startswith("blocks."))
    for i in range(layers):
        blk = {name.split(".")[2]: v for name, v in p.items() if name.startswith(f"blocks.{i}.")}
        h = F.layer_norm(x, (c,), blk["ln1_g"], blk["ln1_b"], 1e-5)
        q, k, v = F.linear(h, blk["qkv_w"], blk["qkv_b"]).split(c, dim=2)
        q, k, v = (z.view(b, t, heads, d).transpose(1, 2) for z in (q, k, v))
        att = ((q @ k.transpose(-2, -1)) / math.sqrt(d)).masked_fill(mask, float("-inf")).softmax(-1)
        x = x + F.linear((att @ v).transpose(1, 2).reshape(b, t, c), blk["proj_w"], blk["proj_b"])
        h = F.layer_norm(x, (c,), blk["ln2_g"], blk["ln2_b"], 1e-5)
        x = x + F.linear(F.gelu(F.linear(h, blk["fc_w"], blk["fc_b"])), blk["out_w"], blk["out_b"])
    h = F.layer_norm(x, (c,), p["ln_g"], p["ln_b"], 1e-5)
    return F.cross_entropy(F.linear(h, p["tokens"]).view(-1, p["tokens"].shape[0]), targets)


def main():
    tensors, ids, targets = read()
    value = loss(tensors, ids, targets, HEADS)
    value.backward()
    with open(OUTPUT, "w") as out:
        out.write(f"loss {value.item()!r}\n")
        for name, t in tensors.items():
            out.write("grad " + name + " " + " ".join(repr(v) for v in t.grad.flatten().tolist()) + "\n")
    print(f"loss {value.item()!r}; {len(tensors)} gradients written to {OUTPUT}")


if __name__ == "__main__":
    main()
