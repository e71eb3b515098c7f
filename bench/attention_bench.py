#!/usr/bin/env python3
"""DashAttention forward (and, with --backward, backward) speed on one GPU
against PyTorch SDPA (cuDNN, flash) and FlexAttention, in one process on the
same inputs. Issue 6 (forward) and issue 7 (backward).

    python3 bench/attention_bench.py            # both shapes, N 4K to 64K
    python3 bench/attention_bench.py --quick    # 8b, N 4K and 32K: ~1 min

Writes attention-<tags>-<card>-<date>.{json,md} and a plot (.png with
matplotlib, else .svg) into --out ($OUT if set, else bench/results/), and
prints the table and the issue's target ratios with met/missed. Every case
is guarded (time and memory, predicted from the previous N): a case that
cannot run says "skipped: <reason>" or "failed: <message>" in its row and the
run goes on. bench/README.md explains the columns and the formulas; the pure
helpers are in bench/benchlib.py.

On the GPU host the library is .gpu/lib/libDashC.so (or $DASH_LIBRARY); its
MLIR/LLVM runtime libraries are unpacked from .gpu/debs as
scripts/gpu-host-check.sh does, and the script re-executes itself once with
LD_LIBRARY_PATH set.
"""

import argparse
import datetime
import importlib.util
import json
import math
import os
import pathlib
import platform
import subprocess
import sys
import threading
import time
import traceback
import warnings

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "python"))

import benchlib  # noqa: E402

METHODS = ("cudnn", "flash", "flex-sel", "flex-128", "dash", "dash-fine",
           "dash-router")
# The backward variant (issue 7): the peers that have a backward pass.
BACKWARD_METHODS = ("cudnn", "flash", "flex-128", "dash")
FLEX_TILE = 128
# Dash's whole forward at density 1: gamma must be positive, and one this
# small makes the routing uniform, so entmax keeps every candidate block.
FULL_GAMMA = 1e-6


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=os.environ.get("OUT")
                   or str(HERE / "results"),
                   help="results folder (default: $OUT, else bench/results)")
    p.add_argument("--quick", action="store_true",
                   help="8b shape, N 4096 and 32768, fewer repeats and a "
                   "smaller case budget (about 2 minutes)")
    p.add_argument("--shapes", help="comma list of " + ",".join(
        benchlib.SHAPES) + " (default: all)")
    p.add_argument("--seq-lens", help="comma list of N, K = 1024 (default "
                   "4K,16K,32K,64K)")
    p.add_argument("--densities", default="1.0,0.25",
                   help="1.0: every causal block kept (flat prior, no "
                   "router); below 1: gamma searched so that the selection "
                   "has about this density (default 1.0,0.25)")
    p.add_argument("--gammas", default="",
                   help="extra settings with a fixed gamma; their measured "
                   "density is printed")
    p.add_argument("--density-tolerance", type=float, default=0.02)
    p.add_argument("--search-steps", type=int, default=16,
                   help="router calls of the gamma search at most")
    p.add_argument("--key-structure", type=float, default=1.0,
                   help="add BETA times a random direction per key block to "
                   "the keys, which makes routing peaked (default 1)")
    p.add_argument("--query-locality", type=float, default=0.9,
                   help="L in [0, 1): queries are sqrt(1 - L^2) noise + L "
                   "times a direction shared by a KV group's heads over "
                   "each 128-token segment, so that neighbouring queries "
                   "route alike (default 0.9; 0 with --key-structure 0: iid "
                   "inputs)")
    p.add_argument("--alpha", type=float, default=1.5)
    p.add_argument("--sigma", type=float, default=1.0)
    p.add_argument("--prior", default="centered",
                   choices=("centered", "raw", "flat"),
                   help="prior of the sparse settings (density 1 is flat)")
    p.add_argument("--methods", default=",".join(METHODS),
                   help="comma list of " + ",".join(METHODS))
    p.add_argument("--backward", action="store_true",
                   help="also forward+backward and backward alone (issue 7)")
    p.add_argument("--repeats", type=int,
                   help="timed calls per case at most (default 30, quick 10)")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--max-seconds-per-case", type=float,
                   help="cap on a case's warm-up and timed calls "
                   "(compilation excluded; default 5, quick 3)")
    p.add_argument("--memory-fraction", type=float, default=0.9,
                   help="skip a case predicted to need more than this "
                   "fraction of the free GPU memory")
    p.add_argument("--router-chunk-gb", type=float, default=2.0,
                   help="memory of one query chunk of the reference router")
    p.add_argument("--check-rows", type=int, default=64,
                   help="query rows checked against a float64 reference")
    p.add_argument("--target-n", type=int, default=32768)
    p.add_argument("--flex-dynamic", action="store_true",
                   help="compile FlexAttention once with dynamic shapes "
                   "instead of once per N")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    quick = args.quick
    args.shapes = _list(args.shapes or ("8b" if quick else "8b,mha"), str)
    args.seq_lens = _list(args.seq_lens or (
        "4K,32K" if quick else "4K,16K,32K,64K"), _tokens)
    args.densities = _list(args.densities, float)
    args.gammas = _list(args.gammas, float)
    args.methods = _list(args.methods, str)
    args.repeats = args.repeats or (10 if quick else 30)
    args.max_seconds_per_case = args.max_seconds_per_case or (
        3.0 if quick else 5.0)
    if quick:
        args.warmup = min(args.warmup, 2)
    for shape in args.shapes:
        if shape not in benchlib.SHAPES:
            p.error(f"unknown shape {shape!r}: one of {list(benchlib.SHAPES)}")
    for method in args.methods:
        if method not in METHODS:
            p.error(f"unknown method {method!r}: one of {list(METHODS)}")
    for d in args.densities:
        if not 0 < d <= 1:
            p.error(f"densities must be in (0, 1], got {d}")
    if not 0 <= args.query_locality < 1:
        p.error(f"--query-locality must be in [0, 1), got "
                f"{args.query_locality}")
    for n in args.seq_lens:
        if n % FLEX_TILE:
            p.error(f"N must be a multiple of {FLEX_TILE}, got {n}")
    return args


def _list(text, kind):
    return [kind(x) for x in str(text).split(",") if x.strip()]


def _tokens(text):
    text = text.strip().upper()
    return int(text[:-1]) * 1024 if text.endswith("K") else int(text)


# ----------------------------------------------------------------------------
# Environment


