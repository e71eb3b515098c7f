"""dash.torch_reference, the plain PyTorch oracle of the spec, in float64:
forward against the independent numpy reference (tests/reference.py),
gradients against central finite differences, router_grad = none against
autograd with the log-prior detached, query chunks, element types and
input errors. Skipped (visibly) where PyTorch is not installed.
gpu_torch_check.py runs the same checks on CUDA through the helpers here.
"""

import unittest

import numpy as np

from tests import reference

try:
    import torch
except ImportError:  # The build machine has no PyTorch.
    torch = None
else:
    from dash import torch_reference

# float64 against float64: only summation order differs.
F64_TOLERANCE = 1e-10
# Central differences with step 1e-6 in float64 (as the C++ oracle's test).
FD_TOLERANCE = 1e-6
# Spec section 4.
TOLERANCES = {"float32": 1e-4, "bfloat16": 2e-2}

# (B, H, Hkv, N, D), with W, options.
FORWARD_CASES = [
    ((1, 4, 2, 40, 16), True, dict(block_size=8, gamma=2.0, prior="raw")),
    ((2, 2, 1, 37, 8), False, dict(block_size=8)),  # G = H, partial block.
    ((1, 2, 2, 33, 8), True,  # G = 1, sparsemax, forced blocks.
     dict(block_size=4, alpha=2.0, sigma=0.5, local_blocks=1, init_blocks=1,
          scale=0.3)),
    ((1, 3, 3, 5, 8), False, dict(block_size=8)),  # N < block size.
    ((1, 4, 2, 64, 64), True,  # Bisection for tau.
     dict(block_size=16, alpha=1.25, gamma=4.0, prior="flat")),
    ((1, 4, 1, 72, 16), True,
     dict(block_size=8, alpha=3.0, gamma=4.0, sigma=0.25, init_blocks=2)),
]

# Tiny, with W. The centered case has no forced blocks besides the diagonal
# one, for frozen_centre_loss.
GRADIENT_CASES = [
    ((1, 2, 1, 14, 4), dict(block_size=4, gamma=2.0, prior="raw")),
    ((1, 2, 1, 14, 4), dict(block_size=4, gamma=2.0, prior="flat")),
    ((1, 2, 1, 14, 4),
     dict(block_size=4, gamma=2.0, prior="centered", sigma=0.5)),
    ((1, 2, 2, 13, 4),
     dict(block_size=4, alpha=2.0, gamma=2.0, prior="raw", local_blocks=1)),
    ((1, 4, 2, 14, 4),
     dict(block_size=4, alpha=1.25, gamma=2.0, prior="raw", init_blocks=1)),
]


def rel_l2(actual, expected):
    """Relative L2 error in float64; NaN or Inf gives inf (never passes)."""
    actual = np.asarray(torch.as_tensor(actual).detach().double().cpu())
    expected = np.asarray(torch.as_tensor(expected).detach().double().cpu())
    if not np.all(np.isfinite(actual)):
        return float("inf")
    norm = np.linalg.norm(expected)
    error = np.linalg.norm(actual - expected)
    return float(error / norm) if norm > 0 else float(error)


def draw(shape, with_w, options, seed, min_margin, dtype=None):
    """Random q, k, v (and w), rounded to `dtype` (a torch dtype, default
    float64), as float64 numpy arrays whose routing decisions are
    min_margin clear of the entmax threshold (so that rounding cannot flip
    a selection); with the numpy reference's (O, LSE, counts, margin)."""
    batch, heads, kv_heads, seq_len, head_dim = shape
    shapes = [(batch, heads, seq_len, head_dim),
              (batch, kv_heads, seq_len, head_dim),
              (batch, kv_heads, seq_len, head_dim)]
    for attempt in range(50):
        rng = np.random.default_rng(seed + attempt)
        arrays = [rng.standard_normal(s) for s in shapes]
        if with_w:
            arrays.append(0.5 * rng.standard_normal((kv_heads, head_dim)))
        if dtype is not None:
            arrays = [torch.from_numpy(x).to(dtype).double().numpy()
                      for x in arrays]
        inputs = arrays + [None] * (4 - len(arrays))
        expected = reference.forward(*inputs, **options)
        if expected[3] >= min_margin:
            return inputs, expected
    raise AssertionError(f"no inputs with a routing margin of {min_margin} "
                         f"for {shape} {options}")


