"""Dash: DashAttention compiled by the Dash MLIR compiler, from Python.

A pure ctypes package over the C API of libDashC.so (include/dash-c/Dash.h):
no compiled extension, any Python 3 with numpy. `attention` and
`attention_backward` run on the host CPU on numpy arrays. The PyTorch
integration (CUDA tensors, autograd, torch.library) is in `dash.pytorch`.

The library is found through $DASH_LIBRARY, next to this package, or in the
build directories of a source checkout.
"""

import ctypes
import math

import numpy as np

from ._capi import DTYPES, PRIORS, STATUS_OK, TARGET_CPU, TARGET_CUDA
from ._capi import AttentionConfig, DashError, lib

__all__ = ["DashError", "attention", "attention_backward", "Context",
           "TARGET_CPU", "TARGET_CUDA"]


class Context:
    """Owns the C context: its kernel cache and its last error."""

    def __init__(self):
        handle = ctypes.c_void_p()
        self._check(lib.dashContextCreate(ctypes.byref(handle)), None)
        self.handle = handle

    def __del__(self):
        if getattr(self, "handle", None) and lib is not None:
            lib.dashContextDestroy(self.handle)
            self.handle = None

    def _check(self, status, handle):
        if status != STATUS_OK:
            message = lib.dashGetLastError(handle).decode("utf-8", "replace")
            raise DashError(status, message)

    def check(self, status):
        """Raises the context's last error as DashError unless OK."""
        self._check(status, self.handle)

    def cached_kernels(self):
        return lib.dashContextCachedKernels(self.handle)

    def compile(self, config, target=TARGET_CPU):
        """A Kernel for `config`, from the context's cache when there."""
        handle = ctypes.c_void_p()
        self.check(lib.dashCompile(self.handle, ctypes.byref(config), target,
                                   ctypes.byref(handle)))
        return Kernel(self, handle, config)


class Kernel:
    """A compiled configuration: forward and (compiled on first use)
    backward. Pointers are host pointers for the CPU target and device
    pointers for CUDA."""

    def __init__(self, context, handle, config):
        self.context = context
        self.handle = handle
        self.config = config

    def __del__(self):
        if getattr(self, "handle", None) and lib is not None:
            lib.dashKernelRelease(self.handle)
            self.handle = None

    def forward(self, q, k, v, w, o, lse, counts, stream=None):
        self.context.check(
            lib.dashForward(self.handle, q, k, v, w, o, lse, counts, stream))

    def backward(self, q, k, v, w, do, dq, dk, dv, dw, stream=None):
        self.context.check(
            lib.dashBackward(self.handle, q, k, v, w, do, dq, dk, dv, dw,
                             stream))


_default_context = None


def default_context():
    """The process-wide context whose cache every call here shares."""
    global _default_context
    if _default_context is None:
        _default_context = Context()
    return _default_context


def make_config(batch, heads, kv_heads, seq_len, head_dim, *, dtype,
                with_w, alpha=1.5, block_size=64, gamma=1.0, sigma=1.0,
                prior="centered", local_blocks=0, init_blocks=0, scale=None,
                router_grad=True):
    """The C configuration of one attention; `dtype` is a name of DTYPES."""
    if prior not in PRIORS:
        raise ValueError(f"prior must be one of {sorted(PRIORS)}, got "
                         f"{prior!r}")
    if dtype not in DTYPES:
        raise ValueError(f"element type must be one of {sorted(DTYPES)}, "
                         f"got {dtype}")
    config = AttentionConfig()
    lib.dashAttentionConfigInit(ctypes.byref(config))
    config.batch, config.heads, config.kv_heads = batch, heads, kv_heads
    config.seq_len, config.head_dim = seq_len, head_dim
    config.block_size = block_size
    config.alpha, config.gamma, config.sigma = alpha, gamma, sigma
    config.prior = PRIORS[prior]
    config.dtype = DTYPES[dtype]
    config.local_blocks, config.init_blocks = local_blocks, init_blocks
    config.scale = math.nan if scale is None else scale
    config.with_summary_query = int(with_w)
    config.router_grad = int(bool(router_grad))
    return config


