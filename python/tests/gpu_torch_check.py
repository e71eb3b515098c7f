"""GPU-host check of Dash's PyTorch side. Needs torch, CUDA device 0 and a
libDashC.so built with CUDA; scripts/gpu-host-check.sh runs it, or

    DASH_LIBRARY=.gpu/lib/libDashC.so python3 python/tests/gpu_torch_check.py

Prints one line per check, then a summary table (also written to
$OUT/torch-check.md, default ./gpu-out) and 'N passed, M failed'; exits 1
on any failure. NaN never passes. DASH_TORCH_SECTIONS=op,compile (say)
runs only those of the sections reference, oracle, op, compile, ddp,
fsdp, training, router.

1. dash.torch_reference on CUDA in float64 (the helpers of
   tests/test_torch_reference.py): forward against the numpy reference,
   gradients against central differences, router_grad = none, query
   chunks, float32 / bfloat16 inputs.
2. dash.pytorch.attention on CUDA (float32, bfloat16) against
   torch_reference in float64: O, LSE, counts, dq, dk, dv, dw. N in
   {64, 200}, H 4, Hkv 2, D 64, block 16, every prior, with and without W,
   router_grad full and none; and alpha 1.25 / 2, forced blocks, G = 1,
   G = H, D = 128, N < block. Inputs (q, k, dO) are non-contiguous views;
   routing decisions are 2e-6 clear of tau (as the C++ GPU tests draw).
3. Input errors of dash.pytorch, and torch.library.opcheck of both ops.
4. torch.compile(fullgraph=True) around the op: forward and backward
   equal eager.
5. DDP and FSDP (nccl, world size 1): a DashAttention model trains 3
   steps with the gradients and losses of its unwrapped copy.
6. A 2-layer DashAttention model trains 30 steps; the loss decreases.
7. torch_reference.router at N = 64K, H = 32, bf16, query_chunk 1024, no
   grad (the benchmark's call): time, and peak memory beside the result
   below half of one full [B, H, N, Mc] float32 logit tensor.
"""

import copy
import math
import os
import socket
import sys
import time
import traceback

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import dash.pytorch  # noqa: E402
from dash import torch_reference  # noqa: E402
from tests import test_torch_reference as checks  # noqa: E402

DEVICE = "cuda"
ROWS = []  # (section, check, value, tolerance, passed)


def record(section, name, value, tolerance):
    """One check: value <= tolerance (NaN and Inf fail)."""
    passed = bool(np.isfinite(value)) and value <= tolerance
    ROWS.append((section, name, value, tolerance, passed))
    print(f"[{section}] {name}: {value:.3e} (tol {tolerance:g}) "
          f"{'PASS' if passed else 'FAIL'}", flush=True)


def record_errors(section, case, errors, tolerance):
    """A case of several errors as one row: the worst of them."""
    worst = max(errors, key=lambda name: errors[name]
                if np.isfinite(errors[name]) else math.inf)
    detail = " ".join(f"{name}={value:.1e}" for name, value in errors.items())
    print(f"[{section}] {case}: {detail}", flush=True)
    record(section, f"{case} (worst {worst})", errors[worst], tolerance)


def section(name):
    """Runs a section's function (unless $DASH_TORCH_SECTIONS, a comma
    list of names, leaves it out); an exception is a failed check."""
    def wrap(function):
        selected = os.environ.get("DASH_TORCH_SECTIONS")
        if selected and name not in selected.split(","):
            return function
        start = time.time()
        try:
            function()
        except Exception:  # noqa: BLE001 - reported as a failure.
            traceback.print_exc()
            ROWS.append((name, f"raised {sys.exc_info()[0].__name__}",
                         math.nan, 0, False))
        print(f"[{name}] {time.time() - start:.1f} s", flush=True)
        return function
    return wrap


def noncontiguous(x):
    """The same values in a transposed layout (a differentiable view)."""
    return x.transpose(-1, -2).contiguous().transpose(-1, -2)


