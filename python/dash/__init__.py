"""Dash: DashAttention compiled by the Dash MLIR compiler, from Python.

A pure ctypes package over the C API of libDashC.so (include/dash-c/Dash.h):
no compiled extension, any Python 3 with numpy. `attention` and
`attention_backward` run on the host CPU on numpy arrays. The PyTorch
integration (CUDA tensors, autograd, torch.library) is in `dash.pytorch`.

`compile_function` compiles any MLIR module with dash ops (a single stage
op, say) and calls a function of it on numpy arrays or CUDA tensors.

Compiled kernels are cached in memory per context and on disk across
processes ($DASH_CACHE_DIR, else $XDG_CACHE_HOME/dash, else
~/.cache/dash; `Context.set_cache_dir`); `last_compile_info()` and
`Kernel.info()` / `Function.info` tell how long compiling or loading took
and where the code came from.

The library is found through $DASH_LIBRARY, next to this package, in the
lib/ directory of an install tree, or in the build directories of a source
checkout.
"""

import ctypes
import math
import os

import numpy as np

from ._capi import DTYPES, MAX_RANK, PASS_BACKWARD, PASS_FORWARD, PRIORS
from ._capi import STATUS_OK, TARGET_CPU, TARGET_CUDA, TENSOR_DTYPES
from ._capi import AttentionConfig, DashError, KernelInfo, TensorArg, lib

__all__ = ["DashError", "attention", "attention_backward", "Context",
           "Function", "compile_function", "last_compile_info", "version",
           "TARGET_CPU", "TARGET_CUDA"]

TARGETS = {"cpu": TARGET_CPU, "cuda": TARGET_CUDA}


def version():
    """The compiler build: Dash version, git commit and LLVM version."""
    return lib.dashGetVersion().decode()


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

    @property
    def cache_dir(self):
        """The disk cache directory, "" when disabled."""
        return lib.dashContextGetCacheDir(self.handle).decode()

    def set_cache_dir(self, directory):
        """Caches kernels compiled from now on in `directory`; None or ""
        disables the disk cache."""
        self.check(lib.dashContextSetCacheDir(
            self.handle, os.fsencode(directory) if directory else None))

    def compile_function(self, source, entry, target="cpu"):
        """A Function for `entry` of the MLIR module `source`."""
        if target not in TARGETS:
            raise ValueError(f"target must be one of {sorted(TARGETS)}, got "
                             f"{target!r}")
        text = source.encode() if isinstance(source, str) else bytes(source)
        handle = ctypes.c_void_p()
        self.check(lib.dashFunctionCompile(self.handle, text, len(text),
                                           entry.encode(), TARGETS[target],
                                           ctypes.byref(handle)))
        return Function(self, handle, target)

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

    def forward(self, q, k, v, w, o, lse, counts, stream=None,
                strides=None):
        """`strides`: None or a dict from "q", "k", "v", "o" to 4 element
        strides (dashForwardStrided)."""
        s = _stride_arrays(strides)
        self.context.check(lib.dashForwardStrided(
            self.handle, q, s("q"), k, s("k"), v, s("v"), w, o, s("o"), lse,
            counts, stream))

    def backward(self, q, k, v, w, do, dq, dk, dv, dw, stream=None,
                 strides=None):
        """`strides`: None or a dict from "q", "k", "v", "do", "dq", "dk",
        "dv" to 4 element strides (dashBackwardStrided)."""
        s = _stride_arrays(strides)
        self.context.check(lib.dashBackwardStrided(
            self.handle, q, s("q"), k, s("k"), v, s("v"), w, do, s("do"), dq,
            s("dq"), dk, s("dk"), dv, s("dv"), dw, stream))

    def compile_backward(self):
        """Compiles (or loads) the backward pass now."""
        self.context.check(lib.dashKernelCompileBackward(self.handle))

    def info(self, pass_="forward"):
        """How the code of the forward or backward pass was obtained: a dict
        with source ("compiled", "memory", "disk", or "none" for a backward
        pass not compiled yet), compile_ms (0 for a cache hit), total_ms
        (request to callable code), cache_entry and cache_note."""
        passes = {"forward": PASS_FORWARD, "backward": PASS_BACKWARD}
        if pass_ not in passes:
            raise ValueError(f"pass must be 'forward' or 'backward', got "
                             f"{pass_!r}")
        info = KernelInfo()
        self.context.check(lib.dashKernelGetInfo(self.handle, passes[pass_],
                                                 ctypes.byref(info)))
        return info.as_dict()


