"""The PyTorch side of tests/transformer.rs's fixture: reads the tiny GPT's
weights and data from tests/fixtures/gpt_tiny_inputs.txt (written by
`cargo test --test transformer write_the_fixtures_inputs -- --ignored`),
computes its loss and gradients in f64 with PyTorch, with gpt.py's model
(written independently of ours), and writes them to
tests/fixtures/gpt_tiny.txt: `loss v`, then `grad NAME values...` per
tensor, in the inputs' order.

Run from the repository root: python bench-peers/python/gpt_fixture.py
"""
import torch

from gpt import loss

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


def nested(tensors):
    """The flat names of the inputs (`blocks.0.qkv_w`) as gpt.py's model."""
    p = {name: t for name, t in tensors.items() if not name.startswith("blocks.")}
    layers = 1 + max(int(name.split(".")[1]) for name in tensors if name.startswith("blocks."))
    p["blocks"] = [
        {name.split(".")[2]: t for name, t in tensors.items() if name.startswith(f"blocks.{i}.")} for i in range(layers)
    ]
    return p


def main():
    tensors, ids, targets = read()
    value = loss(nested(tensors), ids, targets, HEADS)
    value.backward()
    with open(OUTPUT, "w") as out:
        out.write(f"loss {value.item()!r}\n")
        for name, t in tensors.items():
            out.write("grad " + name + " " + " ".join(repr(v) for v in t.grad.flatten().tolist()) + "\n")
    print(f"loss {value.item()!r}; {len(tensors)} gradients written to {OUTPUT}")


if __name__ == "__main__":
    main()