# 1. torch_reference on CUDA in float64.
@section("reference")
def _():
    for index, (shape, with_w, options) in enumerate(checks.FORWARD_CASES):
        o, lse, mismatches = checks.forward_errors(DEVICE, shape, with_w,
                                                   options, 10 * index)
        record_errors("reference", f"vs numpy {shape} {options}",
                      dict(o=o, lse=lse, counts=float(mismatches)),
                      checks.F64_TOLERANCE)
    for index, (shape, options) in enumerate(checks.GRADIENT_CASES):
        record_errors("reference", f"grad vs FD {shape} {options}",
                      checks.gradient_errors(DEVICE, shape, options,
                                             100 + index),
                      checks.FD_TOLERANCE)
    record_errors("reference", "router_grad none vs detached prior",
                  checks.stopped_gradient_errors(DEVICE, 7),
                  checks.F64_TOLERANCE)
    record_errors("reference", "query_chunk 7 vs whole",
                  checks.chunk_errors(DEVICE, 3), checks.F64_TOLERANCE)
    for dtype, tolerance in ((torch.float32, 1e-4), (torch.bfloat16, 2e-2)):
        o, lse = checks.dtype_errors(DEVICE, dtype, 21)
        record_errors("reference", f"{dtype} inputs vs float64",
                      dict(o=o, lse=lse), tolerance)


# 2. dash.pytorch on CUDA against torch_reference in float64.
BASE = dict(block_size=16, gamma=4.0)
CASES = [((1, 4, 2, n, 64), with_w, dict(BASE, prior=prior), router_grad,
          torch.float32)
         for n in (64, 200) for prior in ("centered", "raw", "flat")
         for with_w in (False, True) for router_grad in ("full", "none")]
CASES += [
    ((1, 4, 2, 200, 64), True, dict(BASE, alpha=1.25), "full",
     torch.float32),
    ((1, 4, 2, 200, 64), True,
     dict(BASE, alpha=2.0, sigma=0.5, local_blocks=1, init_blocks=1),
     "full", torch.float32),
    ((1, 4, 4, 200, 64), True, dict(BASE, prior="raw"), "full",
     torch.float32),  # G = 1
    ((2, 4, 1, 200, 64), True, dict(BASE), "full", torch.float32),  # G = H
    ((1, 4, 2, 130, 128), True, dict(BASE, block_size=32), "full",
     torch.float32),  # D = 128, partial last block
    ((1, 4, 2, 10, 64), True, dict(BASE), "full", torch.float32),  # N < Bk
    ((1, 4, 2, 200, 64), True, dict(BASE, prior="raw"), "full",
     torch.bfloat16),
    ((1, 4, 2, 200, 64), True, dict(BASE), "full", torch.bfloat16),
]
_draws = {}


def draw(shape, with_w, options, dtype, seed):
    """checks.draw, shared by the cases whose routing is the same (the
    margin does not depend on the prior, sigma or the forced blocks)."""
    key = (shape, with_w, dtype, seed) + tuple(
        options.get(name) for name in ("alpha", "gamma", "block_size",
                                       "scale"))
    if key not in _draws:
        _draws[key] = checks.draw(shape, with_w, options, seed, 2e-6,
                                  dtype=dtype)[0]
    return _draws[key]


