"""PyTorch integration: DashAttention on torch tensors with autograd.

Import-guarded: `import dash` works without torch; importing this module
needs torch (2.4 or later for torch.library.custom_op).

- `DashAttentionFunction`: a torch.autograd.Function over the C API.
- `torch.ops.dash.attention` / `torch.ops.dash.attention_backward`: custom
  ops with fake (meta) implementations, so torch.compile can trace through
  them, and autograd registered between them.
- `DashAttention`: an nn.Module owning the summary query W [Hkv, D] (zero
  at initialisation, spec section 1).

CUDA tensors must live on device 0 (the C API runs in the primary context
of device 0) and be float32, bfloat16 or float16; CPU tensors run on the
host target (float32 or float64). Strided q, k, v and dO (transposed
views, say) are passed with their strides, which the C API packs; expanded
ones (stride 0) and W are made contiguous. The outputs are contiguous. LSE and the counts are not differentiable.
Kernels run synchronously: the C API waits for the current stream's work
before its launch and returns once its kernels completed.
`dash.torch_reference` is the same attention in plain PyTorch (the oracle).
"""

from typing import List, Optional, Tuple

import torch

from . import TARGET_CPU, TARGET_CUDA, _shapes, default_context, make_config
from .torch_reference import _router_grad

_DTYPES = {
    torch.float32: "float32",
    torch.float64: "float64",
    torch.bfloat16: "bfloat16",
    torch.float16: "float16",
}


def _kernel(q, k, w, options):
    if q.dtype not in _DTYPES:
        raise TypeError(f"q must be one of {list(_DTYPES)}, got {q.dtype}")
    if q.is_cuda and q.device.index not in (None, 0):
        raise ValueError(f"Dash runs on cuda:0, got a tensor on {q.device}")
    batch, heads, seq_len, head_dim = q.shape
    options = dict(options, router_grad=_router_grad(
        options.get("router_grad", True)))
    config = make_config(batch, heads, k.shape[1], seq_len, head_dim,
                         dtype=_DTYPES[q.dtype], with_w=w is not None,
                         **options)
    target = TARGET_CUDA if q.is_cuda else TARGET_CPU
    return default_context().compile(config, target)


def _pointer(tensor):
    return None if tensor is None else tensor.data_ptr()


def _stream(tensor):
    return torch.cuda.current_stream().cuda_stream if tensor.is_cuda else None


def _check_like(name, tensor, q):
    if tensor.device != q.device or tensor.dtype != q.dtype:
        raise TypeError(f"{name} is {tensor.dtype} on {tensor.device}, but q "
                        f"is {q.dtype} on {q.device}")


def _check(q, k, v, w):
    """The C API trusts buffer sizes: shapes, devices and types are checked
    here."""
    _shapes(q, k, v, w)
    for name, tensor in (("k", k), ("v", v), ("w", w)):
        if tensor is not None:
            _check_like(name, tensor, q)


def _strided(tensor):
    """(tensor, strides): the tensor itself with its element strides when
    the C API can read it in place, else a contiguous copy (strides None:
    contiguous)."""
    if tensor.is_contiguous():
        return tensor, None
    if any(s == 0 and n > 1 for s, n in zip(tensor.stride(), tensor.shape)):
        return tensor.contiguous(), None
    return tensor, tensor.stride()


def _forward(q, k, v, w, options):
    _check(q, k, v, w)
    (q, sq), (k, sk), (v, sv) = _strided(q), _strided(k), _strided(v)
    w = None if w is None else w.contiguous()
    kernel = _kernel(q, k, w, options)
    batch, heads, seq_len, _ = q.shape
    o = q.new_empty(q.shape)
    lse = torch.empty((batch, heads, seq_len), dtype=torch.float32,
                      device=q.device)
    counts = torch.empty((batch, k.shape[1], seq_len), dtype=torch.int32,
                         device=q.device)
    kernel.forward(_pointer(q), _pointer(k), _pointer(v), _pointer(w),
                   _pointer(o), _pointer(lse), _pointer(counts), _stream(q),
                   strides={"q": sq, "k": sk, "v": sv})
    return o, lse, counts


def _backward(q, k, v, w, do, options):
    _check(q, k, v, w)
    _check_like("do", do, q)
    if do.shape != q.shape:
        raise ValueError(f"do must have the shape of q {tuple(q.shape)}, got "
                         f"{tuple(do.shape)}")
    # Upstream gradients are often views (transposes, expanded scalars).
    (q, sq), (k, sk), (v, sv), (do, sdo) = (_strided(x) for x in (q, k, v, do))
    w = None if w is None else w.contiguous()
    kernel = _kernel(q, k, w, options)
    dq, dk, dv = (x.new_empty(x.shape) for x in (q, k, v))
    dw = None if w is None else torch.empty_like(w)
    kernel.backward(_pointer(q), _pointer(k), _pointer(v), _pointer(w),
                    _pointer(do), _pointer(dq), _pointer(dk), _pointer(dv),
                    _pointer(dw), _stream(q),
                    strides={"q": sq, "k": sk, "v": sv, "do": sdo})
    return dq, dk, dv, dw


