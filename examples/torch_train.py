"""Train a small causal language model with DashAttention layers (PyTorch).

The data is synthetic: a segment of `--period` tokens drawn from a random
Markov chain (a few likely successors per token), repeated to fill the
sequence. The loss starts at about ln(vocab) and falls as the model learns
the chain (to about 1.2 in the default 200 steps). The loss on the repeats
is printed apart: it drops below the first period's only once the attention
(with the router, whose summary query W starts at zero) copies from
`--period` tokens back, blocks away from the query (not within the
default steps).

Needs PyTorch and libDashC.so (built with CUDA for --device cuda; the CPU
target takes float32 on the host). From a source checkout:

    DASH_LIBRARY=build/lib/libDashC.so python3 examples/torch_train.py

Prints the loss (overall, on the first period, on the repeats) every
--every steps, and the first and last loss.
"""

import argparse
import math
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))
import dash.pytorch  # noqa: E402


class Block(torch.nn.Module):
    """Pre-norm transformer block with grouped-query DashAttention."""

    def __init__(self, width, heads, kv_heads, **options):
        super().__init__()
        self.heads, self.kv_heads, self.dim = heads, kv_heads, width // heads
        self.norm1 = torch.nn.LayerNorm(width)
        self.qkv = torch.nn.Linear(width, (heads + 2 * kv_heads) * self.dim,
                                   bias=False)
        self.attn = dash.pytorch.DashAttention(kv_heads, self.dim, **options)
        self.proj = torch.nn.Linear(width, width, bias=False)
        self.norm2 = torch.nn.LayerNorm(width)
        self.mlp = torch.nn.Sequential(torch.nn.Linear(width, 4 * width),
                                       torch.nn.GELU(),
                                       torch.nn.Linear(4 * width, width))

    def forward(self, x):
        b, n, _ = x.shape
        q, k, v = self.qkv(self.norm1(x)).split(
            [self.heads * self.dim] + [self.kv_heads * self.dim] * 2, -1)
        # [b, n, heads * dim] -> [b, heads, n, dim]: views, no copies here.
        q, k, v = (t.view(b, n, -1, self.dim).transpose(1, 2)
                   for t in (q, k, v))
        o = self.attn(q, k, v).transpose(1, 2).reshape(b, n, -1)
        x = x + self.proj(o)
        return x + self.mlp(self.norm2(x))


class Model(torch.nn.Module):
    def __init__(self, args):
        super().__init__()
        self.tokens = torch.nn.Embedding(args.vocab, args.width)
        self.positions = torch.nn.Embedding(args.seq_len, args.width)
        self.blocks = torch.nn.Sequential(*[
            Block(args.width, args.heads, args.kv_heads,
                  block_size=args.block_size, gamma=args.gamma)
            for _ in range(args.layers)])
        self.norm = torch.nn.LayerNorm(args.width)
        self.head = torch.nn.Linear(args.width, args.vocab)

    def forward(self, tokens):
        positions = torch.arange(tokens.shape[1], device=tokens.device)
        x = self.tokens(tokens) + self.positions(positions)
        return self.head(self.norm(self.blocks(x)))


def batch(args, chain, generator, device):
    """Inputs and next-token targets: a Markov-chain segment, repeated."""
    segment = [torch.randint(args.vocab, (args.batch,), generator=generator)]
    for _ in range(args.period - 1):
        segment.append(torch.multinomial(chain[segment[-1]], 1,
                                         generator=generator)[:, 0])
    segment = torch.stack(segment, 1)
    repeats = -(-(args.seq_len + 1) // args.period)
    sequence = segment.repeat(1, repeats)[:, :args.seq_len + 1].to(device)
    return sequence[:, :-1], sequence[:, 1:]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device",
                        default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--every", type=int, default=25)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seq-len", type=int, default=512)
    parser.add_argument("--period", type=int, default=96)
    parser.add_argument("--vocab", type=int, default=64)
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--kv-heads", type=int, default=2)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--block-size", type=int, default=32)
    parser.add_argument("--gamma", type=float, default=1.0)
    parser.add_argument("--lr", type=float, default=2e-3)
    args = parser.parse_args()

    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    chain = torch.softmax(4.0 * torch.randn(args.vocab, args.vocab,
                                            generator=generator), -1)
    model = Model(args).to(args.device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr)
    print(f"{sum(p.numel() for p in model.parameters())} parameters on "
          f"{args.device}; N={args.seq_len}, block {args.block_size}, "
          f"period {args.period}; ln(vocab) = {math.log(args.vocab):.3f}")
    first = None
    start = time.time()
    for step in range(1, args.steps + 1):
        inputs, targets = batch(args, chain, generator, args.device)
        losses = torch.nn.functional.cross_entropy(
            model(inputs).transpose(1, 2), targets, reduction="none")
        loss = losses.mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        first = loss.item() if first is None else first
        if step % args.every == 0 or step == 1:
            head = losses[:, :args.period - 1].mean().item()
            tail = losses[:, args.period - 1:].mean().item()
            print(f"step {step:4d}  loss {loss.item():.3f}  (first period "
                  f"{head:.3f}, repeats {tail:.3f})  "
                  f"{1e3 * (time.time() - start) / step:.0f} ms/step",
                  flush=True)
    print(f"loss {first:.3f} -> {loss.item():.3f}")


if __name__ == "__main__":
    main()