def compare(shape, with_w, options, router_grad, dtype, seed):
    arrays = draw(shape, with_w, options, dtype, seed)
    arrays = arrays if with_w else arrays[:3]
    generator = torch.Generator().manual_seed(seed)
    do = torch.randn(shape[0], shape[3], shape[1], shape[4],
                     generator=generator).to(DEVICE, dtype).transpose(1, 2)
    reference = checks.tensors(arrays, DEVICE, requires_grad=True)
    o_ref, lse_ref, counts_ref = torch_reference.attention(
        *reference, router_grad=router_grad, return_lse=True, **options)
    grads_ref = checks.gradients(o_ref, reference, do.double())
    inputs = checks.tensors(arrays, DEVICE, dtype, requires_grad=True)
    q, k, *rest = inputs
    o, lse, counts = dash.pytorch.attention(
        noncontiguous(q), noncontiguous(k), *rest, router_grad=router_grad,
        return_lse=True, **options)
    grads = checks.gradients(o, inputs, do)
    errors = dict(o=checks.rel_l2(o, o_ref), lse=checks.rel_l2(lse, lse_ref))
    errors.update((name, checks.rel_l2(g, e))
                  for name, g, e in zip(("dq", "dk", "dv", "dw"), grads,
                                        grads_ref))
    mismatches = int((counts != counts_ref).sum())
    if dtype == torch.float32:  # bf16 routing may flip near-tie blocks.
        errors["counts"] = float(mismatches)
    else:
        print(f"  bf16 selection: {mismatches} of {counts.numel()} counts "
              f"differ from the float64 oracle", flush=True)
    return errors


@section("oracle")
def _():
    for index, (shape, with_w, options, router_grad, dtype) in enumerate(
            CASES):
        name = (f"{str(dtype)[6:]} B,H,Hkv,N,D={shape} "
                f"{'W' if with_w else 'no W'} router_grad={router_grad} "
                f"{options}")
        record_errors("oracle", name,
                      compare(shape, with_w, options, router_grad, dtype,
                              1000 + index % 4),
                      checks.TOLERANCES[str(dtype)[6:]])


# 3. Input errors and opcheck.
def raises(kind, message, function):
    try:
        function()
    except kind as error:
        return message in str(error)
    return False


@section("op")
def _():
    q = torch.randn(1, 4, 64, 32, device=DEVICE)
    k = torch.randn(1, 2, 64, 32, device=DEVICE)
    w = torch.zeros(2, 32, device=DEVICE)
    attention = dash.pytorch.attention
    for name, passed in [
        ("k of the wrong length is a ValueError",
         raises(ValueError, "k and v must have shape",
                lambda: attention(q, k[:, :, :60], k[:, :, :60]))),
        ("w of another type is a TypeError",
         raises(TypeError, "w is torch.float64",
                lambda: attention(q, k, k, w.double()))),
        ("router_grad='partial' is a ValueError",
         raises(ValueError, "router_grad",
                lambda: attention(q, k, k, router_grad="partial"))),
        ("alpha=1 is a DashError",
         raises(dash.DashError, "alpha", lambda: attention(q, k, k,
                                                           alpha=1.0))),
    ]:
        record("op", name, 0.0 if passed else math.inf, 0)
    _, lse, counts = attention(q.clone().requires_grad_(), k, k,
                               return_lse=True)
    record("op", "LSE and counts do not require grad",
           float(lse.requires_grad or counts.requires_grad), 0)
    layer = dash.pytorch.DashAttention(2, 32, block_size=16).to(DEVICE)
    layer(*(x.bfloat16() for x in (q, k, k))).float().square().sum(
        ).backward()
    grad = layer.w.grad
    record("op", "bf16 activations, f32 W: W gets a finite f32 gradient",
           0.0 if grad is not None and grad.dtype == torch.float32
           and bool(torch.isfinite(grad).all()) else math.inf, 0)
    views = [noncontiguous(x).requires_grad_() for x in (q, k, k.clone(), w)]
    attributes = (1.5, 16, 4.0, 1.0, "raw", 0, 0, None, True)
    do = noncontiguous(torch.randn_like(q))
    for name, op, args in [
        ("attention", torch.ops.dash.attention.default,
         (*views, *attributes)),
        ("attention without w", torch.ops.dash.attention.default,
         (*views[:3], None, *attributes)),
        ("attention_backward", torch.ops.dash.attention_backward.default,
         (*[x.detach() for x in views], do, *attributes)),
    ]:
        results = torch.library.opcheck(op, args, raise_exception=False)
        for test, result in results.items():
            if result != "SUCCESS":
                print(f"  opcheck {name} {test}: {result}")
            record("op", f"opcheck {name}: {test}",
                   0.0 if result == "SUCCESS" else math.inf, 0)