def gradients(output, inputs, grad_output):
    """d<output, grad_output>/d inputs, zeros for an input that does not
    reach the output (w under the flat prior or router_grad = none)."""
    grads = torch.autograd.grad(output, inputs, grad_output,
                                allow_unused=True)
    return [torch.zeros_like(x) if g is None else g
            for x, g in zip(inputs, grads)]


def tensors(arrays, device, dtype=None, requires_grad=False):
    dtype = torch.float64 if dtype is None else dtype
    return [None if x is None else
            torch.tensor(x, device=device, dtype=dtype,
                         requires_grad=requires_grad) for x in arrays]


def forward_errors(device, shape, with_w, options, seed):
    """(O, LSE rel L2, count mismatches) of torch_reference.attention
    against the numpy reference, float64."""
    inputs, (out, lse, counts, _) = draw(shape, with_w, options, seed, 1e-6)
    o, l, c = torch_reference.attention(*tensors(inputs, device),
                                        return_lse=True, **options)
    return rel_l2(o, out), rel_l2(l, lse), int(
        (c.cpu().numpy() != counts).sum())


def dense_attention(q, k, v, log_prior, block_size, scale):
    """F6 written densely (causal softmax over all keys plus the log-prior
    of each key's block), apart from torch_reference's chunked version."""
    seq_len = q.shape[2]
    group = q.shape[1] // k.shape[1]
    blocks = torch.arange(seq_len, device=q.device) // block_size
    bias = log_prior[..., blocks].repeat_interleave(group, 1)
    causal = torch.ones(seq_len, seq_len, dtype=torch.bool,
                        device=q.device).tril()
    k, v = k.repeat_interleave(group, 1), v.repeat_interleave(group, 1)
    s = scale * q @ k.transpose(-1, -2)
    s = s.masked_fill(~causal, -np.inf) + bias.masked_fill(~causal, 0)
    return torch.softmax(s, -1) @ v