def _stride_arrays(strides):
    """A function from a tensor's name to its ctypes strides (or None)."""
    strides = strides or {}

    def get(name):
        value = strides.get(name)
        return None if value is None else (ctypes.c_int64 * len(value))(
            *value)
    return get


_NUMPY_DTYPES = {np.dtype(np.float32): TENSOR_DTYPES["float32"],
                 np.dtype(np.float16): TENSOR_DTYPES["float16"],
                 np.dtype(np.float64): TENSOR_DTYPES["float64"],
                 np.dtype(np.int32): TENSOR_DTYPES["int32"],
                 np.dtype(np.bool_): TENSOR_DTYPES["bool"],
                 # bfloat16 as its 16-bit patterns.
                 np.dtype(np.uint16): TENSOR_DTYPES["bfloat16"]}
_DTYPE_NAMES = {code: name for name, code in TENSOR_DTYPES.items()}


class Function:
    """A compiled function of an MLIR module. Call it with its inputs
    (numpy arrays for the CPU, torch CUDA tensors for CUDA; bfloat16 numpy
    arrays as uint16 bit patterns); it returns its results, allocated unless
    `out=` gives them (one array, or a sequence for several results), as one
    array or a tuple. `inputs` and `outputs` list (dtype name, shape)."""

    def __init__(self, context, handle, target):
        self.context = context
        self.handle = handle
        self.target = target
        inputs, outputs = ctypes.c_int32(), ctypes.c_int32()
        context.check(lib.dashFunctionGetSignature(
            handle, ctypes.byref(inputs), ctypes.byref(outputs)))
        signature = []
        for index in range(inputs.value + outputs.value):
            arg = TensorArg()
            context.check(lib.dashFunctionGetArgument(handle, index,
                                                      ctypes.byref(arg)))
            signature.append((_DTYPE_NAMES[arg.dtype],
                              tuple(arg.shape[:arg.rank])))
        self.inputs = signature[:inputs.value]
        self.outputs = signature[inputs.value:]

    def __del__(self):
        if getattr(self, "handle", None) and lib is not None:
            lib.dashFunctionRelease(self.handle)
            self.handle = None

    @property
    def info(self):
        """As Kernel.info()."""
        info = KernelInfo()
        self.context.check(lib.dashFunctionGetInfo(self.handle,
                                                   ctypes.byref(info)))
        return info.as_dict()

    def __call__(self, *args, out=None, stream=None):
        if len(args) != len(self.inputs):
            raise TypeError(f"the function takes {len(self.inputs)} inputs "
                            f"{self.inputs}, got {len(args)}")
        if out is not None and not isinstance(out, (list, tuple)):
            out = (out,)
        if out is not None and len(out) != len(self.outputs):
            raise TypeError(f"out must hold {len(self.outputs)} arrays "
                            f"{self.outputs}, got {len(out)}")
        convert = _torch_argument if self.target == "cuda" else _numpy_argument
        inputs = [convert(x, spec, f"input {i}", False)
                  for i, (x, spec) in enumerate(zip(args, self.inputs))]
        outputs = [convert(None if out is None else out[i], spec,
                           f"output {i}", True)
                   for i, spec in enumerate(self.outputs)]
        tensors = inputs + outputs
        array = (TensorArg * len(tensors))()
        for slot, (_, pointer, code, shape) in zip(array, tensors):
            slot.data, slot.dtype, slot.rank = pointer, code, len(shape)
            slot.shape[:len(shape)] = shape
        if self.target == "cuda" and stream is None:
            import torch
            stream = torch.cuda.current_stream().cuda_stream
        self.context.check(lib.dashFunctionCall(self.handle, len(tensors),
                                                array, stream))
        results = tuple(tensor for tensor, *_ in outputs)
        return results[0] if len(results) == 1 else results