def prepare_library():
    """Points dash at .gpu/lib/libDashC.so when present and makes the
    MLIR/LLVM libraries it links loadable, re-executing once: the dynamic
    loader reads LD_LIBRARY_PATH only at process start."""
    gpu = ROOT / ".gpu"
    built = gpu / "lib" / "libDashC.so"
    if "DASH_LIBRARY" not in os.environ and built.is_file():
        os.environ["DASH_LIBRARY"] = str(built)
    os.environ.setdefault("CUDA_HOME", "/usr/local/cuda")
    library = os.environ.get("DASH_LIBRARY")
    if not library or os.environ.get("DASH_BENCH_REEXEC"):
        return
    probe = subprocess.run(
        [sys.executable, "-c", "import ctypes, sys; ctypes.CDLL(sys.argv[1])",
         library], capture_output=True)
    debs = sorted((gpu / "debs").glob("*.deb"))
    if probe.returncode == 0 or not debs:
        return  # Loadable, or `import dash` reports why not.
    unpacked = pathlib.Path("/tmp/mlir")
    for deb in debs:
        subprocess.run(["dpkg", "-x", str(deb), str(unpacked)], check=True)
    paths = [str(unpacked / "usr/lib/llvm-22/lib"),
             str(unpacked / "usr/lib/x86_64-linux-gnu")]
    if os.environ.get("LD_LIBRARY_PATH"):
        paths.append(os.environ["LD_LIBRARY_PATH"])
    os.environ["LD_LIBRARY_PATH"] = ":".join(paths)
    os.environ["DASH_BENCH_REEXEC"] = "1"
    sys.stdout.flush()
    os.execv(sys.executable, [sys.executable] + sys.argv)


def _command(args):
    try:
        return subprocess.run(args, capture_output=True, text=True,
                              cwd=ROOT, timeout=30).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def environment(torch, args):
    props = torch.cuda.get_device_properties(0)
    try:
        import triton
        triton_version = triton.__version__
    except ImportError:
        triton_version = None
    commit_file = ROOT / ".gpu" / "commit"
    library_commit = (commit_file.read_text().strip()
                      if commit_file.is_file() else None)
    tree = _command(["git", "rev-parse", "--short", "HEAD"])
    return dict(
        card=torch.cuda.get_device_name(0),
        capability=f"{props.major}.{props.minor}",
        memory_gib=round(props.total_memory / 2**30, 1),
        sms=props.multi_processor_count,
        l2_bytes=getattr(props, "L2_cache_size", None),
        driver=_command(["nvidia-smi", "--query-gpu=driver_version",
                         "--format=csv,noheader"]),
        torch=torch.__version__, cuda=torch.version.cuda,
        cudnn=torch.backends.cudnn.version(), triton=triton_version,
        python=platform.python_version(),
        commit=library_commit or tree, library_commit=library_commit,
        tree_commit=tree, dash_library=os.environ.get("DASH_LIBRARY"),
        date=datetime.datetime.now(datetime.timezone.utc).strftime(
            "%Y-%m-%d %H:%M UTC"),
        argv=sys.argv[1:],
        options={k: v for k, v in vars(args).items()})


def load_dash():
    """(dash module or None, dash.pytorch or None, torch_reference or None,
    {part: why unavailable})."""
    missing = {}
    dash = dash_torch = reference = None
    try:
        import dash
        import dash.pytorch as dash_torch
    except Exception as e:  # noqa: BLE001 - any load failure is reported
        missing["dash"] = f"import dash failed: {_message(e)}"
    if dash is not None and not hasattr(dash, "compile_function"):
        missing["compile_function"] = (
            "dash.compile_function is not in this python/dash")
    try:
        import dash.torch_reference as reference
    except Exception:  # noqa: BLE001 - the pure-PyTorch file still loads
        path = ROOT / "python" / "dash" / "torch_reference.py"
        try:
            spec = importlib.util.spec_from_file_location(
                "dash_torch_reference", path)
            reference = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(reference)
        except Exception as e:  # noqa: BLE001
            reference = None
            missing["router"] = (f"dash.torch_reference unavailable: "
                                 f"{_message(e)}")
    return dash, dash_torch, reference, missing


def _message(error, limit=300):
    text = f"{type(error).__name__}: {error}".strip().splitlines()
    text = text[0] if text else type(error).__name__
    return text if len(text) <= limit else text[:limit - 3] + "..."


# ----------------------------------------------------------------------------
# Measurement