def frozen_centre_loss(inputs, options, do):
    """The loss of the centered prior's forward with its centring term held
    at its value for `inputs` (spec 3: a constant of the backward pass),
    from the raw router: l = (log pi - centre) / sigma on routed blocks. Only
    for local_blocks = init_blocks = 0 (the support is then the routed
    blocks, and the diagonal block is forced)."""
    raw = dict(options, prior="raw")
    block_size, sigma = options["block_size"], options.get("sigma", 1.0)
    q, k = inputs[0], inputs[1]
    seq_len, head_dim = q.shape[2], q.shape[3]
    blocks = torch.arange(-(-seq_len // block_size), device=q.device)
    diagonal = blocks == (torch.arange(seq_len, device=q.device)
                          // block_size)[:, None]

    def routed_prior(arrays):
        log_pi, _ = torch_reference.router(arrays[0], arrays[1], arrays[3],
                                           **raw)
        return log_pi, (log_pi > -np.inf) & ~diagonal

    with torch.no_grad():
        log_pi, routed = routed_prior(inputs)
        centre = (log_pi.where(routed, 0).sum(-1, keepdim=True)
                  / routed.sum(-1, keepdim=True).clamp(min=1))

    def loss(arrays):
        log_pi, routed = routed_prior(arrays)
        prior = torch.where(routed, (log_pi - centre) / sigma, log_pi)
        out = dense_attention(arrays[0], arrays[1], arrays[2], prior,
                              block_size,
                              options.get("scale") or head_dim ** -0.5)
        return (out * do).sum()
    return loss


def gradient_errors(device, shape, options, seed):
    """{dq, dk, dv, dw: rel L2} of torch_reference's autograd gradients
    against central differences of its forward (the frozen-centre forward
    for the centered prior), float64, with W."""
    arrays, _ = draw(shape, True, options, seed, 1e-3)
    inputs = tensors(arrays, device, requires_grad=True)
    generator = torch.Generator().manual_seed(seed)
    do = torch.randn(inputs[0].shape, generator=generator,
                     dtype=torch.float64).to(device)
    grads = gradients(torch_reference.attention(*inputs, **options), inputs,
                      do)
    if options.get("prior", "centered") == "centered":
        loss = frozen_centre_loss(inputs, options, do)
    else:
        def loss(arrays):
            return (torch_reference.attention(*arrays, **options) * do).sum()
    step = 1e-6
    errors = {}
    with torch.no_grad():
        for name, x, grad in zip(("dq", "dk", "dv", "dw"), inputs, grads):
            numeric = torch.zeros_like(x).view(-1)
            flat = x.view(-1)
            for index in range(flat.numel()):
                saved = flat[index].item()
                flat[index] = saved + step
                up = loss(inputs).item()
                flat[index] = saved - step
                down = loss(inputs).item()
                flat[index] = saved
                numeric[index] = (up - down) / (2 * step)
            errors[name] = rel_l2(grad, numeric.view(x.shape))
    return errors


def stopped_gradient_errors(device, seed):
    """router_grad = none: torch_reference's gradients against autograd of
    the dense F6 with the router's log-prior detached (B1 alone), and |dw|
    (none flows). Returns {name: error}."""
    shape = (1, 4, 2, 45, 8)
    options = dict(block_size=8, gamma=3.0, sigma=0.5, local_blocks=1)
    arrays, _ = draw(shape, True, options, seed, 1e-6)
    inputs = tensors(arrays, device, requires_grad=True)
    do = torch.randn(inputs[0].shape, dtype=torch.float64,
                     generator=torch.Generator().manual_seed(seed)).to(device)
    o = torch_reference.attention(*inputs, router_grad="none", **options)
    grads = torch.autograd.grad((o * do).sum(), inputs, allow_unused=True)
    log_prior, _ = torch_reference.router(*inputs[:2], inputs[3], **options)
    dense = dense_attention(*inputs[:3], log_prior.detach(), 8, 8 ** -0.5)
    expected = torch.autograd.grad((dense * do).sum(), inputs[:3])
    errors = {name: rel_l2(g, e)
              for name, g, e in zip(("dq", "dk", "dv"), grads, expected)}
    errors["dw is None"] = 0.0 if grads[3] is None else float("inf")
    return errors


def chunk_errors(device, seed):
    """query_chunk changes nothing: router and attention (with gradients)
    chunked by 7 against unchunked, float64. {name: error}."""
    shape = (1, 4, 2, 50, 8)
    options = dict(block_size=8, gamma=3.0, local_blocks=1, init_blocks=1)
    arrays, _ = draw(shape, True, options, seed, 1e-6)
    inputs = tensors(arrays, device, requires_grad=True)
    whole, counts = torch_reference.router(*inputs[:2], inputs[3], **options)
    parts, part_counts = torch_reference.router(
        *inputs[:2], inputs[3], query_chunk=7, **options)
    finite = whole > -np.inf
    errors = {"router log_prior": rel_l2(parts[finite], whole[finite]),
              "router -inf pattern": float(
                  (finite != (parts > -np.inf)).sum()),
              "router counts": float((counts != part_counts).sum())}
    results = []
    for chunk in (None, 7):
        o = torch_reference.attention(*inputs, query_chunk=chunk, **options)
        results.append([o] + gradients(o, inputs, torch.ones_like(o)))
    for name, a, b in zip(("o", "dq", "dk", "dv", "dw"), *results):
        errors["attention " + name] = rel_l2(b, a)
    return errors


def dtype_errors(device, dtype, seed):
    """torch_reference on `dtype` inputs (computed in float32) against
    float64 on the same rounded values: (O rel L2, LSE rel L2)."""
    shape = (1, 4, 2, 96, 32)
    options = dict(block_size=16, gamma=4.0, prior="raw")
    arrays, _ = draw(shape, True, options, seed, 1e-4, dtype=dtype)
    o64, lse64, _ = torch_reference.attention(*tensors(arrays, device),
                                              return_lse=True, **options)
    o, lse, _ = torch_reference.attention(*tensors(arrays, device, dtype),
                                          return_lse=True, **options)
    assert o.dtype == dtype and lse.dtype == torch.float32
    return rel_l2(o, o64), rel_l2(lse, lse64)


@unittest.skipIf(torch is None, "PyTorch is not installed")
class TorchReference(unittest.TestCase):
    def test_forward_matches_numpy_reference(self):
        for index, (shape, with_w, options) in enumerate(FORWARD_CASES):
            with self.subTest(shape=shape, options=options):
                o, lse, mismatches = forward_errors("cpu", shape, with_w,
                                                    options, 10 * index)
                self.assertLessEqual(o, F64_TOLERANCE)
                self.assertLessEqual(lse, F64_TOLERANCE)
                self.assertEqual(mismatches, 0)

    def test_gradients_match_finite_differences(self):
        for index, (shape, options) in enumerate(GRADIENT_CASES):
            for name, error in gradient_errors("cpu", shape, options,
                                               100 + index).items():
                with self.subTest(options=options, gradient=name):
                    self.assertLessEqual(error, FD_TOLERANCE)

    def test_router_grad_none_is_the_fine_attention_gradient(self):
        for name, error in stopped_gradient_errors("cpu", 7).items():
            with self.subTest(check=name):
                self.assertLessEqual(error, F64_TOLERANCE)

    def test_query_chunks_change_nothing(self):
        for name, error in chunk_errors("cpu", 3).items():
            with self.subTest(check=name):
                self.assertLessEqual(error, F64_TOLERANCE)

    def test_low_precision_inputs(self):
        for dtype in (torch.float32, torch.bfloat16):
            o, lse = dtype_errors("cpu", dtype, 21)
            with self.subTest(dtype=dtype):
                tolerance = TOLERANCES[str(dtype).split(".")[1]]
                self.assertLessEqual(o, tolerance)
                self.assertLessEqual(lse, tolerance)

    def test_bad_inputs_are_named(self):
        q = torch.zeros(1, 4, 16, 8)
        k = torch.zeros(1, 2, 16, 8)
        cases = [
            (dict(k=torch.zeros(1, 3, 16, 8), v=torch.zeros(1, 3, 16, 8)),
             "multiple of Hkv"),
            (dict(v=torch.zeros(1, 2, 15, 8)), "k and v must have shape"),
            (dict(w=torch.zeros(2, 4)), "w must have shape"),
            (dict(alpha=1.0), "alpha"),
            (dict(block_size=0), "block_size"),
            (dict(prior="peaked"), "prior"),
            (dict(router_grad="partial"), "router_grad"),
            (dict(query_chunk=0), "query_chunk"),
            (dict(local_blocks=-1), "local_blocks"),
        ]
        for change, message in cases:
            arguments = {**dict(q=q, k=k, v=k, block_size=8), **change}
            with self.subTest(change=list(change)):
                with self.assertRaisesRegex(ValueError, message):
                    torch_reference.attention(**arguments)
        with self.assertRaisesRegex(TypeError, "v is torch.float64"):
            torch_reference.attention(q, k, k.double(), block_size=8)


if __name__ == "__main__":
    unittest.main()
