"""Pure helpers of the attention benchmark: work and density accounting,
timing statistics, the results table, the targets of issues 6 and 7, a
plot and the MLIR text of the stage-alone functions.

No torch here (numpy only), so that python/tests/test_bench.py checks all
of it with the system interpreter; bench/attention_bench.py does the GPU
work. Formulas (documented in bench/README.md):

- A query i of block c(i) = i // Bk that keeps |A_i| blocks attends to
  (|A_i| - 1) * Bk + (i % Bk) + 1 keys: the kept blocks other than its own
  are complete and lie wholly before it (spec F4), its own block is causally
  trimmed. Forward fine attention: 4 * D FLOPs per (query head, query, key)
  pair (2 for Q.K, 2 for P.V), so 4 * D * G * sum over (b, g, i) of that.
- Dense causal: 4 * D * B * H * N (N + 1) / 2.
- Router: routing logits over the candidates c < c(i) (2 * D per pair of a
  query head and a candidate) plus mean-pooling summaries (Bk * D per
  complete block and KV head); entmax and the prior are not counted.
- Backward: 2.5x the forward of the same pairs (recomputed Q.K, dP = dO.V,
  dV, dQ, dK: five matrix products instead of two).
"""

import html
import math

import numpy as np

SHAPES = {
    # The paper's 8B model: 32 query heads over 2 KV heads.
    "8b": dict(heads=32, kv_heads=2, head_dim=128),
    "mha": dict(heads=16, kv_heads=16, head_dim=128),
}
BLOCK_SIZE = 64
BACKWARD_FACTOR = 2.5
# Spec section 4: bf16 results within a relative L2 error of 2e-2.
BF16_TOLERANCE = 2e-2


def causal_pairs(n):
    """(query, key) pairs with key <= query in a sequence of n tokens."""
    return n * (n + 1) // 2


def dense_causal_flops(batch, heads, n, head_dim):
    return 4 * head_dim * batch * heads * causal_pairs(n)