def _numpy_argument(array, spec, name, is_output):
    """(array, pointer, dtype code, shape) of a host argument; outputs are
    allocated when `array` is None and must be C-contiguous otherwise."""
    dtype_name, shape = spec
    dtype = {v: k for k, v in _NUMPY_DTYPES.items()}[TENSOR_DTYPES[dtype_name]]
    if array is None:
        array = np.empty(shape, dtype)
    elif not isinstance(array, np.ndarray):
        if is_output:
            raise TypeError(f"{name} must be a numpy array")
        array = np.asarray(array)
    code = _NUMPY_DTYPES.get(array.dtype)
    if code is None:
        raise TypeError(f"{name} has dtype {array.dtype}, which Dash cannot "
                        f"pass; the function takes {dtype_name} {shape}")
    if not array.flags["C_CONTIGUOUS"]:
        if is_output:
            raise ValueError(f"{name} must be C-contiguous")
        array = np.ascontiguousarray(array)
    if is_output and not array.flags["WRITEABLE"]:
        raise ValueError(f"{name} is read-only")
    return array, array.ctypes.data, code, array.shape


def _torch_argument(tensor, spec, name, is_output):
    """As _numpy_argument, for CUDA tensors on device 0."""
    import torch
    codes = {torch.float32: 0, torch.bfloat16: 1, torch.float16: 2,
             torch.float64: 3, torch.int32: 4, torch.bool: 5}
    dtype_name, shape = spec
    if tensor is None:
        dtype = {v: k for k, v in codes.items()}[TENSOR_DTYPES[dtype_name]]
        tensor = torch.empty(shape, dtype=dtype, device="cuda:0")
    if not isinstance(tensor, torch.Tensor) or not tensor.is_cuda or \
            tensor.device.index not in (None, 0):
        raise TypeError(f"{name} must be a torch tensor on cuda:0")
    if tensor.dtype not in codes:
        raise TypeError(f"{name} has dtype {tensor.dtype}, which Dash cannot "
                        f"pass; the function takes {dtype_name} {shape}")
    if not tensor.is_contiguous():
        if is_output:
            raise ValueError(f"{name} must be contiguous")
        tensor = tensor.contiguous()
    return tensor, tensor.data_ptr(), codes[tensor.dtype], tuple(tensor.shape)


_default_context = None
_last_kernel = None


def default_context():
    """The process-wide context whose cache every call here shares."""
    global _default_context
    if _default_context is None:
        _default_context = Context()
    return _default_context


def compile_function(source, entry, target="cpu"):
    """Compiles function `entry` of the MLIR module in `source` (dash,
    func, arith, tensor ... ops on tensors of static shape) for "cpu" or
    "cuda" in the default context; returns a callable Function."""
    return default_context().compile_function(source, entry, target)


def last_compile_info():
    """Kernel.info() of the pass the last attention or attention_backward
    call ran: how long compiling or loading it took, and from where."""
    if _last_kernel is None:
        return None
    kernel, pass_ = _last_kernel
    return kernel.info(pass_)


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
    return array


