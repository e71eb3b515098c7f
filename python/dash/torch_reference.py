"""DashAttention in plain PyTorch: the spec (shared/spec/dashattention.md,
F1-F6 and B1-B7) as an oracle for tests and benchmarks, on any device.

float64 inputs give the spec's double-precision oracle (section 4); float32,
bfloat16 and float16 inputs are computed in float32, the router's precision,
and O is returned in the input's type. The backward pass is autograd's,
which is B1-B4, B6 and B7 exactly, except where the spec makes a choice:
entmax is an autograd.Function whose backward is B5's closed form at the
solved threshold, and the centring term of the centered prior is detached.
tau is exact: sort-based for alpha 1.5 and 2, else bisection on
[max x - 1, max x] until the bracket is one ulp wide (below 1e-12 in
float64).

Everything is dense per query chunk: the [B, H, chunk, Mc] routing logits
and the [B, H, chunk, N] scores are materialised (query_chunk bounds them),
and router() returns the [B, Hkv, N, M] log-prior. An oracle, not a kernel.

Public: summaries (F1), router (F1-F5), attention (F1-F6, differentiable).
"""

import collections
import math

import torch

PRIORS = ("centered", "raw", "flat")

_Config = collections.namedtuple(
    "_Config", "alpha block_size gamma sigma prior local_blocks init_blocks "
    "scale router_grad num_blocks chunk dtype")


def _compute_dtype(dtype):
    return torch.float64 if dtype == torch.float64 else torch.float32


def _router_grad(value):
    """router_grad "full" | "none" (True | False, dash.pytorch's spelling)."""
    if isinstance(value, str):
        if value in ("full", "none"):
            return value == "full"
    elif isinstance(value, bool):
        return value
    raise ValueError(f"router_grad must be 'full' or 'none', got {value!r}")


def _check_kv(k, w, block_size):
    if k.dim() != 4:
        raise ValueError(f"k must be 4-d [B, Hkv, N, D], got shape "
                         f"{tuple(k.shape)}")
    if not k.is_floating_point():
        raise TypeError(f"k must be a floating-point tensor, got {k.dtype}")
    if isinstance(block_size, bool) or not isinstance(block_size, int) \
            or block_size < 1:
        raise ValueError(f"block_size must be a positive integer, got "
                         f"{block_size!r}")
    kv_heads, head_dim = k.shape[1], k.shape[3]
    if w is not None:
        if tuple(w.shape) != (kv_heads, head_dim):
            raise ValueError(f"w must have shape [Hkv, D] = [{kv_heads}, "
                             f"{head_dim}], got {tuple(w.shape)}")
        if w.dtype != k.dtype or w.device != k.device:
            raise TypeError(f"w is {w.dtype} on {w.device}, but k is "
                            f"{k.dtype} on {k.device}")