def _shapes(q, k, v, w):
    """(B, H, Hkv, N, D) after checking that the shapes fit together: the C
    API trusts buffer sizes, so they are checked here."""
    if q.ndim != 4 or k.ndim != 4 or v.ndim != 4:
        raise ValueError(f"q, k and v must be 4-d [B, H, N, D] / "
                         f"[B, Hkv, N, D], got shapes {q.shape}, {k.shape}, "
                         f"{v.shape}")
    batch, heads, seq_len, head_dim = q.shape
    kv_heads = k.shape[1]
    if k.shape != (batch, kv_heads, seq_len, head_dim) or v.shape != k.shape:
        raise ValueError(f"k and v must have shape [B, Hkv, N, D] = "
                         f"[{batch}, Hkv, {seq_len}, {head_dim}] and agree, "
                         f"got {k.shape} and {v.shape}")
    if w is not None and w.shape != (kv_heads, head_dim):
        raise ValueError(f"w must have shape [Hkv, D] = [{kv_heads}, "
                         f"{head_dim}], got {w.shape}")
    return batch, heads, kv_heads, seq_len, head_dim


def _host(array, dtype, name):
    array = np.asarray(array)
    if array.dtype != dtype:
        raise TypeError(f"{name} has dtype {array.dtype}, but q has {dtype}; "
                        f"pass arrays of one element type")
    return np.ascontiguousarray(array)


def _pointer(array):
    return None if array is None else array.ctypes.data_as(ctypes.c_void_p)


def _prepare(q, k, v, w, others, options):
    q = np.asarray(q)
    if q.dtype not in (np.float32, np.float64):
        raise TypeError(f"q must be float32 or float64 on the CPU, got "
                        f"{q.dtype}")
    k, v = _host(k, q.dtype, "k"), _host(v, q.dtype, "v")
    w = None if w is None else _host(w, q.dtype, "w")
    others = [_host(x, q.dtype, name) for name, x in others]
    q = np.ascontiguousarray(q)
    shape = _shapes(q, k, v, w)
    config = make_config(*shape, dtype=q.dtype.name, with_w=w is not None,
                         **options)
    kernel = default_context().compile(config, TARGET_CPU)
    return kernel, q, k, v, w, others


def attention(q, k, v, w=None, *, alpha=1.5, block_size=64, gamma=1.0,
              sigma=1.0, prior="centered", local_blocks=0, init_blocks=0,
              scale=None, return_lse=False):
    """DashAttention forward on the CPU (spec F1-F6).

    q: [B, H, N, D], k and v: [B, Hkv, N, D], w: [Hkv, D] or None, all
    float32 (or all float64). Returns O [B, H, N, D]; with return_lse also
    LSE [B, H, N] float32 and the selected-block counts [B, Hkv, N] int32.
    Raises DashError with the compiler's message for invalid
    configurations.
    """
    kernel, q, k, v, w, _ = _prepare(
        q, k, v, w, [],
        dict(alpha=alpha, block_size=block_size, gamma=gamma, sigma=sigma,
             prior=prior, local_blocks=local_blocks, init_blocks=init_blocks,
             scale=scale))
    batch, heads, seq_len, _ = q.shape
    o = np.empty_like(q)
    lse = np.empty((batch, heads, seq_len), np.float32) if return_lse else None
    counts = (np.empty((batch, k.shape[1], seq_len), np.int32)
              if return_lse else None)
    kernel.forward(_pointer(q), _pointer(k), _pointer(v), _pointer(w),
                   _pointer(o), _pointer(lse), _pointer(counts))
    return (o, lse, counts) if return_lse else o


def attention_backward(q, k, v, do, w=None, *, alpha=1.5, block_size=64,
                       gamma=1.0, sigma=1.0, prior="centered", local_blocks=0,
                       init_blocks=0, scale=None, router_grad=True):
    """DashAttention backward on the CPU (spec B1-B7) for the upstream
    gradient do [B, H, N, D]. Returns (dq, dk, dv), plus dw (summed over
    the batch) when w is given. The forward pass is recomputed."""
    kernel, q, k, v, w, (do,) = _prepare(
        q, k, v, w, [("do", do)],
        dict(alpha=alpha, block_size=block_size, gamma=gamma, sigma=sigma,
             prior=prior, local_blocks=local_blocks, init_blocks=init_blocks,
             scale=scale, router_grad=router_grad))
    if do.shape != q.shape:
        raise ValueError(f"do must have the shape of q {q.shape}, got "
                         f"{do.shape}")
    dq, dk, dv = np.empty_like(q), np.empty_like(k), np.empty_like(v)
    dw = None if w is None else np.empty_like(w)
    kernel.backward(_pointer(q), _pointer(k), _pointer(v), _pointer(w),
                    _pointer(do), _pointer(dq), _pointer(dk), _pointer(dv),
                    _pointer(dw))
    return (dq, dk, dv) if w is None else (dq, dk, dv, dw)