class MemoryWatcher:
    """Peak device memory in use while active, polled from a thread: Dash
    allocates through the driver, outside torch's caching allocator."""

    def __init__(self, torch, interval=0.005):
        self.torch, self.interval = torch, interval
        self.stop = threading.Event()

    def _used(self):
        free, total = self.torch.cuda.mem_get_info()
        return total - free

    def _poll(self):
        while not self.stop.wait(self.interval):
            self.peak = max(self.peak, self._used())

    def __enter__(self):
        self.base = self.peak = self._used()
        self.thread = threading.Thread(target=self._poll, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()
        self.peak = max(self.peak, self._used())
        return False

    @property
    def delta(self):
        return max(0, self.peak - self.base)


class Bench:
    def __init__(self, torch, args, meta):
        self.torch, self.args, self.meta = torch, args, meta
        self.cases = []
        self.history = {}
        self.dead = None  # why the CUDA context is unusable, once it is
        self.out = pathlib.Path(args.out)
        self.out.mkdir(parents=True, exist_ok=True)
        tags = (["quick"] if args.quick else []) + (
            ["backward"] if args.backward else [])
        self.base = benchlib.result_basename(
            meta["card"], meta["date"][:10], tags)
        self.total = 0

    def _predict(self, key, n):
        earlier = [h for h in self.history.get(key, []) if h[0] < n]
        if not earlier:
            return None
        n0, seconds, peak = max(earlier)
        return n0, benchlib.scaled(seconds, n0, n), benchlib.scaled(
            peak, n0, n)

    def run(self, case, setup, check=None):
        """Times one case. setup() prepares, returning fn(copy) that runs
        one call on the inputs of that copy and returns the output to check
        (or None); a first call (compilation, autotuning) counts as setup.
        check(output) gives the error and a note."""
        torch, args = self.torch, self.args
        self.cases.append(case)
        budget = args.max_seconds_per_case
        key = (case["shape"], case["method"], case["pass"], case["setting"])
        try:
            if self.dead:
                return self._skip(case, f"CUDA context lost earlier "
                                  f"({self.dead})")
            torch.cuda.empty_cache()
            free = torch.cuda.mem_get_info()[0]
            predicted = self._predict(key, case["n"])
            if predicted:
                n0, seconds, peak = predicted
                if seconds > budget:
                    return self._skip(
                        case, f"predicted {seconds:.1f} s per call (scaled "
                        f"from N={n0}) exceeds the {budget:g} s case budget "
                        f"(--max-seconds-per-case)")
                if peak > args.memory_fraction * free:
                    return self._skip(
                        case, f"predicted {peak / 2**30:.1f} GiB (scaled "
                        f"from N={n0}) exceeds {args.memory_fraction:g} of "
                        f"the {free / 2**30:.1f} GiB free")
            grad = case["pass"] != "fwd"
            with torch.set_grad_enabled(grad), MemoryWatcher(torch) as memory:
                start = time.perf_counter()
                fn = setup()
                fn(0)
                torch.cuda.synchronize()
                case["setup_s"] = round(time.perf_counter() - start, 3)
                output, first = self._call(fn, 0)
                warm = [first]
                copies = case["copies"]
                begin = time.perf_counter()
                if first <= budget / 2:
                    for i in range(args.warmup):
                        if time.perf_counter() - begin + min(warm) > \
                                budget / 4:
                            break
                        warm.append(self._call(fn, (i + 1) % copies)[1])
            case["peak_gib"] = round(memory.delta / 2**30, 2)
            if check is not None and output is not None:
                case["err"], note = check(output)
                self._note(case, note)
            del output
            if first > budget / 2:
                # One call is most of the budget: its wall-clock time is the
                # measurement.
                samples = [first * 1e3]
                self._note(case, "one wall-clock sample (a call takes more "
                           "than half the case budget)")
            else:
                per_call = min(warm)
                left = budget - (time.perf_counter() - begin)
                reps = max(1, min(args.repeats, int(left / per_call)))
                samples = self._timed(fn, reps, copies, grad)
                if reps < min(args.repeats, 5):
                    self._note(case, f"{reps} samples (case budget)")
            case.update(benchlib.summarize_ms(samples), status="ok")
            case["tflops"] = case["flops"] / (case["ms"] * 1e-3) / 1e12
            self.history.setdefault(key, []).append(
                (case["n"], case["ms"] * 1e-3, memory.delta))
        except Exception as e:  # noqa: BLE001 - a case must not end the run
            case.update(status="failed", message=_message(e),
                        traceback=traceback.format_exc(limit=6))
            if isinstance(e, torch.OutOfMemoryError):
                self._note(case, "out of memory")
            self._check_context()
        finally:
            self._report(case)
        return case

    def _call(self, fn, copy):
        """One synchronised call: (its output, its wall-clock seconds)."""
        torch = self.torch
        prepare = getattr(fn, "prepare", None)
        if prepare:
            prepare(copy)
            torch.cuda.synchronize()
        start = time.perf_counter()
        output = fn(copy)
        torch.cuda.synchronize()
        return output, time.perf_counter() - start

    def _timed(self, fn, reps, copies, grad):
        """reps calls, each between two CUDA events, with no
        synchronisation in between."""
        torch = self.torch
        prepare = getattr(fn, "prepare", None)
        starts = [torch.cuda.Event(enable_timing=True) for _ in range(reps)]
        ends = [torch.cuda.Event(enable_timing=True) for _ in range(reps)]
        with torch.set_grad_enabled(grad):
            for r in range(reps):
                if prepare:
                    prepare(r % copies)
                starts[r].record()
                fn(r % copies)
                ends[r].record()
        torch.cuda.synchronize()
        return [s.elapsed_time(e) for s, e in zip(starts, ends)]

    def _check_context(self):
        torch = self.torch
        try:
            torch.cuda.synchronize()
            torch.ones(1, device="cuda").add_(1).item()
            torch.cuda.empty_cache()
        except Exception as e:  # noqa: BLE001
            self.dead = _message(e, 160)

    def _skip(self, case, message, status="skipped"):
        case.update(status=status, message=message)
        return case

    def add(self, case, status, message):
        """Records a case that is not run (unavailable or skipped)."""
        self.cases.append(self._skip(case, message, status))
        self._report(case)

    @staticmethod
    def _note(case, text):
        if text:
            case["note"] = f"{case['note']}; {text}" if case["note"] else text

    def _report(self, case):
        self.total += 1
        if case["status"] == "ok":
            err = "" if case.get("err") is None else \
                f" err {case['err']:.1e}"
            what = (f"{case['ms']:.3f} ms (p10 {case['p10']:.3f}, p90 "
                    f"{case['p90']:.3f}, {case['samples']} samples) "
                    f"{case['tflops']:.1f} TFLOP/s{err}")
        else:
            what = f"{case['status']}: {case.get('message', '')}"
        note = f" [{case['note']}]" if case.get("note") else ""
        print(f"[{self.total:3d}] {case['shape']} N={case['n']} "
              f"{case['setting']} {case['pass']} {case['method']}: {what}"
              f"{note}", flush=True)
        self.save()

    def save(self, complete=False):
        """Writes the JSON and the Markdown (targets included) of the cases
        so far, so that a run stopped early (a time limit) leaves its
        results; `complete` marks the end of the run. Returns the paths and
        the targets."""
        benchlib.attach_speedups(self.cases)
        targets = benchlib.evaluate_targets(
            self.cases, target_setting(self.args), self.args.target_n)
        data = dict(meta=self.meta, complete=complete, cases=self.cases,
                    targets=targets)
        path = self.out / f"{self.base}.json"
        path.write_text(json.dumps(data, indent=1, default=str) + "\n")
        return path, write_markdown(self, targets, complete), targets


def new_case(shape, n, setting, method, pass_, copies, flops, **extra):
    case = {"shape": shape, "n": n, "setting": setting, "method": method,
            "pass": pass_, "copies": copies, "flops": flops,
            "status": "skipped", "message": "", "note": "",
            "density": None, "work": None, "gamma": None, "ms": None,
            "p10": None, "p90": None, "samples": 0, "tflops": None,
            "err": None}
    case.update(extra)
    return case


# ----------------------------------------------------------------------------
# Inputs, selections, reference


class Problem:
    """The inputs of one (shape, N): `copies` identical copies of q, k, v
    (and dO) in distinct memory, rotated through so that the L2 cache does
    not hold the next call's inputs.

    Structured by default: with independent queries, the blocks a query
    tile selects together cover nearly everything, which no real model does
    and which would make every tiled kernel dense. Keys get a direction per
    block (--key-structure), queries a direction per KV group and
    128-token segment (--query-locality)."""

    def __init__(self, torch, args, shape, n):
        self.torch, self.args = torch, args
        self.shape, self.n = shape, n
        spec = benchlib.SHAPES[shape]
        self.heads, self.kv_heads = spec["heads"], spec["kv_heads"]
        self.head_dim = spec["head_dim"]
        self.group = self.heads // self.kv_heads
        self.block = benchlib.BLOCK_SIZE
        self.blocks = -(-n // self.block)
        device, dtype = "cuda", torch.bfloat16
        gen = torch.Generator(device=device).manual_seed(args.seed * 7919 + n)
        q = torch.randn(1, self.heads, n, self.head_dim, device=device,
                        dtype=dtype, generator=gen)
        if args.query_locality:
            shared = torch.randn(1, self.kv_heads, 1, -(-n // FLEX_TILE),
                                 self.head_dim, device=device, generator=gen)
            shared = shared.repeat_interleave(FLEX_TILE, dim=3)[:, :, :, :n]
            locality = args.query_locality
            q = (math.sqrt(1 - locality ** 2) * q.float().view(
                1, self.kv_heads, self.group, n, self.head_dim)
                + locality * shared).view(q.shape).to(dtype)
        k = torch.randn(1, self.kv_heads, n, self.head_dim, device=device,
                        dtype=dtype, generator=gen)
        v = torch.randn(1, self.kv_heads, n, self.head_dim, device=device,
                        dtype=dtype, generator=gen)
        if args.key_structure:
            direction = torch.randn(1, self.kv_heads, self.blocks,
                                    self.head_dim, device=device,
                                    generator=gen)
            k = (k.float() + args.key_structure * direction.repeat_interleave(
                self.block, dim=2)[:, :, :n]).to(dtype)
        do = (torch.randn(1, self.heads, n, self.head_dim, device=device,
                          dtype=dtype, generator=gen)
              if args.backward else None)
        set_bytes = sum(t.numel() * t.element_size()
                        for t in (q, k, v, do) if t is not None)
        free = torch.cuda.mem_get_info()[0]
        l2 = getattr(torch.cuda.get_device_properties(0), "L2_cache_size",
                     0) or 64 << 20
        self.copies = benchlib.rotation_copies(set_bytes, l2, free // 8)
        self.q = [q] + [q.clone() for _ in range(self.copies - 1)]
        self.k = [k] + [k.clone() for _ in range(self.copies - 1)]
        self.v = [v] + [v.clone() for _ in range(self.copies - 1)]
        self.do = ([do] + [do.clone() for _ in range(self.copies - 1)]
                   if do is not None else None)
        self.rows = torch.unique(torch.linspace(
            0, n - 1, max(2, args.check_rows), device=device).long())
        self._references = {}

    def leaves(self, expand=False):
        """Per copy, (q, k, v) leaves that require grad; with expand, K and
        V repeated over the query heads of their group."""
        out = []
        for q, k, v in zip(self.q, self.k, self.v):
            if expand:
                k = k.repeat_interleave(self.group, dim=1)
                v = v.repeat_interleave(self.group, dim=1)
            out.append(tuple(t.detach().clone().requires_grad_()
                             for t in (q, k, v)))
        return out

    def reference(self, name, bias):
        """float64 attention of the sampled query rows (cached by name);
        bias(g) is the additive [1, R, N] bias of KV group g on those rows
        (0 / -inf / log-prior), or None for dense causal."""
        if name in self._references:
            return self._references[name]
        torch = self.torch
        q, k, v = self.q[0], self.k[0], self.v[0]
        keys = torch.arange(self.n, device=q.device)
        causal = keys[None, :] <= self.rows[:, None]
        outs = []
        for g in range(self.kv_heads):
            heads = slice(g * self.group, (g + 1) * self.group)
            qg = q[:, heads, self.rows].double()
            kg, vg = k[:, g].double(), v[:, g].double()
            s = torch.einsum("bhrd,bjd->bhrj", qg, kg) / math.sqrt(
                self.head_dim)
            if bias is not None:
                s = s + bias(g).double().unsqueeze(1)
            s = s.masked_fill(~causal, -math.inf)
            outs.append(torch.einsum("bhrj,bjd->bhrd", torch.softmax(s, -1),
                                     vg))
        ref = torch.cat(outs, 1)
        self._references[name] = ref
        return ref

    def error(self, name, bias, output):
        ref = self.reference(name, bias)
        got = output[:, :, self.rows].double()
        return float((got - ref).norm() / ref.norm())


class Selection:
    """A block selection: log_prior [1, Hkv, N, M] (-inf off the selected
    blocks) and counts [1, Hkv, N], with their density and work."""

    def __init__(self, problem, setting, log_prior, counts, gamma, prior,
                 note=""):
        self.setting, self.gamma, self.prior, self.note = (
            setting, gamma, prior, note)
        self.log_prior = log_prior.contiguous()
        self.counts = counts.to(problem.torch.int32).contiguous()
        self.stats = benchlib.selection_stats(
            self.counts.cpu().numpy(), problem.heads, problem.block,
            problem.head_dim)

    def bias(self, problem):
        """Per KV group, the reference bias of the sampled rows."""
        block = problem.block

        def bias(g):
            lp = self.log_prior[:, g, problem.rows]
            return lp.repeat_interleave(block, dim=-1)[..., :problem.n]
        return bias


def full_selection(problem):
    torch = problem.torch
    own = torch.arange(problem.n, device="cuda") // problem.block
    blocks = torch.arange(problem.blocks, device="cuda")
    lp = torch.where(blocks[None, :] <= own[:, None], 0.0, -math.inf)
    shape = (1, problem.kv_heads, problem.n, problem.blocks)
    counts = (own + 1).expand(1, problem.kv_heads, problem.n)
    return Selection(problem, "full", lp.expand(shape), counts, None, "flat",
                     "every causal block, flat prior")


class Router:
    """dash.torch_reference.router on the problem's inputs (copy 0)."""

    def __init__(self, reference, problem, args):
        self.reference, self.problem, self.args = reference, problem, args
        per_query = problem.heads * problem.blocks * 4 * 8
        chunk = max(64, int(args.router_chunk_gb * 1e9 / per_query))
        self.chunk = min(problem.n, 1 << (chunk.bit_length() - 1))

    def __call__(self, gamma, prior, groups=None):
        p, torch = self.problem, self.problem.torch
        q, k = p.q[0], p.k[0]
        if groups is not None:  # A cheap subset: the first KV groups.
            q, k = q[:, :groups * p.group], k[:, :groups]
        with torch.no_grad():
            return self.reference.router(
                q, k, None, alpha=self.args.alpha, block_size=p.block,
                gamma=gamma, sigma=self.args.sigma, prior=prior,
                query_chunk=self.chunk)

    def density(self, gamma):
        p = self.problem
        _, counts = self(gamma, "flat", groups=1)
        return benchlib.selection_stats(
            counts.cpu().numpy(), p.group, p.block, p.head_dim)["density"]

    def search(self, target, start):
        """gamma whose selection on one KV group has density within the
        tolerance of target (bracketing by 4x, then geometric bisection;
        larger gamma, sparser routing). Returns (gamma, tries)."""
        tol = self.args.density_tolerance
        low = high = None  # gammas with density above / below the target
        gamma, tries = start, []
        for _ in range(self.args.search_steps):
            d = self.density(gamma)
            tries.append((gamma, d))
            if abs(d - target) <= tol / 2:
                break
            if d > target:
                low = gamma
            else:
                high = gamma
            gamma = (gamma * 4 if high is None else gamma / 4
                     if low is None else math.sqrt(low * high))
        best = min(tries, key=lambda t: abs(t[1] - target))
        return best[0], tries


def routed_selection(problem, router, setting, gamma, prior, note):
    log_prior, counts = router(gamma, prior)
    return Selection(problem, setting, log_prior, counts, gamma, prior, note)


# ----------------------------------------------------------------------------
# Methods


class Methods:
    """Builds the setup functions of each method for one problem."""

    def __init__(self, torch, args, dash, dash_torch, missing):
        self.torch, self.args = torch, args
        self.dash, self.dash_torch, self.missing = dash, dash_torch, missing
        from torch.nn.attention import SDPBackend
        from torch.nn.attention.flex_attention import flex_attention
        # Every shape and block mask is a recompilation of the one
        # flex_attention: raise Dynamo's per-function limit.
        for name in ("cache_size_limit", "recompile_limit",
                     "accumulated_cache_size_limit",
                     "accumulated_recompile_limit"):
            if hasattr(torch._dynamo.config, name):
                setattr(torch._dynamo.config, name, 4096)
        self.flex = torch.compile(flex_attention,
                                  dynamic=True if args.flex_dynamic else False)
        self.backends = {"cudnn": SDPBackend.CUDNN_ATTENTION,
                         "flash": SDPBackend.FLASH_ATTENTION}

    # -- SDPA ---------------------------------------------------------------

    def sdpa(self, problem, method, pass_, case):
        """Dense causal SDPA with one backend; GQA through enable_gqa when
        the backend takes it, else K/V expanded beforehand (not timed)."""
        torch = self.torch
        from torch.nn.attention import sdpa_kernel
        backend = self.backends[method]
        sdpa = torch.nn.functional.scaled_dot_product_attention
        gqa = problem.group > 1

        def call(q, k, v, enable_gqa):
            with sdpa_kernel(backend):
                return sdpa(q, k, v, is_causal=True, enable_gqa=enable_gqa)

        def setup():
            enable_gqa = gqa
            if gqa:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    try:
                        with torch.no_grad():
                            call(problem.q[0][:, :, :256],
                                 problem.k[0][:, :, :256],
                                 problem.v[0][:, :, :256], True)
                    except RuntimeError as e:
                        enable_gqa = False
                        why = " ".join(str(w.message) for w in caught)[:200]
                        Bench._note(case, f"GQA by expanded K/V "
                                    f"(enable_gqa refused: {_message(e, 80)}"
                                    f" {why})")
                if enable_gqa:
                    Bench._note(case, "GQA by enable_gqa=True")
            expand = gqa and not enable_gqa
            if pass_ == "fwd":
                if expand:
                    ks = [k.repeat_interleave(problem.group, 1)
                          for k in problem.k]
                    vs = [v.repeat_interleave(problem.group, 1)
                          for v in problem.v]
                else:
                    ks, vs = problem.k, problem.v
                return lambda c: call(problem.q[c], ks[c], vs[c], enable_gqa)
            return self._backward(problem, pass_, problem.leaves(expand),
                                  lambda q, k, v: call(q, k, v, enable_gqa))
        return setup

    def _backward(self, problem, pass_, leaves, forward):
        """fn(copy) for fwd+bwd (forward and autograd.grad) or bwd
        (autograd.grad of the forward that fn.prepare(copy) ran before the
        call's start event; without it, fn runs its own)."""
        torch = self.torch
        if pass_ == "fwd+bwd":
            def fn(c):
                out = forward(*leaves[c])
                torch.autograd.grad(out, leaves[c], problem.do[c])
            return fn
        pending = {}

        def prepare(c):
            pending[c] = forward(*leaves[c])

        def fn(c):
            out = pending.pop(c) if c in pending else forward(*leaves[c])
            torch.autograd.grad(out, leaves[c], problem.do[c])
        fn.prepare = prepare
        return fn

    # -- FlexAttention --------------------------------------------------------

    def _ordered(self, dense):
        """BlockMask's (num_blocks, indices) of a dense [B, H, R, C] mask,
        the kept blocks first in ascending order."""
        torch = self.torch
        d = dense.to(torch.int32)
        return (d.sum(-1, dtype=torch.int32).contiguous(),
                torch.argsort(d, dim=-1, descending=True,
                              stable=True).to(torch.int32).contiguous())

    def _block_mask(self, problem, partial, full, q_block, kv_block,
                    mask_mod):
        from torch.nn.attention.flex_attention import BlockMask
        expand = [x.repeat_interleave(problem.group, dim=1)
                  for x in (partial, full)]
        num, idx = self._ordered(expand[0])
        full_num, full_idx = self._ordered(expand[1])
        return BlockMask.from_kv_blocks(
            num, idx, full_num, full_idx, BLOCK_SIZE=(q_block, kv_block),
            mask_mod=mask_mod, seq_lengths=(problem.n, problem.n))

    def flex_selection(self, problem, selection, case):
        """FlexAttention on the same selection and log-prior: a BlockMask of
        the per-(query tile, key block) union of the selection (key blocks
        of 64; query tiles of 128, else 64 if Flex refuses), a mask_mod for
        causality and the unselected blocks, a score_mod adding the
        log-prior."""
        torch = self.torch
        group, kb = problem.group, problem.block
        neg_inf = float("-inf")
        # Stored [B, Hkv, M, N]: a tile's loads then run along the queries
        # (half the time of [B, Hkv, N, M] on an H100 at N = 32K).
        lp_t = selection.log_prior.transpose(2, 3).contiguous()

        def mask_mod(b, h, q_idx, kv_idx):
            return (q_idx >= kv_idx) & (
                lp_t[b, h // group, kv_idx // kb, q_idx] > neg_inf)

        def score_mod(score, b, h, q_idx, kv_idx):
            return score + lp_t[b, h // group, kv_idx // kb, q_idx]

        def setup():
            errors = []
            chosen = torch.isfinite(selection.log_prior)
            for q_block in (FLEX_TILE, kb):
                tiles = problem.n // q_block
                view = chosen.view(1, problem.kv_heads, tiles, q_block,
                                   problem.blocks)
                row = torch.arange(tiles, device="cuda")[:, None]
                col = torch.arange(problem.blocks, device="cuda")[None, :]
                before = (col + 1) * kb <= row * q_block
                full = view.all(3) & before
                partial = view.any(3) & ~full
                tile_pairs = int(view.any(3).sum()) * q_block * kb * group
                mask = self._block_mask(problem, partial, full, q_block, kb,
                                        mask_mod)
                del view, partial, full
                # Flex's default kernel tile is 128 query rows.
                options = ({"BLOCK_M": q_block, "BLOCK_N": kb}
                           if q_block < FLEX_TILE else None)
                fn = self._flex_fn(problem, case["pass"], mask, score_mod,
                                   options)
                try:
                    fn(0)
                    torch.cuda.synchronize()
                except Exception as e:  # noqa: BLE001 - try the next tile
                    errors.append(f"{q_block}x{kb}: {_message(e, 150)}")
                    continue
                dense = problem.heads * benchlib.causal_pairs(problem.n)
                Bench._note(case, f"BlockMask {q_block}x{kb}; tiles cover "
                            f"{tile_pairs / dense:.3f} of the causal pairs")
                if errors:
                    Bench._note(case, "; ".join(errors))
                return fn
            raise RuntimeError("FlexAttention refused every tile: "
                               + "; ".join(errors))
        return setup

    def flex_square(self, problem, work, case):
        """FlexAttention with 128x128 blocks, its fastest configuration: a
        causal block mask keeping the diagonal block of each query tile and
        random earlier blocks (per KV group), so that the work matches."""
        torch = self.torch
        tiles = problem.n // FLEX_TILE
        kept = benchlib.square_block_rows(tiles, work)
        case["flops"] = 4 * problem.head_dim * problem.heads * \
            benchlib.square_block_pairs(kept, FLEX_TILE)
        case["work"] = case["flops"] / benchlib.dense_causal_flops(
            1, problem.heads, problem.n, problem.head_dim)
        gen = torch.Generator(device="cuda").manual_seed(self.args.seed + 1)
        row = torch.arange(tiles, device="cuda")[:, None]
        col = torch.arange(tiles, device="cuda")[None, :]
        earlier = col < row
        score = torch.rand(1, problem.kv_heads, tiles, tiles, device="cuda",
                           generator=gen).masked_fill(~earlier, -1.0)
        rank = score.argsort(-1, descending=True).argsort(-1)
        off = torch.as_tensor(kept - 1, device="cuda")[:, None]
        full = earlier & (rank < off)
        diagonal = (col == row).expand_as(full)
        kept_mask = full | diagonal

        def causal(b, h, q_idx, kv_idx):
            return q_idx >= kv_idx

        def setup():
            mask = self._block_mask(problem, diagonal, full, FLEX_TILE,
                                    FLEX_TILE, causal)
            return self._flex_fn(problem, case["pass"], mask, None)

        def bias(g):
            blocks = kept_mask[:, g, problem.rows // FLEX_TILE]
            tokens = blocks.repeat_interleave(FLEX_TILE, dim=-1)
            return torch.where(tokens, 0.0, -math.inf)
        return setup, bias

    def _flex_fn(self, problem, pass_, mask, score_mod, options=None):
        gqa = problem.group > 1
        flex = self.flex

        def forward(q, k, v):
            return flex(q, k, v, score_mod=score_mod, block_mask=mask,
                        enable_gqa=gqa, kernel_options=options)
        if pass_ == "fwd":
            return lambda c: forward(problem.q[c], problem.k[c],
                                     problem.v[c])
        return self._backward(problem, pass_, problem.leaves(), forward)

    # -- Dash -----------------------------------------------------------------

    def dash_options(self, selection):
        full = selection.setting == "full"
        return dict(alpha=self.args.alpha,
                    gamma=FULL_GAMMA if full else selection.gamma,
                    sigma=self.args.sigma, prior=selection.prior)

    def dash_whole(self, problem, selection, case):
        """The whole forward (router and fine attention) through
        dash.pytorch."""
        dash_torch = self.dash_torch
        options = self.dash_options(selection)
        last = {}

        def forward(q, k, v):
            o, _, counts = dash_torch.attention(q, k, v, None, **options,
                                                return_lse=True)
            last["counts"] = counts
            return o

        def setup():
            if case["pass"] == "fwd":
                return lambda c: forward(problem.q[c], problem.k[c],
                                         problem.v[c])
            return self._backward(problem, case["pass"], problem.leaves(),
                                  forward)

        def counts_note():
            counts = last.get("counts")
            if counts is None:
                return ""
            same = float((counts == selection.counts).float().mean())
            density = benchlib.selection_stats(
                counts.cpu().numpy(), problem.heads, problem.block,
                problem.head_dim)["density"]
            return (f"Dash's density {density:.3f}, counts equal to the "
                    f"reference router's on {100 * same:.1f}% of queries")
        return setup, counts_note

    def _compiled(self, source, entry):
        return self.dash.compile_function(source, entry, target="cuda")

    def dash_fine(self, problem, selection, case):
        """dash.sparse_attention alone on the selection's log-prior."""
        torch = self.torch

        def setup():
            fn = self._compiled(benchlib.sparse_attention_mlir(
                1, problem.heads, problem.kv_heads, problem.n,
                problem.head_dim, block_size=problem.block), "fine")
            outs = [(torch.empty_like(q), torch.empty(
                q.shape[:3], device="cuda", dtype=torch.float32))
                for q in problem.q]

            def run(c):
                o, lse = outs[c]
                fn(problem.q[c], problem.k[c], problem.v[c],
                   selection.log_prior, out=(o, lse))
                return o
            return run
        return setup

    def dash_router(self, problem, selection, case):
        """The router stages alone (summarize, route_logits, entmax,
        block_prior) as dash-opt --dash-decompose makes them."""
        torch = self.torch
        options = self.dash_options(selection)
        last = {}

        def setup():
            fn = self._compiled(benchlib.router_mlir(
                1, problem.heads, problem.kv_heads, problem.n,
                problem.head_dim, block_size=problem.block, **options),
                "router")
            prior = torch.empty_like(selection.log_prior)
            counts = torch.empty_like(selection.counts)

            def run(c):
                fn(problem.q[c], problem.k[c], out=(prior, counts))
                last["counts"] = counts
            return run

        def counts_note():
            counts = last.get("counts")
            if counts is None:
                return ""
            same = float((counts == selection.counts).float().mean())
            return (f"counts equal to the reference router's on "
                    f"{100 * same:.1f}% of queries")
        return setup, counts_note


# ----------------------------------------------------------------------------
# The sweep


def settings(args):
    out = [("full" if d >= 1 else f"d~{d:g}", d, None)
           for d in args.densities]
    out += [(f"gamma={g:g}", None, g) for g in args.gammas]
    return out


def target_setting(args):
    sparse = [d for d in args.densities if d < 1]
    if not sparse:
        return None
    best = min(sparse, key=lambda d: abs(d - 0.25))
    return f"d~{best:g}"


def passes(args):
    return ["fwd"] + (["fwd+bwd", "bwd"] if args.backward else [])


def pass_flops(flops, pass_):
    factor = {"fwd": 1.0, "fwd+bwd": 1.0 + benchlib.BACKWARD_FACTOR,
              "bwd": benchlib.BACKWARD_FACTOR}[pass_]
    return flops * factor


def run_problem(bench, methods, reference, missing, shape, n, gammas):
    """Every case of one (shape, N): the dense peers, then per setting its
    selection and the sparse methods."""
    torch, args = bench.torch, bench.args
    problem = Problem(torch, args, shape, n)
    dense_flops = benchlib.dense_causal_flops(1, problem.heads, n,
                                              problem.head_dim)
    print(f"== {shape} N={n}: H={problem.heads} Hkv={problem.kv_heads} "
          f"D={problem.head_dim}, {problem.copies} input copies", flush=True)

    def dense_error(output):
        return problem.error("dense", None, output), ""

    for pass_ in passes(args):
        for method in ("cudnn", "flash"):
            if method not in args.methods or (
                    pass_ != "fwd" and method not in BACKWARD_METHODS):
                continue
            case = new_case(shape, n, "dense", method, pass_, problem.copies,
                            pass_flops(dense_flops, pass_), density=1.0,
                            work=1.0)
            bench.run(case, methods.sdpa(problem, method, pass_, case),
                      dense_error if pass_ == "fwd" else None)

    for label, density, gamma in settings(args):
        status, why = "failed", ""
        if label != "full" and reference is None:
            selection, status, why = None, "unavailable", missing["router"]
        else:
            try:
                selection = make_selection(problem, reference, label,
                                           density, gamma, gammas)
            except Exception as e:  # noqa: BLE001 - recorded in each row
                selection, why = None, f"selection: {_message(e)}"
                bench._check_context()
        if selection is None:
            for pass_ in passes(args):
                for method in METHODS[2:]:
                    if method in args.methods and (
                            pass_ == "fwd" or method in BACKWARD_METHODS):
                        bench.add(new_case(shape, n, label, method, pass_,
                                           problem.copies, None),
                                  status, why)
            continue
        stats = selection.stats
        print(f"-- {shape} N={n} {label}: density {stats['density']:.4f}, "
              f"work {stats['work']:.4f}"
              + (f", gamma {selection.gamma:.4g}" if selection.gamma else "")
              + (f" ({selection.note})" if selection.note else ""),
              flush=True)
        run_setting(bench, methods, problem, selection)
        del selection


def make_selection(problem, reference, label, density, gamma, gammas):
    """The selection of one setting; gammas remembers the searched gamma of
    each (shape, setting) to start the next N's search from it."""
    args = problem.args
    if label == "full":
        return full_selection(problem)
    router = Router(reference, problem, args)
    if gamma is None:
        key = (problem.shape, label)
        start = time.perf_counter()
        gamma, tries = router.search(density, gammas.get(key, 1.0))
        gammas[key] = gamma
        note = (f"gamma searched on 1 KV group: {len(tries)} router calls, "
                f"{time.perf_counter() - start:.1f} s")
        closest = min(tries, key=lambda t: abs(t[1] - density))[1]
        if abs(closest - density) > args.density_tolerance:
            note += (f"; density {density:g} not reached (closest "
                     f"{closest:.3f})")
    else:
        note = "fixed gamma"
    return routed_selection(problem, router, label, gamma, args.prior, note)


def run_setting(bench, methods, problem, selection):
    args, torch = bench.args, bench.torch
    stats = selection.stats
    shape, n, label = problem.shape, problem.n, selection.setting
    base = dict(density=stats["density"], work=stats["work"],
                gamma=selection.gamma)
    fine_flops = stats["fine_flops"]
    router = benchlib.router_flops(1, problem.heads, problem.kv_heads, n,
                                   problem.head_dim, problem.block)
    bias = selection.bias(problem)

    def sel_error(output):
        return problem.error(label, bias, output), ""

    for pass_ in passes(args):
        fwd = pass_ == "fwd"
        if "flex-sel" in args.methods and fwd:
            case = new_case(shape, n, label, "flex-sel", pass_,
                            problem.copies, fine_flops, **base)
            bench.run(case, methods.flex_selection(problem, selection, case),
                      sel_error)
        if "flex-128" in args.methods:
            case = new_case(shape, n, label, "flex-128", pass_,
                            problem.copies, None, **base)
            case["density"] = None  # its own blocks; work says how much
            try:
                setup, square_bias = methods.flex_square(
                    problem, stats["work"], case)
                case["flops"] = pass_flops(case["flops"], pass_)

                def square_error(output, square_bias=square_bias):
                    return problem.error(f"{label}/128", square_bias,
                                         output), ""
                bench.run(case, setup, square_error if fwd else None)
            except Exception as e:  # noqa: BLE001
                bench.add(case, "failed", _message(e))
        if "dash" in methods.missing:
            for method in ("dash", "dash-fine", "dash-router"):
                if method in args.methods and (fwd or method == "dash"):
                    bench.add(new_case(shape, n, label, method, pass_,
                                       problem.copies, None, **base),
                              "unavailable", methods.missing["dash"])
            continue
        if "dash" in args.methods:
            whole = fine_flops + (router if fwd else 0)
            case = new_case(shape, n, label, "dash", pass_, problem.copies,
                            pass_flops(fine_flops, pass_) if not fwd
                            else whole, **base)
            setup, counts_note = methods.dash_whole(problem, selection, case)

            def whole_error(output, counts_note=counts_note):
                return problem.error(label, bias, output), counts_note()
            bench.run(case, setup, whole_error if fwd else None)
            if not fwd and case["status"] == "ok":
                Bench._note(case, "router backward FLOPs not counted")
        if not fwd:
            continue
        for method, flops in (("dash-fine", fine_flops),
                              ("dash-router", router)):
            if method not in args.methods:
                continue
            case = new_case(shape, n, label, method, pass_, problem.copies,
                            flops, **base)
            if "compile_function" in methods.missing:
                bench.add(case, "unavailable",
                          methods.missing["compile_function"])
                continue
            if method == "dash-fine":
                bench.run(case, methods.dash_fine(problem, selection, case),
                          sel_error)
            else:
                setup, counts_note = methods.dash_router(problem, selection,
                                                         case)
                bench.run(case, setup, None)
                Bench._note(case, counts_note())
    torch.cuda.empty_cache()


# ----------------------------------------------------------------------------
# Output


def plot(bench, target):
    """Median ms against N per method: one panel per shape and setting
    (dense peers drawn in each)."""
    panels = []
    shapes = sorted({c["shape"] for c in bench.cases})
    labels = [s[0] for s in settings(bench.args)]
    for shape in shapes:
        for label in labels:
            series = {}
            for c in bench.cases:
                if c["shape"] != shape or c["pass"] != "fwd" or \
                        c["status"] != "ok" or \
                        c["setting"] not in (label, "dense"):
                    continue
                series.setdefault(c["method"], []).append((c["n"], c["ms"]))
            panels.append((f"{shape}, {label}, forward", series))
    title = (f"DashAttention forward, {bench.meta['card']}, "
             f"{bench.meta['date']}")
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        path = bench.out / f"{bench.base}.svg"
        path.write_text(benchlib.svg_chart(panels, title))
        return path
    cols = min(2, len(panels)) or 1
    rows = -(-len(panels) // cols) or 1
    fig, axes = plt.subplots(rows, cols, figsize=(6 * cols, 4 * rows),
                             squeeze=False)
    for ax, (name, series) in zip(axes.flat, panels):
        for method, points in sorted(series.items()):
            xs, ys = zip(*sorted(points))
            ax.plot(xs, ys, marker="o", label=method)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("N")
        ax.set_ylabel("ms (median)")
        ax.set_title(name)
        ax.grid(True, which="both", alpha=0.3)
        if series:
            ax.legend(fontsize=8)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    fig.suptitle(title)
    fig.tight_layout()
    path = bench.out / f"{bench.base}.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def write_markdown(bench, targets, complete):
    meta = bench.meta
    lines = [f"# DashAttention benchmark: {meta['card']}, {meta['date']}",
             "",
             f"- card {meta['card']} (sm {meta['capability']}, "
             f"{meta['memory_gib']} GiB), driver {meta['driver']}",
             f"- torch {meta['torch']}, CUDA {meta['cuda']}, cuDNN "
             f"{meta['cudnn']}, triton {meta['triton']}, Python "
             f"{meta['python']}",
             f"- commit {meta['commit']} (library {meta['library_commit']}, "
             f"tree {meta['tree_commit']})",
             f"- command: `python3 bench/attention_bench.py "
             f"{' '.join(meta['argv'])}`",
             "- bf16, causal, batch 1, Bk = 64; times are CUDA-event medians "
             "(p10-p90) over rotated input copies; TFLOP/s on the pairs "
             "each method computes (bench/README.md)"]
    if not complete:
        lines.append(f"- **partial**: the run had not finished; these are "
                     f"its first {len(bench.cases)} cases")
    lines += ["", "## Targets", ""]
    lines += [f"- {benchlib.format_target(t)}" for t in targets]
    lines += ["", "## Cases", "", benchlib.markdown_table(bench.cases)]
    path = bench.out / f"{bench.base}.md"
    path.write_text("\n".join(lines))
    return path


def main(argv=None):
    args = parse_args(argv)
    prepare_library()
    import torch
    if not torch.cuda.is_available():
        print("attention_bench: no CUDA device", file=sys.stderr)
        return 1
    torch.manual_seed(args.seed)
    meta = environment(torch, args)
    dash, dash_torch, reference, missing = load_dash()
    meta["unavailable"] = missing
    bench = Bench(torch, args, meta)
    print(f"attention_bench: {meta['card']}, torch {meta['torch']}, CUDA "
          f"{meta['cuda']}, triton {meta['triton']}, commit {meta['commit']}"
          f"; results in {bench.out}/{bench.base}.*", flush=True)
    for part, why in missing.items():
        print(f"attention_bench: {part} unavailable: {why}", flush=True)
    methods = Methods(torch, args, dash, dash_torch, missing)
    gammas = {}
    started = time.perf_counter()
    for shape in args.shapes:
        for n in args.seq_lens:
            try:
                run_problem(bench, methods, reference, missing, shape, n,
                            gammas)
            except Exception as e:  # noqa: BLE001 - e.g. inputs do not fit
                print(f"attention_bench: {shape} N={n} failed: "
                      f"{_message(e)}", flush=True)
                bench.add(new_case(shape, n, "-", "inputs", "fwd", 0, None),
                          "failed", _message(e))
                bench._check_context()
            # Compiled FlexAttention graphs of this N are not needed again.
            torch._dynamo.reset()
            torch.cuda.empty_cache()
    json_path, md_path, targets = bench.save(complete=True)
    try:
        plot_path = plot(bench, target_setting(args))
    except Exception as e:  # noqa: BLE001 - the plot is not the result
        plot_path = f"(plot failed: {_message(e)})"
    print()
    print(benchlib.markdown_table(bench.cases))
    print("Targets (issue 6" + (", issue 7" if args.backward else "") + "):")
    for t in targets:
        print("  " + benchlib.format_target(t))
    print(f"\nattention_bench: {len(bench.cases)} cases in "
          f"{time.perf_counter() - started:.0f} s; wrote {json_path}, "
          f"{md_path}, {plot_path}")
    if bench.dead:
        print(f"attention_bench: the CUDA context was lost: {bench.dead}")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