def _config(q, k, v, w, alpha, block_size, gamma, sigma, prior, local_blocks,
            init_blocks, scale, router_grad, query_chunk):
    """Checks the inputs (the errors name the argument) and gathers the
    options."""
    _check_kv(k, w, block_size)
    if q.dim() != 4:
        raise ValueError(f"q must be 4-d [B, H, N, D], got shape "
                         f"{tuple(q.shape)}")
    batch, heads, seq_len, head_dim = q.shape
    kv_heads = k.shape[1]
    if tuple(k.shape) != (batch, kv_heads, seq_len, head_dim) or (
            v is not None and v.shape != k.shape):
        raise ValueError(
            f"k and v must have shape [B, Hkv, N, D] = [{batch}, Hkv, "
            f"{seq_len}, {head_dim}] and agree, got {tuple(k.shape)}"
            + ("" if v is None else f" and {tuple(v.shape)}"))
    if min(batch, heads, seq_len, head_dim) < 1:
        raise ValueError(f"q must have non-empty dimensions, got shape "
                         f"{tuple(q.shape)}")
    if kv_heads == 0 or heads % kv_heads:
        raise ValueError(f"H = {heads} must be a multiple of Hkv = "
                         f"{kv_heads}")
    for name, x in (("k", k), ("v", v)):
        if x is not None and (x.dtype != q.dtype or x.device != q.device):
            raise TypeError(f"{name} is {x.dtype} on {x.device}, but q is "
                            f"{q.dtype} on {q.device}")
    if not alpha > 1:
        raise ValueError(f"alpha must be > 1, got {alpha}")
    if not sigma > 0:
        raise ValueError(f"sigma must be > 0, got {sigma}")
    if prior not in PRIORS:
        raise ValueError(f"prior must be one of {PRIORS}, got {prior!r}")
    for name, value in (("local_blocks", local_blocks),
                        ("init_blocks", init_blocks)):
        if not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be a non-negative integer, got "
                             f"{value!r}")
    if query_chunk is not None and (not isinstance(query_chunk, int)
                                    or query_chunk < 1):
        raise ValueError(f"query_chunk must be a positive integer or None, "
                         f"got {query_chunk!r}")
    return _Config(
        alpha=float(alpha), block_size=block_size, gamma=float(gamma),
        sigma=float(sigma), prior=prior, local_blocks=local_blocks,
        init_blocks=init_blocks,
        scale=1.0 / math.sqrt(head_dim) if scale is None else float(scale),
        router_grad=_router_grad(router_grad),
        num_blocks=-(-seq_len // block_size),
        chunk=seq_len if query_chunk is None else query_chunk,
        dtype=_compute_dtype(q.dtype))


def summaries(k, w=None, *, block_size=64, scale=None):
    """F1: Kbar [B, Hkv, Mc, D], the softmax pooling with W of each complete
    block of k [B, Hkv, N, D] (mean pooling without W), in float64 for
    float64 k, else float32."""
    _check_kv(k, w, block_size)
    batch, kv_heads, seq_len, head_dim = k.shape
    scale = 1.0 / math.sqrt(head_dim) if scale is None else scale
    dtype = _compute_dtype(k.dtype)
    complete = seq_len // block_size
    blocks = k[:, :, :complete * block_size].to(dtype).reshape(
        batch, kv_heads, complete, block_size, head_dim)
    if w is None:
        return blocks.mean(3)
    e = scale * torch.einsum("bgctd,gd->bgct", blocks, w.to(dtype))
    return torch.einsum("bgct,bgctd->bgcd", torch.softmax(e, -1), blocks)


def _threshold(x, alpha):
    """The entmax threshold tau [..., 1] of rows x whose maximum is 0 (-inf
    marks a non-candidate; a row of -inf gets some finite tau)."""
    if alpha in (1.5, 2.0):
        # Sorted descending, the support is the longest prefix whose
        # closed-form tau stays <= its smallest element.
        top, _ = torch.sort(x, -1, descending=True)
        present = top > -math.inf
        top = torch.where(present, top, 0)
        rank = torch.arange(1, x.shape[-1] + 1, device=x.device,
                            dtype=x.dtype)
        mean = top.cumsum(-1) / rank
        if alpha == 2.0:
            taus = mean - 1 / rank
        else:  # sum_c (x_c - tau)^2 = 1 over the prefix.
            variance = (top * top).cumsum(-1) / rank - mean * mean
            taus = mean - torch.sqrt(torch.clamp(1 / rank - variance, min=0))
        size = ((taus <= top) & present).sum(-1, keepdim=True)
        return taus.gather(-1, (size - 1).clamp(min=0))
    lo = torch.full(x.shape[:-1] + (1,), -1.0, device=x.device,
                    dtype=x.dtype)
    hi = torch.zeros_like(lo)
    power = 1.0 / (alpha - 1.0)
    # Halving [-1, 0] down to the type's resolution at 1.
    for _ in range(round(-math.log2(torch.finfo(x.dtype).eps)) + 3):
        tau = 0.5 * (lo + hi)
        heavy = (torch.clamp(x - tau, min=0) ** power).sum(-1, True) >= 1
        lo, hi = torch.where(heavy, tau, lo), torch.where(heavy, hi, tau)
    return 0.5 * (lo + hi)


class _Entmax(torch.autograd.Function):
    """p = alpha-entmax(z) over the last dimension (F3; -inf marks a
    non-candidate, a row without candidates gives p = 0). The backward is
    B5's closed form at the solved tau."""

    @staticmethod
    def forward(ctx, z, alpha):
        x = (alpha - 1.0) * z
        if x.shape[-1] == 0:
            p = torch.zeros_like(x)
        else:
            top = x.amax(-1, keepdim=True)
            x = x - torch.where(top > -math.inf, top, 0)
            p = torch.clamp(x - _threshold(x, alpha), min=0) ** (
                1.0 / (alpha - 1.0))
        ctx.save_for_backward(p)
        ctx.alpha = alpha
        return p

    @staticmethod
    def backward(ctx, dp):
        (p,) = ctx.saved_tensors
        u = torch.where(p > 0, p ** (2.0 - ctx.alpha), 0)
        total = torch.clamp(u.sum(-1, keepdim=True),
                            min=torch.finfo(u.dtype).tiny)
        return u * (dp - (u * dp).sum(-1, keepdim=True) / total), None


def _route(q, kbar, start, cfg):
    """F2-F5 for the queries start, start + 1, ... of the chunk q
    [B, H, n, D] (compute dtype): the log-prior [B, Hkv, n, M] (-inf off
    the selected blocks) and the selected-block counts [B, Hkv, n]."""
    batch, heads, n, head_dim = q.shape
    kv_heads, complete = kbar.shape[1], kbar.shape[2]
    rows = torch.arange(start, start + n, device=q.device)
    own = torch.div(rows, cfg.block_size, rounding_mode="floor")[:, None]
    blocks = torch.arange(cfg.num_blocks, device=q.device)
    # F2: candidates are the complete blocks before the query's own block.
    z = cfg.gamma * cfg.scale * torch.einsum(
        "bgrnd,bgcd->bgrnc",
        q.reshape(batch, kv_heads, heads // kv_heads, n, head_dim), kbar)
    z = z.masked_fill(blocks[:complete] >= own, -math.inf)
    # F3, F4: entmax per head, pooled over the group.
    pooled = _Entmax.apply(z, cfg.alpha).mean(2)
    if not cfg.router_grad:
        pooled = pooled.detach()
    pooled = torch.nn.functional.pad(pooled, (0, cfg.num_blocks - complete))
    support = pooled > 0
    forced = (blocks == own) | ((blocks < own)
                                & (blocks >= own - cfg.local_blocks)) | (
        (blocks < cfg.init_blocks) & (blocks <= own))
    selected = support | forced
    # F5. log(1) = 0 off the support keeps log and its gradient finite.
    if cfg.prior == "flat":
        prior = torch.zeros_like(pooled)
    else:
        log_pi = torch.log(torch.where(support, pooled, 1))
        if cfg.prior == "centered":
            # The centring term is a constant of the backward pass (spec 3).
            centre = log_pi.sum(-1, keepdim=True) / torch.clamp(
                support.sum(-1, keepdim=True), min=1)
            log_pi = (log_pi - centre.detach()) / cfg.sigma
        prior = torch.where(support & ~forced, log_pi, 0)
    return (prior.masked_fill(~selected, -math.inf),
            selected.sum(-1, dtype=torch.int32))


def _attend(q, k, v, log_prior, start, cfg):
    """F6 for the queries start, start + 1, ... of the chunk q [B, H, n, D]
    (compute dtype) with their log-prior [B, Hkv, n, M]: (O, LSE)."""
    batch, heads, n, head_dim = q.shape
    kv_heads = k.shape[1]
    end = start + n  # Later keys are causally invisible to the chunk.
    rows = torch.arange(start, end, device=q.device)[:, None]
    keys = torch.arange(end, device=q.device)
    bias = log_prior[..., torch.div(keys, cfg.block_size,
                                    rounding_mode="floor")]
    allowed = (bias > -math.inf) & (keys <= rows)
    s = cfg.scale * torch.einsum(
        "bgrnd,bgjd->bgrnj",
        q.reshape(batch, kv_heads, heads // kv_heads, n, head_dim),
        k[:, :, :end])
    s = (s + bias.masked_fill(~allowed, 0).unsqueeze(2)).masked_fill(
        ~allowed.unsqueeze(2), -math.inf)
    lse = torch.logsumexp(s, -1)
    o = torch.einsum("bgrnj,bgjd->bgrnd", torch.exp(s - lse.unsqueeze(-1)),
                     v[:, :, :end])
    return (o.reshape(batch, heads, n, head_dim),
            lse.reshape(batch, heads, n))


def router(q, k, w=None, *, alpha=1.5, block_size=64, gamma=1.0, sigma=1.0,
           prior="centered", local_blocks=0, init_blocks=0, scale=None,
           query_chunk=None):
    """F1-F5: (log_prior [B, Hkv, N, M], counts [B, Hkv, N] int32).

    log_prior is -inf off the selected blocks A_i, float64 for float64
    inputs, else float32; counts is |A_i|. query_chunk routes that many
    queries at a time, so that the logits of a chunk, [B, H, chunk, Mc],
    bound the memory beside the result.
    """
    cfg = _config(q, k, None, w, alpha, block_size, gamma, sigma, prior,
                  local_blocks, init_blocks, scale, "full", query_chunk)
    kbar = summaries(k, w, block_size=block_size, scale=cfg.scale)
    batch, kv_heads, seq_len, _ = k.shape
    # Filled chunk by chunk: no second copy of the result.
    log_prior = q.new_empty((batch, kv_heads, seq_len, cfg.num_blocks),
                            dtype=cfg.dtype)
    counts = q.new_empty((batch, kv_heads, seq_len), dtype=torch.int32)
    for start in range(0, seq_len, cfg.chunk):
        end = start + cfg.chunk
        log_prior[:, :, start:end], counts[:, :, start:end] = _route(
            q[:, :, start:end].to(cfg.dtype), kbar, start, cfg)
    return log_prior, counts


def attention(q, k, v, w=None, *, alpha=1.5, block_size=64, gamma=1.0,
              sigma=1.0, prior="centered", local_blocks=0, init_blocks=0,
              scale=None, query_chunk=None, router_grad="full",
              return_lse=False):
    """F1-F6: O [B, H, N, D] in q's element type, differentiable in q, k, v
    and w with the spec's backward; with return_lse also LSE [B, H, N]
    (float64 for float64 inputs, else float32) and the counts
    [B, Hkv, N] int32, as dash.attention returns them.

    router_grad "none" stops the gradient at the pooled probabilities pi
    (then w gets no gradient). query_chunk computes that many queries at a
    time (the [B, H, chunk, N] scores); autograd still keeps every chunk's.
    """
    cfg = _config(q, k, v, w, alpha, block_size, gamma, sigma, prior,
                  local_blocks, init_blocks, scale, router_grad, query_chunk)
    kbar = summaries(k, w, block_size=block_size, scale=cfg.scale)
    k, v = k.to(cfg.dtype), v.to(cfg.dtype)
    outputs = []
    for start in range(0, q.shape[2], cfg.chunk):
        chunk = q[:, :, start:start + cfg.chunk].to(cfg.dtype)
        log_prior, counts = _route(chunk, kbar, start, cfg)
        outputs.append(_attend(chunk, k, v, log_prior, start, cfg)
                       + (counts,))
    o, lse, counts = (torch.cat(parts, 2) for parts in zip(*outputs))
    o = o.to(q.dtype)
    return (o, lse, counts) if return_lse else o
