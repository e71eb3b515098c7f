"""GPU-host check of the PyTorch integration (needs torch and a CUDA device;
run by scripts/gpu-host-check.sh). Prints one line per check and exits 1 on
a failure.

1. dash.pytorch.attention on CUDA tensors against the float64 numpy
   reference of the spec (forward) and against the CPU path's gradients
   (which make check compares with the C++ oracle).
2. A few training steps of a tiny 2-layer model with DashAttention layers
   whose loss must decrease.
"""

import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(__file__))

import dash  # noqa: E402
import dash.pytorch  # noqa: E402
import reference  # noqa: E402

failed = False


def report(name, error, tolerance):
    global failed
    ok = bool(np.isfinite(error)) and error <= tolerance
    failed |= not ok
    print(f"{name}: rel_l2={error:.3e} tol={tolerance:g} {'PASS' if ok else 'FAIL'}")


def rel(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30))


torch.manual_seed(0)
opts = dict(alpha=1.5, block_size=32, gamma=4.0, prior="raw")
shape_q, shape_kv = (1, 4, 160, 32), (1, 2, 160, 32)
q = torch.randn(*shape_q, device="cuda", requires_grad=True)
k = torch.randn(*shape_kv, device="cuda", requires_grad=True)
v = torch.randn(*shape_kv, device="cuda", requires_grad=True)
w = (0.5 * torch.randn(2, 32, device="cuda")).requires_grad_()
o = dash.pytorch.attention(q, k, v, w, **opts)
ref_o = reference.forward(*(t.detach().cpu().numpy() for t in (q, k, v, w)),
                          **opts)[0]
report("cuda forward vs float64 reference", rel(o.detach().cpu(), ref_o), 1e-4)

do = torch.randn_like(o)
(o * do).sum().backward()
cpu = dash.attention_backward(*(t.detach().cpu().numpy() for t in (q, k, v)),
                              do.cpu().numpy(), w=w.detach().cpu().numpy(),
                              **opts)
for name, got, want in zip(("dq", "dk", "dv", "dw"),
                           (q.grad, k.grad, v.grad, w.grad), cpu):
    report(f"cuda {name} vs CPU path", rel(got.cpu(), want), 1e-4)


class Layer(torch.nn.Module):
    def __init__(self, width, heads, kv_heads):
        super().__init__()
        self.heads, self.kv_heads, self.dim = heads, kv_heads, width // heads
        self.q = torch.nn.Linear(width, width)
        self.kv = torch.nn.Linear(width, 2 * kv_heads * self.dim)
        self.out = torch.nn.Linear(width, width)
        self.attn = dash.pytorch.DashAttention(kv_heads, self.dim,
                                               block_size=16, gamma=2.0,
                                               prior="raw", device="cuda")

    def forward(self, x):
        b, n, _ = x.shape
        q = self.q(x).view(b, n, self.heads, self.dim).transpose(1, 2)
        k, v = self.kv(x).view(b, n, 2, self.kv_heads, self.dim).unbind(2)
        o = self.attn(q.contiguous(), k.transpose(1, 2).contiguous(),
                      v.transpose(1, 2).contiguous())
        return x + self.out(o.transpose(1, 2).reshape(b, n, -1))


model = torch.nn.Sequential(Layer(64, 4, 2), Layer(64, 4, 2)).cuda()
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
x = torch.randn(2, 128, 64, device="cuda")
target = torch.roll(x, shifts=1, dims=1)  # copy the previous token
losses = []
for step in range(30):
    optimizer.zero_grad()
    loss = torch.nn.functional.mse_loss(model(x), target)
    loss.backward()
    optimizer.step()
    losses.append(loss.item())
decreased = losses[-1] < 0.7 * losses[0] and all(np.isfinite(losses))
failed |= not decreased
print(f"training 2 layers, 30 steps: loss {losses[0]:.4f} -> {losses[-1]:.4f} "
      f"{'PASS' if decreased else 'FAIL'}")
sys.exit(1 if failed else 0)
