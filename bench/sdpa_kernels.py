"""Runs PyTorch SDPA dense causal attention, bf16, once per backend (flash,
cuDNN), for bench/profile_kernels.sh to time its kernels under Nsight
Compute. Usage: sdpa_kernels.py N H HKV (D = 128, batch 1)."""
import sys

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.nn.functional import scaled_dot_product_attention

n, heads, kv_heads = (int(a) for a in sys.argv[1:4])
q = torch.randn(1, heads, n, 128, device="cuda", dtype=torch.bfloat16)
k = torch.randn(1, kv_heads, n, 128, device="cuda", dtype=torch.bfloat16)
v = torch.randn_like(k)
if kv_heads != heads:  # the dense peers get K and V expanded to every head
    k = k.repeat_interleave(heads // kv_heads, dim=1)
    v = v.repeat_interleave(heads // kv_heads, dim=1)
for backend in (SDPBackend.FLASH_ATTENTION, SDPBackend.CUDNN_ATTENTION):
    with sdpa_kernel(backend):
        scaled_dot_product_attention(q, k, v, is_causal=True)
    torch.cuda.synchronize()
    print("MARK", backend.name, flush=True)
