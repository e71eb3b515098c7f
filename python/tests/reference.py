"""DashAttention forward (spec F1-F6) in numpy float64, written from
shared/spec/dashattention.md independently of the compiler and of its C++
oracle, for checking the Python package end to end."""

import math

import numpy as np


def entmax(x, alpha):
    """alpha-entmax of the scaled logits x = (alpha - 1) z (spec F3): the
    threshold tau by bisection on [max x - 1, max x] to float64 precision.
    Returns (p, tau)."""
    lo, hi = x.max() - 1.0, x.max()
    for _ in range(200):
        tau = 0.5 * (lo + hi)
        if (np.maximum(x - tau, 0.0) ** (1.0 / (alpha - 1.0))).sum() >= 1.0:
            lo = tau
        else:
            hi = tau
    tau = 0.5 * (lo + hi)
    return np.maximum(x - tau, 0.0) ** (1.0 / (alpha - 1.0)), tau


def forward(q, k, v, w=None, *, alpha=1.5, block_size=64, gamma=1.0,
            sigma=1.0, prior="centered", local_blocks=0, init_blocks=0,
            scale=None):
    """Returns O, LSE, counts and the smallest |x_c - tau| over all routing
    decisions (how close a block is to entering or leaving a support)."""
    q, k, v = (np.asarray(x, np.float64) for x in (q, k, v))
    batch, heads, n, d = q.shape
    kv_heads = k.shape[1]
    group = heads // kv_heads
    bk = block_size
    num_blocks, complete = -(-n // bk), n // bk
    scale = 1.0 / math.sqrt(d) if scale is None else scale
    w = np.zeros((kv_heads, d)) if w is None else np.asarray(w, np.float64)

    out = np.zeros_like(q)
    lse = np.zeros((batch, heads, n))
    counts = np.zeros((batch, kv_heads, n), np.int64)
    margin = math.inf
    for b in range(batch):
        for g in range(kv_heads):
            # F1: softmax pooling of each complete block with W_g.
            kbar = np.zeros((complete, d))
            for c in range(complete):
                keys = k[b, g, c * bk:(c + 1) * bk]
                e = scale * keys @ w[g]
                a = np.exp(e - e.max())
                kbar[c] = (a / a.sum()) @ keys
            heads_of_g = range(g * group, (g + 1) * group)
            for i in range(n):
                block = i // bk
                # F2-F4: routing over the complete blocks before block(i),
                # pooled over the group.
                pooled = np.zeros(num_blocks)
                for h in heads_of_g:
                    if block == 0:
                        continue
                    z = gamma * scale * kbar[:block] @ q[b, h, i]
                    x = (alpha - 1.0) * z
                    p, tau = entmax(x, alpha)
                    margin = min(margin, np.abs(x - tau).min())
                    pooled[:block] += p / group
                support = pooled > 0
                forced = np.zeros(num_blocks, bool)
                forced[block] = True
                forced[max(block - local_blocks, 0):block] = True
                forced[:min(init_blocks, block + 1)] = True
                selected = support | forced
                counts[b, g, i] = selected.sum()
                # F5: the log-prior on the selected blocks.
                prior_log = np.full(num_blocks, -math.inf)
                prior_log[selected] = 0.0
                routed = support & ~forced
                if prior != "flat" and routed.any():
                    logs = np.log(pooled[routed])
                    if prior == "centered":
                        mean = np.log(pooled[support]).mean()
                        logs = (logs - mean) / sigma
                    prior_log[routed] = logs
                # F6: causal attention over the selected blocks' tokens.
                j = np.arange(i + 1)
                j = j[selected[j // bk]]
                for h in heads_of_g:
                    s = scale * k[b, g, j] @ q[b, h, i] + prior_log[j // bk]
                    top = s.max()
                    lse[b, h, i] = top + math.log(np.exp(s - top).sum())
                    out[b, h, i] = np.exp(s - lse[b, h, i]) @ v[b, g, j]
    return out, lse, counts, margin


def sparse_attention(q, k, v, log_prior, *, block_size, scale=None):
    """The fine attention stage alone (spec F6, dash.sparse_attention):
    causal softmax attention of q [B, H, N, D] over k, v [B, Hkv, N, D]
    with the block log-prior [B, Hkv, N, M] (-inf: block not selected) as a
    bias. Returns O and LSE; rows without a key give O = 0, LSE = -inf."""
    q, k, v, log_prior = (np.asarray(x, np.float64)
                          for x in (q, k, v, log_prior))
    batch, heads, n, d = q.shape
    group = heads // k.shape[1]
    scale = 1.0 / math.sqrt(d) if scale is None else scale
    out = np.zeros_like(q)
    lse = np.full((batch, heads, n), -math.inf)
    for b in range(batch):
        for h in range(heads):
            g = h // group
            for i in range(n):
                j = np.arange(i + 1)
                s = scale * k[b, g, j] @ q[b, h, i] + log_prior[b, g, i,
                                                                j // block_size]
                if np.isneginf(s).all():
                    continue
                top = s.max()
                lse[b, h, i] = top + math.log(np.exp(s - top).sum())
                out[b, h, i] = np.exp(s - lse[b, h, i]) @ v[b, g, j]
    return out, lse