def element_strides(array):
    """The element strides of a 4-d array for the strided C calls: None
    when it is C-contiguous or when its strides are not non-negative
    multiples of its item size without repeated elements (it is then copied
    by `_strided`)."""
    if array.flags["C_CONTIGUOUS"]:
        return None
    size = array.itemsize
    if any(s < 0 or s % size or (s == 0 and n > 1)
           for s, n in zip(array.strides, array.shape)):
        return None
    return tuple(s // size for s in array.strides)


def _strided(array):
    """(array, strides): a view passed as it is, or a C-contiguous copy."""
    strides = element_strides(array)
    if strides is None:
        array = np.ascontiguousarray(array)
    return array, strides


def _pointer(array):
    return None if array is None else array.ctypes.data_as(ctypes.c_void_p)


def _prepare(q, k, v, w, others, options):
    """The kernel, and q, k, v, w and `others` (name, 4-d array) ready for
    the call, with a dict of the element strides of the strided ones."""
    q = np.asarray(q)
    if q.dtype not in (np.float32, np.float64):
        raise TypeError(f"q must be float32 or float64 on the CPU, got "
                        f"{q.dtype}")
    k, v = _host(k, q.dtype, "k"), _host(v, q.dtype, "v")
    w = None if w is None else np.ascontiguousarray(_host(w, q.dtype, "w"))
    others = [(name, _host(x, q.dtype, name)) for name, x in others]
    shape = _shapes(q, k, v, w)
    strides = {}
    arrays = []
    for name, array in [("q", q), ("k", k), ("v", v)] + others:
        array, strides[name] = _strided(array)
        arrays.append(array)
    q, k, v, *others = arrays
    config = make_config(*shape, dtype=q.dtype.name, with_w=w is not None,
                         **options)
    kernel = default_context().compile(config, TARGET_CPU)
    return kernel, q, k, v, w, others, strides


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
    global _last_kernel
    kernel, q, k, v, w, _, strides = _prepare(
        q, k, v, w, [],
        dict(alpha=alpha, block_size=block_size, gamma=gamma, sigma=sigma,
             prior=prior, local_blocks=local_blocks, init_blocks=init_blocks,
             scale=scale))
    batch, heads, seq_len, _ = q.shape
    o = np.empty(q.shape, q.dtype)
    lse = np.empty((batch, heads, seq_len), np.float32) if return_lse else None
    counts = (np.empty((batch, k.shape[1], seq_len), np.int32)
              if return_lse else None)
    kernel.forward(_pointer(q), _pointer(k), _pointer(v), _pointer(w),
                   _pointer(o), _pointer(lse), _pointer(counts),
                   strides=strides)
    _last_kernel = (kernel, "forward")
    return (o, lse, counts) if return_lse else o


def attention_backward(q, k, v, do, w=None, *, alpha=1.5, block_size=64,
                       gamma=1.0, sigma=1.0, prior="centered", local_blocks=0,
                       init_blocks=0, scale=None, router_grad=True):
    """DashAttention backward on the CPU (spec B1-B7) for the upstream
    gradient do [B, H, N, D]. Returns (dq, dk, dv), plus dw (summed over
    the batch) when w is given. The forward pass is recomputed."""
    global _last_kernel
    kernel, q, k, v, w, (do,), strides = _prepare(
        q, k, v, w, [("do", do)],
        dict(alpha=alpha, block_size=block_size, gamma=gamma, sigma=sigma,
             prior=prior, local_blocks=local_blocks, init_blocks=init_blocks,
             scale=scale, router_grad=router_grad))
    if do.shape != q.shape:
        raise ValueError(f"do must have the shape of q {q.shape}, got "
                         f"{do.shape}")
    dq, dk, dv = (np.empty(x.shape, x.dtype) for x in (q, k, v))
    dw = None if w is None else np.empty_like(w)
    kernel.backward(_pointer(q), _pointer(k), _pointer(v), _pointer(w),
                    _pointer(do), _pointer(dq), _pointer(dk), _pointer(dv),
                    _pointer(dw), strides=strides)
    _last_kernel = (kernel, "backward")
    return (dq, dk, dv) if w is None else (dq, dk, dv, dw)
