"""DashAttention on numpy arrays through the Python package (CPU).

Run from a source checkout after building (libDashC.so is looked up in
build*/lib, or set DASH_LIBRARY):

    python3 examples/numpy_attention.py
"""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))
import dash  # noqa: E402

rng = np.random.default_rng(0)
batch, heads, kv_heads, seq_len, head_dim = 1, 4, 2, 256, 32
q = rng.standard_normal((batch, heads, seq_len, head_dim), np.float32)
k = rng.standard_normal((batch, kv_heads, seq_len, head_dim), np.float32)
v = rng.standard_normal((batch, kv_heads, seq_len, head_dim), np.float32)
w = np.zeros((kv_heads, head_dim), np.float32)  # The learned summary query.

o, lse, counts = dash.attention(q, k, v, w, block_size=32, gamma=4.0,
                                return_lse=True)
# |A_i| / (c(i) + 1): the fraction of causally visible blocks each query kept.
visible = np.arange(seq_len) // 32 + 1
print(f"O {o.shape} {o.dtype}, density {np.mean(counts / visible):.3f}")

do = rng.standard_normal(o.shape, np.float32)
dq, dk, dv, dw = dash.attention_backward(q, k, v, do, w, block_size=32,
                                         gamma=4.0)
print(f"|dQ| {np.linalg.norm(dq):.3f}  |dW| {np.linalg.norm(dw):.3f}")

try:
    dash.attention(q, k, v, alpha=1.0)
except dash.DashError as error:
    print(f"invalid alpha -> {error}")