def _options(alpha, block_size, gamma, sigma, prior, local_blocks,
             init_blocks, scale, router_grad):
    return dict(alpha=alpha, block_size=block_size, gamma=gamma, sigma=sigma,
                prior=prior, local_blocks=local_blocks,
                init_blocks=init_blocks, scale=scale, router_grad=router_grad)


class DashAttentionFunction(torch.autograd.Function):
    """apply(q, k, v, w, options) -> (o, lse, counts); w may be None,
    options is the dict of dash.make_config's keyword arguments."""

    @staticmethod
    def forward(ctx, q, k, v, w, options):
        o, lse, counts = _forward(q, k, v, w, options)
        ctx.save_for_backward(q, k, v, w)
        ctx.options = options
        ctx.mark_non_differentiable(lse, counts)
        return o, lse, counts

    @staticmethod
    def backward(ctx, do, _dlse, _dcounts):
        q, k, v, w = ctx.saved_tensors
        dq, dk, dv, dw = _backward(q, k, v, w, do, ctx.options)
        return dq, dk, dv, dw, None


@torch.library.custom_op("dash::attention", mutates_args=())
def attention_op(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                 w: Optional[torch.Tensor], alpha: float, block_size: int,
                 gamma: float, sigma: float, prior: str, local_blocks: int,
                 init_blocks: int, scale: Optional[float], router_grad: bool
                 ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    return _forward(q, k, v, w, _options(
        alpha, block_size, gamma, sigma, prior, local_blocks, init_blocks,
        scale, router_grad))


# The fake implementations must give the real outputs' strides: those are
# contiguous whatever the inputs' layout (empty_like would copy a view's).
@attention_op.register_fake
def _(q, k, v, w, alpha, block_size, gamma, sigma, prior, local_blocks,
      init_blocks, scale, router_grad):
    batch, heads, seq_len, _ = q.shape
    return (q.new_empty(q.shape),
            q.new_empty((batch, heads, seq_len), dtype=torch.float32),
            q.new_empty((batch, k.shape[1], seq_len), dtype=torch.int32))


@torch.library.custom_op("dash::attention_backward", mutates_args=())
def attention_backward_op(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                          w: Optional[torch.Tensor], do: torch.Tensor,
                          alpha: float, block_size: int, gamma: float,
                          sigma: float, prior: str, local_blocks: int,
                          init_blocks: int, scale: Optional[float],
                          router_grad: bool) -> List[torch.Tensor]:
    grads = _backward(q, k, v, w, do, _options(
        alpha, block_size, gamma, sigma, prior, local_blocks, init_blocks,
        scale, router_grad))
    return [g for g in grads if g is not None]


@attention_backward_op.register_fake
def _(q, k, v, w, do, *attributes):
    return [x.new_empty(x.shape) for x in (q, k, v, w) if x is not None]


def _setup_context(ctx, inputs, output):
    q, k, v, w, *attributes = inputs
    ctx.save_for_backward(q, k, v, w)
    ctx.attributes = attributes
    ctx.mark_non_differentiable(output[1], output[2])


def _op_backward(ctx, do, _dlse, _dcounts):
    q, k, v, w = ctx.saved_tensors
    grads = attention_backward_op(q, k, v, w, do, *ctx.attributes)
    dw = grads[3] if w is not None else None
    return (grads[0], grads[1], grads[2], dw) + (None,) * len(ctx.attributes)


attention_op.register_autograd(_op_backward, setup_context=_setup_context)


def attention(q, k, v, w=None, *, alpha=1.5, block_size=64, gamma=1.0,
              sigma=1.0, prior="centered", local_blocks=0, init_blocks=0,
              scale=None, router_grad="full", return_lse=False):
    """DashAttention on tensors, differentiable in q, k, v and w, through
    the torch.ops.dash.attention custom op. router_grad is "full" or "none"
    (or True / False); with return_lse also LSE [B, H, N] float32 and the
    selected-block counts [B, Hkv, N] int32."""
    o, lse, counts = attention_op(q, k, v, w, alpha, block_size, gamma, sigma,
                                  prior, local_blocks, init_blocks, scale,
                                  _router_grad(router_grad))
    return (o, lse, counts) if return_lse else o


class DashAttention(torch.nn.Module):
    """DashAttention with its learned summary query W [kv_heads, head_dim]
    (zero at initialisation: mean pooling until it learns). forward(q, k, v)
    takes q [B, H, N, D] and k, v [B, kv_heads, N, D]; W is cast to q's
    element type (e.g. an f32 parameter under bf16 activations)."""

    def __init__(self, kv_heads, head_dim, *, alpha=1.5, block_size=64,
                 gamma=1.0, sigma=1.0, prior="centered", local_blocks=0,
                 init_blocks=0, scale=None, router_grad="full", device=None,
                 dtype=None):
        super().__init__()
        self.w = torch.nn.Parameter(
            torch.zeros(kv_heads, head_dim, device=device, dtype=dtype))
        self.options = _options(alpha, block_size, gamma, sigma, prior,
                                local_blocks, init_blocks, scale, router_grad)

    def forward(self, q, k, v):
        return attention(q, k, v, self.w.to(q.dtype), **self.options)

    def extra_repr(self):
        return ", ".join(f"{key}={value}"
                         for key, value in self.options.items())
