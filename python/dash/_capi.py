"""ctypes declarations of include/dash-c/Dash.h and the loading of libDashC.so.

Kept in one place so that the layout of DashAttentionConfig and the function
signatures are written once; DASH_C_API_VERSION guards against a library with
another layout.
"""

import ctypes
import os
import pathlib

API_VERSION = 2

STATUS_OK = 0
STATUS_NAMES = {
    1: "INVALID_ARGUMENT",
    2: "COMPILE_ERROR",
    3: "RUNTIME_ERROR",
    4: "CUDA_UNAVAILABLE",
}

TARGET_CPU = 0
TARGET_CUDA = 1

PRIORS = {"raw": 0, "centered": 1, "flat": 2}
DTYPES = {"float32": 0, "bfloat16": 1, "float16": 2, "float64": 3}
# Element types of module functions' arguments (DashDType).
TENSOR_DTYPES = dict(DTYPES, int32=4, bool=5)

SOURCES = {0: "none", 1: "compiled", 2: "memory", 3: "disk"}
PASS_FORWARD = 0
PASS_BACKWARD = 1
MAX_RANK = 8


class DashError(RuntimeError):
    """A failure reported by the C API: `status` is its DashStatus name."""

    def __init__(self, status, message):
        self.status = STATUS_NAMES.get(status, str(status))
        super().__init__(f"{self.status}: {message}")


class AttentionConfig(ctypes.Structure):
    _fields_ = [
        ("batch", ctypes.c_int64),
        ("heads", ctypes.c_int64),
        ("kv_heads", ctypes.c_int64),
        ("seq_len", ctypes.c_int64),
        ("head_dim", ctypes.c_int64),
        ("block_size", ctypes.c_int64),
        ("alpha", ctypes.c_double),
        ("gamma", ctypes.c_double),
        ("sigma", ctypes.c_double),
        ("prior", ctypes.c_int32),
        ("dtype", ctypes.c_int32),
        ("local_blocks", ctypes.c_int64),
        ("init_blocks", ctypes.c_int64),
        ("scale", ctypes.c_double),
        ("with_summary_query", ctypes.c_int32),
        ("router_grad", ctypes.c_int32),
    ]


class KernelInfo(ctypes.Structure):
    _fields_ = [
        ("source", ctypes.c_int32),
        ("compile_ms", ctypes.c_double),
        ("total_ms", ctypes.c_double),
        ("cache_entry", ctypes.c_char_p),
        ("cache_note", ctypes.c_char_p),
    ]

    def as_dict(self):
        return {"source": SOURCES.get(self.source, str(self.source)),
                "compile_ms": self.compile_ms, "total_ms": self.total_ms,
                "cache_entry": self.cache_entry.decode("utf-8", "replace"),
                "cache_note": self.cache_note.decode("utf-8", "replace")}


class TensorArg(ctypes.Structure):
    _fields_ = [
        ("data", ctypes.c_void_p),
        ("dtype", ctypes.c_int32),
        ("rank", ctypes.c_int32),
        ("shape", ctypes.c_int64 * MAX_RANK),
    ]


def _candidates():
    """Where libDashC.so may be, in order: $DASH_LIBRARY, next to this
    package, in the lib/ directory of an install tree (this package in
    <prefix>/python/dash), then the build directories of a source
    checkout."""
    env = os.environ.get("DASH_LIBRARY")
    if env:
        yield pathlib.Path(env)
        return
    here = pathlib.Path(__file__).resolve().parent
    yield here / "libDashC.so"
    yield here.parent.parent / "lib" / "libDashC.so"
    root = here.parent.parent
    for build in sorted(root.glob("build*")):
        yield build / "lib" / "libDashC.so"


def _load():
    tried = []
    for path in _candidates():
        if path.is_file():
            return ctypes.CDLL(str(path))
        tried.append(str(path))
    raise OSError(
        "libDashC.so not found (set DASH_LIBRARY to its path); tried: "
        + ", ".join(tried))


def _declare(lib):
    p = ctypes.c_void_p
    status = ctypes.c_int
    signatures = {
        "dashGetApiVersion": (ctypes.c_int32, []),
        "dashAttentionConfigInit": (None, [ctypes.POINTER(AttentionConfig)]),
        "dashContextCreate": (status, [ctypes.POINTER(p)]),
        "dashContextDestroy": (None, [p]),
        "dashGetLastError": (ctypes.c_char_p, [p]),
        "dashCompile": (status, [p, ctypes.POINTER(AttentionConfig),
                                 ctypes.c_int, ctypes.POINTER(p)]),
        "dashKernelRelease": (None, [p]),
        "dashContextCachedKernels": (ctypes.c_int64, [p]),
        "dashForward": (status, [p] * 9),
        "dashBackward": (status, [p] * 11),
        "dashGetVersion": (ctypes.c_char_p, []),
        "dashContextSetCacheDir": (status, [p, ctypes.c_char_p]),
        "dashContextGetCacheDir": (ctypes.c_char_p, [p]),
        "dashKernelCompileBackward": (status, [p]),
        "dashKernelGetInfo": (status, [p, ctypes.c_int32,
                                       ctypes.POINTER(KernelInfo)]),
        "dashForwardStrided": (status, [p] * 13),
        "dashBackwardStrided": (status, [p] * 18),
        "dashFunctionCompile": (status, [p, ctypes.c_char_p, ctypes.c_size_t,
                                         ctypes.c_char_p, ctypes.c_int,
                                         ctypes.POINTER(p)]),
        "dashFunctionRelease": (None, [p]),
        "dashFunctionGetSignature": (status, [
            p, ctypes.POINTER(ctypes.c_int32), ctypes.POINTER(ctypes.c_int32)]),
        "dashFunctionGetArgument": (status, [p, ctypes.c_int32,
                                             ctypes.POINTER(TensorArg)]),
        "dashFunctionGetInfo": (status, [p, ctypes.POINTER(KernelInfo)]),
        "dashFunctionCall": (status, [p, ctypes.c_int32,
                                      ctypes.POINTER(TensorArg), p]),
    }
    for name, (restype, argtypes) in signatures.items():
        function = getattr(lib, name)
        function.restype = restype
        function.argtypes = argtypes
    version = lib.dashGetApiVersion()
    if version != API_VERSION:
        raise OSError(f"libDashC.so has C API version {version}, this "
                      f"package needs {API_VERSION}")
    return lib


lib = _declare(_load())