# 4. torch.compile.
@section("compile")
def _():
    torch._dynamo.reset()
    generator = torch.Generator(device=DEVICE).manual_seed(5)
    width, heads, kv_heads, dim, seq_len = 128, 4, 2, 32, 160

    def parameter(*shape, std):
        return (std * torch.randn(*shape, device=DEVICE,
                                  generator=generator)).requires_grad_()

    x = torch.randn(2, seq_len, width, device=DEVICE, generator=generator)
    params = [parameter(width, heads * dim, std=width ** -0.5),
              parameter(width, 2 * kv_heads * dim, std=width ** -0.5),
              parameter(kv_heads, dim, std=0.5),
              parameter(heads * dim, width, std=(heads * dim) ** -0.5)]

    def model(x, wq, wkv, w, wo):
        batch, n, _ = x.shape
        # q, k, v are transposed views, o is read through one.
        q = (x @ wq).view(batch, n, heads, dim).transpose(1, 2)
        k, v = (x @ wkv).view(batch, n, 2, kv_heads, dim).permute(
            2, 0, 3, 1, 4).unbind(0)
        o = dash.pytorch.attention(q, k, v, w, block_size=16, gamma=4.0)
        return torch.tanh(o.transpose(1, 2).reshape(batch, n, -1) @ wo
                          ).square().mean()

    compiled = torch.compile(model, fullgraph=True)
    for step in range(2):  # The second call runs the cached graph.
        eager = model(x, *params)
        grads_eager = torch.autograd.grad(eager, params)
        loss = compiled(x, *params)
        grads = torch.autograd.grad(loss, params)
        errors = dict(loss=checks.rel_l2(loss, eager))
        errors.update((f"d{name}", checks.rel_l2(g, e)) for name, g, e in
                      zip(("wq", "wkv", "w", "wo"), grads, grads_eager))
        record_errors("compile", f"compiled vs eager, call {step + 1}",
                      errors, 1e-4)
        x = x + 0.1


# 5, 6. Models with DashAttention layers.
class Layer(torch.nn.Module):
    def __init__(self, width, heads, kv_heads, **options):
        super().__init__()
        self.heads, self.kv_heads, self.dim = heads, kv_heads, width // heads
        self.q = torch.nn.Linear(width, width)
        self.kv = torch.nn.Linear(width, 2 * kv_heads * self.dim)
        self.out = torch.nn.Linear(width, width)
        self.attn = dash.pytorch.DashAttention(kv_heads, self.dim, **options)

    def forward(self, x):
        b, n, _ = x.shape
        q = self.q(x).view(b, n, self.heads, self.dim).transpose(1, 2)
        k, v = self.kv(x).view(b, n, 2, self.kv_heads, self.dim).unbind(2)
        o = self.attn(q, k.transpose(1, 2), v.transpose(1, 2))
        return x + self.out(o.transpose(1, 2).reshape(b, n, -1))


def two_layers(**options):
    return torch.nn.Sequential(Layer(64, 4, 2, **options),
                               Layer(64, 4, 2, **options)).to(DEVICE)


def compare_wrapped(name, wrap, label):
    """Three SGD steps of the 2-layer model, unwrapped and wrapped by a
    distributed wrapper (one process, NCCL): the same losses and gradients."""
    import torch.distributed as dist

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    dist.init_process_group("nccl", init_method=f"tcp://127.0.0.1:{port}",
                            rank=0, world_size=1)
    try:
        torch.manual_seed(1)
        plain = two_layers(block_size=16, gamma=2.0)
        wrapped = wrap(copy.deepcopy(plain))
        optimizers = [torch.optim.SGD(m.parameters(), lr=0.05)
                      for m in (plain, wrapped)]
        for step in range(3):
            x = torch.randn(2, 96, 64, device=DEVICE)
            losses = []
            for model, optimizer in zip((plain, wrapped), optimizers):
                optimizer.zero_grad()
                loss = torch.nn.functional.mse_loss(model(x), x.roll(1, 1))
                loss.backward()
                losses.append(loss)
            errors = dict(loss=checks.rel_l2(losses[1], losses[0]))
            for (param, a), b in zip(plain.named_parameters(),
                                     wrapped.parameters()):
                errors[param] = checks.rel_l2(b.grad, a.grad)
            record_errors(name, f"step {step + 1}: {label} vs unwrapped "
                          f"gradients", errors, 1e-4)
            for optimizer in optimizers:
                optimizer.step()
    finally:
        dist.destroy_process_group()