def selection_stats(counts, heads, block_size, head_dim):
    """Density and work of a selection from its per-query block counts.

    counts: integer array [B, Hkv, N], |A_i| for each (b, g, i). Returns
    density = mean(|A_i| / (c(i) + 1)) (spec section 2), kept_pairs (over
    query heads), fine_flops and work = kept_pairs / dense causal pairs.
    """
    counts = np.asarray(counts).astype(np.int64)
    if counts.ndim != 3:
        raise ValueError(f"counts must be [B, Hkv, N], got shape "
                         f"{counts.shape}")
    batch, kv_heads, n = counts.shape
    if heads % kv_heads:
        raise ValueError(f"heads {heads} is not a multiple of kv_heads "
                         f"{kv_heads}")
    position = np.arange(n)
    own = position // block_size
    # The query's own block is always selected and only blocks up to it can
    # be: anything else is not a selection of the spec.
    bad = (counts < 1) | (counts > own + 1)
    if bad.any():
        b, g, i = (int(x[0]) for x in np.nonzero(bad))
        raise ValueError(f"counts[{b}, {g}, {i}] = {counts[b, g, i]} is "
                         f"outside [1, {own[i] + 1}]")
    keys = (counts - 1) * block_size + position % block_size + 1
    kept_pairs = int(keys.sum()) * (heads // kv_heads)
    dense_pairs = batch * heads * causal_pairs(n)
    return dict(density=float(np.mean(counts / (own + 1))),
                kept_pairs=kept_pairs,
                fine_flops=4 * head_dim * kept_pairs,
                work=kept_pairs / dense_pairs)


def router_flops(batch, heads, kv_heads, n, head_dim, block_size):
    """Routing logits over the candidate blocks c < c(i) plus mean pooling."""
    complete = n // block_size
    # sum_i c(i): block c < complete holds block_size queries, the partial
    # last block (c = complete) the remaining ones.
    candidates = (block_size * complete * (complete - 1) // 2
                  + (n - complete * block_size) * complete)
    summaries = batch * kv_heads * complete * block_size * head_dim
    return 2 * head_dim * batch * heads * candidates + summaries


def square_block_rows(rows, work):
    """Kept blocks per query-block row (its diagonal block included) for a
    causal square-block mask whose work fraction is about `work`."""
    row = np.arange(rows)
    return np.clip(np.rint(work * (row + 1)), 1, row + 1).astype(np.int64)


def square_block_pairs(kept, block):
    """Causal pairs computed by a square-block mask: `kept` [..., rows]
    counts the kept blocks of each row, its diagonal block included (which
    is causally trimmed)."""
    kept = np.asarray(kept).astype(np.int64)
    return int(((kept - 1) * block * block
                + block * (block + 1) // 2).sum())


# ----------------------------------------------------------------------------
# Timing


def percentile(values, q):
    """q-th percentile with linear interpolation (numpy's default)."""
    xs = sorted(values)
    if not xs:
        raise ValueError("percentile of no values")
    pos = (len(xs) - 1) * q / 100.0
    lo = int(math.floor(pos))
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def summarize_ms(samples):
    return dict(ms=percentile(samples, 50), p10=percentile(samples, 10),
                p90=percentile(samples, 90), samples=len(samples))


def rotation_copies(set_bytes, l2_bytes, max_bytes, low=2, high=8):
    """How many copies of the inputs to rotate through: enough that the
    copies used since a copy's last use exceed twice the L2 cache, within
    [low, high] and max_bytes (but never fewer than low)."""
    wanted = 1 + math.ceil(2 * l2_bytes / max(set_bytes, 1))
    fits = max_bytes // max(set_bytes, 1)
    return max(low, min(high, wanted, fits))


def scaled(value, n_from, n_to, power=2):
    """Extrapolates a time or memory measured at n_from to n_to."""
    return value * (n_to / n_from) ** power


# ----------------------------------------------------------------------------
# Table


COLUMNS = ["shape", "N", "setting", "density", "work", "pass", "method",
           "ms", "p10-p90", "TFLOP/s", "vs cuDNN", "err", "note"]


def _cell(text, limit=None):
    text = str(text).replace("|", "/").replace("\n", " ")
    if limit and len(text) > limit:
        text = text[:limit - 3] + "..."
    return text


def _number(value, digits):
    return "" if value is None else f"{value:.{digits}f}"


def attach_speedups(cases):
    """Adds vs_cudnn = cuDNN's median / the case's median (same shape, N
    and pass) to every measured case."""
    cudnn = {(c["shape"], c["n"], c["pass"]): c["ms"] for c in cases
             if c["method"] == "cudnn" and c.get("ms")}
    for case in cases:
        base = cudnn.get((case["shape"], case["n"], case["pass"]))
        case["vs_cudnn"] = (base / case["ms"]
                            if base and case.get("ms") else None)
    return cases


def table_row(case):
    """The table cells of one case (a dict as attention_bench.py writes
    them; status is ok, failed, skipped or unavailable)."""
    ok = case.get("status") == "ok"
    err = case.get("err")
    err_text = ""
    if err is not None:
        bad = not (err <= BF16_TOLERANCE)  # NaN is bad too
        err_text = f"{err:.1e}" + (" BAD" if bad else "")
    density = case.get("density")
    work = case.get("work")
    return [
        case["shape"], str(case["n"]), case["setting"],
        _number(density, 3), _number(work, 3), case["pass"], case["method"],
        _number(case.get("ms"), 3) if ok else _cell(
            f"{case['status']}: {case.get('message', '')}", 90),
        (f"{case['p10']:.3f}-{case['p90']:.3f}" if ok else ""),
        _number(case.get("tflops"), 1) if ok else "",
        (f"{case['vs_cudnn']:.2f}x" if ok and case.get("vs_cudnn") else ""),
        err_text, _cell(case.get("note", ""), 120),
    ]


def markdown_table(cases):
    lines = ["| " + " | ".join(COLUMNS) + " |",
             "|" + "|".join("---" for _ in COLUMNS) + "|"]
    for case in cases:
        lines.append("| " + " | ".join(_cell(c) for c in table_row(case))
                     + " |")
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------
# Targets (issue 6 forward, issue 7 backward)


def _find(cases, **key):
    for case in cases:
        if all(case.get(k) == v for k, v in key.items()):
            return case
    return None


def _measured(case, what):
    if case is None:
        return None, f"{what}: not run"
    if case.get("status") != "ok":
        return None, f"{what}: {case['status']}"
    return case, None


def _target(name, shape, n, value, op, bound, missing):
    entry = dict(name=name, shape=shape, n=n, value=value, op=op,
                 bound=bound)
    if value is None:
        entry.update(status="not measured", detail="; ".join(missing))
    elif (value >= bound) if op == ">=" else (
            value > bound if op == ">" else value <= bound):
        entry.update(status="met", detail="")
    else:
        factor = bound / value if op in (">=", ">") else value / bound
        entry.update(status="missed",
                     detail=f"off by {factor:.3g}x" if value else
                     "off by an unbounded factor")
    return entry


def _ratio(cases, name, shape, n, num, den, op, bound, field):
    """One target: num and den are (method, setting, pass) of two cases;
    field 'ms' gives den_ms / num_ms inverted as speed (num faster = >1) and
    'tflops' gives num / den TFLOP/s."""
    a, why_a = _measured(_find(cases, shape=shape, n=n, method=num[0],
                               setting=num[1], **{"pass": num[2]}),
                         f"{num[0]} {num[2]}")
    b, why_b = _measured(_find(cases, shape=shape, n=n, method=den[0],
                               setting=den[1], **{"pass": den[2]}),
                         f"{den[0]} {den[2]}")
    value = None
    if a and b:
        if field == "ms":
            value = b["ms"] / a["ms"]
        elif field == "tflops":
            value = a["tflops"] / b["tflops"]
        else:  # fraction of the other's time
            value = a["ms"] / b["ms"]
    return _target(name, shape, n, value, op, bound,
                   [w for w in (why_a, why_b) if w])


def evaluate_targets(cases, target_setting, target_n):
    """The ratios issues 6 and 7 name, per shape, with met/missed."""
    shapes = sorted({c["shape"] for c in cases})
    full = "full"
    targets = []
    for shape in shapes:
        ns = sorted({c["n"] for c in cases if c["shape"] == shape})
        for n in ns:
            targets.append(_ratio(
                cases, "fine attention (density 1) / cuDNN dense causal, "
                "TFLOP/s", shape, n, ("dash-fine", full, "fwd"),
                ("cudnn", "dense", "fwd"), ">=", 0.75, "tflops"))
        for name, other, op, bound in (
                ("whole forward speedup vs cuDNN dense causal", "cudnn",
                 ">=", 3.0),
                ("whole forward speedup vs Flex, same selection",
                 "flex-sel", ">=", 1.5),
                ("whole forward speedup vs Flex 128x128, same density",
                 "flex-128", ">", 1.0)):
            setting = "dense" if other == "cudnn" else target_setting
            targets.append(_ratio(
                cases, f"{name} ({target_setting})", shape, target_n,
                ("dash", target_setting, "fwd"), (other, setting, "fwd"),
                op, bound, "ms"))
        targets.append(_ratio(
            cases, f"router alone / cuDNN dense causal time "
            f"({target_setting})", shape, target_n,
            ("dash-router", target_setting, "fwd"),
            ("cudnn", "dense", "fwd"), "<=", 0.10, "fraction"))
        if not any(c["shape"] == shape and c["pass"] == "bwd"
                   for c in cases):
            continue
        for name, other, setting, bound in (
                ("backward speedup vs cuDNN dense causal", "cudnn",
                 "dense", 2.5),
                ("backward speedup vs Flex 128x128, same density",
                 "flex-128", target_setting, 1.2)):
            targets.append(_ratio(
                cases, f"{name} ({target_setting})", shape, target_n,
                ("dash", target_setting, "bwd"), (other, setting, "bwd"),
                ">=", bound, "ms"))
        for n in ns:
            targets.append(_ratio(
                cases, "backward (density 1) / cuDNN dense backward, "
                "TFLOP/s", shape, n, ("dash", full, "bwd"),
                ("cudnn", "dense", "bwd"), ">=", 0.6, "tflops"))
    return targets


def format_target(t):
    value = "-" if t["value"] is None else f"{t['value']:.3g}x"
    detail = f" ({t['detail']})" if t["detail"] else ""
    return (f"{t['shape']:>4} N={t['n']:<6} {t['name']}: {value} "
            f"(target {t['op']} {t['bound']:g}x) {t['status'].upper()}"
            f"{detail}")


# ----------------------------------------------------------------------------
# Files and plot


def slug(text):
    out = "".join(ch.lower() if ch.isalnum() else "-" for ch in text)
    while "--" in out:
        out = out.replace("--", "-")
    return out.strip("-") or "unknown"


def result_basename(card, date, tags=()):
    return "-".join(["attention"] + [slug(t) for t in tags]
                    + [slug(card), date])


_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
           "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]


def svg_chart(panels, title):
    """A small SVG of log-log line charts: panels is a list of
    (panel title, {series name: [(x, y), ...]}) with x and y > 0."""
    width, height, pad = 420, 300, 55
    cols = min(2, max(1, len(panels)))
    rows = (len(panels) + cols - 1) // cols
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" '
           f'width="{cols * width}" height="{rows * height + 30}" '
           f'font-family="sans-serif" font-size="10">',
           f'<text x="10" y="18" font-size="13">{html.escape(title)}</text>']
    names = sorted({s for _, series in panels for s in series})
    color = {s: _COLORS[i % len(_COLORS)] for i, s in enumerate(names)}
    for index, (panel_title, series) in enumerate(panels):
        ox = (index % cols) * width
        oy = 30 + (index // cols) * height
        points = [p for pts in series.values() for p in pts
                  if p[0] > 0 and p[1] > 0]
        out.append(f'<text x="{ox + pad}" y="{oy + 14}">'
                   f'{html.escape(panel_title)}</text>')
        x0, y0 = ox + pad, oy + height - pad
        pw, ph = width - pad - 20, height - pad - 30
        out.append(f'<rect x="{x0}" y="{y0 - ph}" width="{pw}" '
                   f'height="{ph}" fill="none" stroke="#999"/>')
        if not points:
            out.append(f'<text x="{x0 + 10}" y="{y0 - ph / 2}">no data'
                       f'</text>')
            continue
        lx = [math.log(p[0]) for p in points]
        ly = [math.log10(p[1]) for p in points]
        xmin, xmax = min(lx), max(lx)
        ymin, ymax = math.floor(min(ly)), math.ceil(max(ly))
        xspan = (xmax - xmin) or 1.0
        yspan = (ymax - ymin) or 1.0

        def px(x):
            return x0 + (math.log(x) - xmin) / xspan * pw

        def py(y):
            return y0 - (math.log10(y) - ymin) / yspan * ph

        for decade in range(ymin, ymax + 1):
            y = py(10.0 ** decade)
            out.append(f'<text x="{x0 - 4}" y="{y + 3:.1f}" '
                       f'text-anchor="end">1e{decade}</text>')
        for x in sorted({p[0] for p in points}):
            out.append(f'<text x="{px(x):.1f}" y="{y0 + 14}" '
                       f'text-anchor="middle">{x:g}</text>')
        out.append(f'<text x="{x0 + pw / 2}" y="{y0 + 30}" '
                   f'text-anchor="middle">N</text>')
        out.append(f'<text x="{ox + 12}" y="{y0 - ph / 2}" '
                   f'transform="rotate(-90 {ox + 12} {y0 - ph / 2})">ms'
                   f'</text>')
        legend = 0
        for name in sorted(series):
            pts = sorted(p for p in series[name] if p[0] > 0 and p[1] > 0)
            if not pts:
                continue
            path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in pts)
            out.append(f'<polyline points="{path}" fill="none" '
                       f'stroke="{color[name]}" stroke-width="1.5"/>')
            for x, y in pts:
                out.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" '
                           f'r="2" fill="{color[name]}"/>')
            out.append(f'<text x="{x0 + 6}" y="{y0 - ph + 12 + 11 * legend}"'
                       f' fill="{color[name]}">{html.escape(name)}</text>')
            legend += 1
    out.append("</svg>")
    return "\n".join(out) + "\n"


# ----------------------------------------------------------------------------
# MLIR of the stage-alone functions (compiled by dash.compile_function)


def mlir_float(value):
    """An f64 attribute literal (MLIR's float literals need a '.')."""
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"MLIR float attribute must be finite, got {value}")
    return f"{value:.17e}"