@section("ddp")
def _():
    from torch.nn.parallel import DistributedDataParallel
    compare_wrapped("ddp", lambda m: DistributedDataParallel(
        m, device_ids=[0]), "DDP")


@section("fsdp")
def _():
    from torch.distributed.fsdp import FullyShardedDataParallel
    # use_orig_params: parameters() are the model's own, in order.
    compare_wrapped("fsdp", lambda m: FullyShardedDataParallel(
        m, use_orig_params=True), "FSDP")


@section("training")
def _():
    torch.manual_seed(0)
    model = two_layers(block_size=16, gamma=2.0, prior="raw")
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    x = torch.randn(2, 128, 64, device=DEVICE)
    target = torch.roll(x, shifts=1, dims=1)  # Copy the previous token.
    losses = []
    for _ in range(30):
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    print(f"[training] loss {losses[0]:.4f} -> {losses[-1]:.4f}")
    # Fails unless the final loss is below 0.7 of the first (and finite).
    record("training", f"2 layers, 30 Adam steps: final / first loss "
           f"({losses[0]:.3f} -> {losses[-1]:.3f})",
           losses[-1] / losses[0] if np.all(np.isfinite(losses))
           else math.nan, 0.7)


# 7. The benchmark's router call.
@section("router")
def _():
    batch, heads, kv_heads, seq_len, dim, block = 1, 32, 8, 65536, 128, 64
    q = torch.randn(batch, heads, seq_len, dim, device=DEVICE,
                    dtype=torch.bfloat16)
    k = torch.randn(batch, kv_heads, seq_len, dim, device=DEVICE,
                    dtype=torch.bfloat16)
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    before = torch.cuda.memory_allocated()
    start = time.time()
    with torch.no_grad():
        log_prior, counts = torch_reference.router(
            q, k, block_size=block, query_chunk=1024)
    torch.cuda.synchronize()
    seconds = time.time() - start
    result = log_prior.numel() * log_prior.element_size() + \
        counts.numel() * counts.element_size()
    extra = torch.cuda.max_memory_allocated() - before - result
    full_logits = batch * heads * seq_len * (seq_len // block) * 4
    print(f"[router] {seconds:.2f} s, peak beyond the result "
          f"{extra / 2**30:.2f} GiB, full logits {full_logits / 2**30:.1f} "
          f"GiB, mean density "
          f"{(counts / (torch.arange(seq_len, device=DEVICE) // block + 1)).mean():.3f}")
    record("router", "peak memory beyond the result / full logits",
           extra / full_logits, 0.5)
    record("router", "counts == selected blocks of log_prior",
           float((counts != (log_prior > -math.inf).sum(-1)).sum()), 0)


def summary():
    lines = ["| section | check | value | tolerance | result |",
             "|---|---|---|---|---|"]
    for name, check, value, tolerance, passed in ROWS:
        lines.append(f"| {name} | {check} | {value:.3e} | {tolerance:g} | "
                     f"{'PASS' if passed else 'FAIL'} |")
    failed = sum(not row[4] for row in ROWS)
    lines.append("")
    lines.append(f"gpu_torch_check: {len(ROWS) - failed} passed, {failed} "
                 f"failed")
    text = "\n".join(lines)
    print("\n" + text)
    out = os.environ.get("OUT", "gpu-out")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "torch-check.md"), "w") as handle:
        handle.write(f"device: {torch.cuda.get_device_name()}, torch "
                     f"{torch.__version__}\n\n{text}\n")
    return failed


sys.exit(1 if summary() else 0)