def tensor_type(shape, element):
    return "tensor<" + "x".join(str(d) for d in shape) + f"x{element}>"


def _attrs(**values):
    parts = [f"{k} = {v}" for k, v in values.items() if v is not None]
    return " {" + ", ".join(parts) + "}" if parts else ""


def sparse_attention_mlir(batch, heads, kv_heads, n, head_dim, *,
                          element="bf16", block_size=BLOCK_SIZE, scale=None,
                          name="fine"):
    """@name(q, k, v, log_prior) -> (o, lse): one dash.sparse_attention."""
    m = -(-n // block_size)
    tq = tensor_type([batch, heads, n, head_dim], element)
    tkv = tensor_type([batch, kv_heads, n, head_dim], element)
    tp = tensor_type([batch, kv_heads, n, m], "f32")
    tl = tensor_type([batch, heads, n], "f32")
    attrs = _attrs(block_size=block_size,
                   scale=None if scale is None else mlir_float(scale))
    return (
        f"func.func @{name}(%q: {tq}, %k: {tkv}, %v: {tkv}, %prior: {tp})\n"
        f"    -> ({tq}, {tl}) {{\n"
        f"  %o0 = tensor.empty() : {tq}\n"
        f"  %l0 = tensor.empty() : {tl}\n"
        f"  %o, %lse = dash.sparse_attention ins(%q, %k, %v, %prior : {tq}, "
        f"{tkv}, {tkv}, {tp})\n"
        f"      outs(%o0, %l0 : {tq}, {tl}){attrs}\n"
        f"  return %o, %lse : {tq}, {tl}\n"
        f"}}\n")


def router_mlir(batch, heads, kv_heads, n, head_dim, *, element="bf16",
                block_size=BLOCK_SIZE, alpha=1.5, gamma=1.0, sigma=1.0,
                prior="centered", local_blocks=0, init_blocks=0, scale=None,
                name="router"):
    """@name(q, k) -> (log_prior, counts): the router stages that
    dash-opt --dash-decompose makes of a dash.attention without W
    (summarize, route_logits, entmax, block_prior)."""
    if prior not in ("raw", "centered", "flat"):
        raise ValueError(f"prior must be raw, centered or flat, got "
                         f"{prior!r}")
    complete, m = n // block_size, -(-n // block_size)
    tq = tensor_type([batch, heads, n, head_dim], element)
    tk = tensor_type([batch, kv_heads, n, head_dim], element)
    ts = tensor_type([batch, kv_heads, complete, head_dim], "f32")
    tz = tensor_type([batch, heads, n, complete], "f32")
    tt = tensor_type([batch, heads, n], "f32")
    tp = tensor_type([batch, kv_heads, n, m], "f32")
    tc = tensor_type([batch, kv_heads, n], "i32")
    scale_attr = None if scale is None else mlir_float(scale)
    summarize = _attrs(block_size=block_size, scale=scale_attr)
    logits = _attrs(block_size=block_size, gamma=mlir_float(gamma),
                    scale=scale_attr)
    entmax = _attrs(alpha=mlir_float(alpha), dimension=3)
    block_prior = _attrs(block_size=block_size,
                         prior_mode=f"#dash.prior_mode<{prior}>",
                         sigma=mlir_float(sigma), local_blocks=local_blocks,
                         init_blocks=init_blocks)
    return (
        f"func.func @{name}(%q: {tq}, %k: {tk}) -> ({tp}, {tc}) {{\n"
        f"  %s0 = tensor.empty() : {ts}\n"
        f"  %kbar = dash.summarize ins(%k : {tk}) outs(%s0 : {ts})"
        f"{summarize}\n"
        f"  %z0 = tensor.empty() : {tz}\n"
        f"  %z = dash.route_logits ins(%q, %kbar : {tq}, {ts}) "
        f"outs(%z0 : {tz}){logits}\n"
        f"  %p0 = tensor.empty() : {tz}\n"
        f"  %t0 = tensor.empty() : {tt}\n"
        f"  %p, %tau = dash.entmax ins(%z : {tz}) outs(%p0, %t0 : {tz}, "
        f"{tt}){entmax}\n"
        f"  %l0 = tensor.empty() : {tp}\n"
        f"  %c0 = tensor.empty() : {tc}\n"
        f"  %prior, %counts = dash.block_prior ins(%p : {tz}) "
        f"outs(%l0, %c0 : {tp}, {tc}){block_prior}\n"
        f"  return %prior, %counts : {tp}, {tc}\n"
        f"}}\n")
