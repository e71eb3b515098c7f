"""The pure helpers of the GPU benchmark (bench/benchlib.py) with the system
interpreter: FLOP and density accounting against brute-force counts, timing
statistics, the table, the targets, the SVG plot and the MLIR text of the
stage-alone functions (verified and lowered by dash-opt when $DASH_OPT names
it, as ctest does)."""

import json
import math
import os
import pathlib
import subprocess
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ElementTree

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "bench"))

import benchlib  # noqa: E402


def random_selection(rng, batch, kv_heads, n, block, keep):
    """A selection as the spec allows: the own block always, earlier blocks
    with probability keep. Returns selected [B, Hkv, N, M] bool."""
    blocks = -(-n // block)
    own = np.arange(n) // block
    earlier = np.arange(blocks)[None, :] < own[:, None]
    picked = rng.random((batch, kv_heads, n, blocks)) < keep
    return (picked & earlier) | (np.arange(blocks)[None, :] == own[:, None])


def brute_pairs(selected, heads, block):
    """Query-head (query, key) pairs with key <= query in a kept block."""
    batch, kv_heads, n, _ = selected.shape
    total = 0
    for b in range(batch):
        for g in range(kv_heads):
            for i in range(n):
                for j in range(i + 1):
                    total += bool(selected[b, g, i, j // block])
    return total * heads // kv_heads


class Accounting(unittest.TestCase):
    def test_selection_stats_match_brute_force(self):
        rng = np.random.default_rng(1)
        # N not a multiple of the block: the partial last block is only
        # ever a diagonal block.
        for n, block, keep in ((200, 16, 0.3), (96, 32, 1.0), (37, 8, 0.0)):
            selected = random_selection(rng, 2, 2, n, block, keep)
            counts = selected.sum(-1)
            stats = benchlib.selection_stats(counts, 6, block, 8)
            pairs = brute_pairs(selected, 6, block)
            self.assertEqual(stats["kept_pairs"], pairs)
            self.assertEqual(stats["fine_flops"], 4 * 8 * pairs)
            own = np.arange(n) // block
            want = np.mean([counts[b, g, i] / (own[i] + 1) for b in range(2)
                            for g in range(2) for i in range(n)])
            self.assertAlmostEqual(stats["density"], want, places=12)
            self.assertAlmostEqual(
                stats["work"], pairs / (2 * 6 * benchlib.causal_pairs(n)))

    def test_every_block_kept_is_dense_causal(self):
        n, block = 300, 64
        counts = np.broadcast_to(np.arange(n) // block + 1, (1, 2, n))
        stats = benchlib.selection_stats(counts, 32, block, 128)
        self.assertEqual(stats["density"], 1.0)
        self.assertEqual(stats["work"], 1.0)
        self.assertEqual(stats["fine_flops"],
                         benchlib.dense_causal_flops(1, 32, n, 128))
        self.assertEqual(benchlib.dense_causal_flops(1, 1, 4, 1),
                         4 * (1 + 2 + 3 + 4))

    def test_counts_outside_the_spec_are_rejected(self):
        good = np.broadcast_to(np.arange(128) // 64 + 1, (1, 1, 128)).copy()
        for i, value in ((0, 2), (70, 0)):
            bad = good.copy()
            bad[0, 0, i] = value
            with self.assertRaisesRegex(ValueError, rf"counts\[0, 0, {i}\]"):
                benchlib.selection_stats(bad, 1, 64, 64)
        with self.assertRaisesRegex(ValueError, "multiple"):
            benchlib.selection_stats(np.concatenate([good, good], 1), 3, 64,
                                     64)

    def test_router_flops_match_brute_force(self):
        for n, block in ((256, 64), (200, 64), (50, 64)):
            candidates = sum(i // block for i in range(n))
            complete = n // block
            want = 2 * 16 * 4 * candidates + 2 * complete * block * 16
            self.assertEqual(benchlib.router_flops(1, 4, 2, n, 16, block),
                             want)

    def test_square_blocks(self):
        rows = 32
        for work in (1.0, 0.25, 0.01):
            kept = benchlib.square_block_rows(rows, work)
            self.assertTrue(np.all(kept >= 1))
            self.assertTrue(np.all(kept <= np.arange(rows) + 1))
        self.assertTrue(np.array_equal(benchlib.square_block_rows(rows, 1.0),
                                       np.arange(rows) + 1))
        # Brute force: diagonal block causally trimmed, the others whole.
        block, kept = 4, np.array([1, 2, 1, 3])
        mask = np.zeros((4, 4), bool)
        for r, k in enumerate(kept):
            mask[r, r - k + 1:r + 1] = True
        pairs = sum(mask[i // block, j // block]
                    for i in range(16) for j in range(i + 1))
        self.assertEqual(benchlib.square_block_pairs(kept, block), pairs)
        full = benchlib.square_block_pairs(np.arange(4) + 1, block)
        self.assertEqual(full, benchlib.causal_pairs(16))
        work = benchlib.square_block_pairs(
            benchlib.square_block_rows(256, 0.25), 128) / \
            benchlib.causal_pairs(256 * 128)
        self.assertLess(abs(work - 0.25), 0.01)


class Timing(unittest.TestCase):
    def test_percentiles_as_numpy(self):
        rng = np.random.default_rng(2)
        for size in (1, 2, 7, 30):
            xs = list(rng.random(size))
            for q in (10, 50, 90):
                self.assertAlmostEqual(benchlib.percentile(xs, q),
                                       float(np.percentile(xs, q)))
        stats = benchlib.summarize_ms([3.0, 1.0, 2.0])
        self.assertEqual((stats["ms"], stats["samples"]), (2.0, 3))
        with self.assertRaises(ValueError):
            benchlib.percentile([], 50)

    def test_rotation_copies(self):
        mib = 1 << 20
        # 36 MiB sets, 50 MiB L2: 1 + ceil(100 / 36) = 4 copies.
        self.assertEqual(benchlib.rotation_copies(36 * mib, 50 * mib,
                                                  1 << 40), 4)
        self.assertEqual(benchlib.rotation_copies(mib, 50 * mib, 1 << 40), 8)
        self.assertEqual(benchlib.rotation_copies(mib, 50 * mib, 3 * mib), 3)
        self.assertEqual(benchlib.rotation_copies(1 << 30, 50 * mib, 0), 2)
        self.assertEqual(benchlib.scaled(2.0, 4096, 16384), 32.0)


def case(method, setting="d~0.25", ms=1.0, n=32768, shape="8b",
         pass_="fwd", status="ok", flops=1e12, **extra):
    c = {"shape": shape, "n": n, "setting": setting, "method": method,
         "pass": pass_, "status": status, "ms": ms if status == "ok" else None,
         "p10": ms, "p90": ms, "flops": flops, "note": "", "message": "",
         "density": 0.25, "work": 0.2, "err": None,
         "tflops": flops / ms / 1e9 if status == "ok" else None}
    c.update(extra)
    return c


class Report(unittest.TestCase):
    def test_table(self):
        cases = benchlib.attach_speedups([
            case("cudnn", "dense", ms=10.0, err=1e-3),
            case("dash", ms=2.0, err=float("nan"), note="a|b"),
            case("flex-sel", status="failed", message="boom\nline 2"),
            case("dash-fine", status="skipped", message="x" * 200)])
        self.assertAlmostEqual(cases[1]["vs_cudnn"], 5.0)
        table = benchlib.markdown_table(cases).splitlines()
        self.assertEqual(len(table), 2 + len(cases))
        width = table[0].count("|")
        self.assertTrue(all(line.count("|") == width for line in table))
        self.assertIn("| 10.000 |", table[2])
        self.assertIn("1.0e-03 |", table[2])
        self.assertIn("5.00x", table[3])
        self.assertIn("nan BAD", table[3])
        self.assertIn("a/b", table[3])
        self.assertIn("failed: boom line 2", table[4])
        self.assertIn("skipped: xxx", table[5])
        self.assertIn("...", table[5])

    def test_targets(self):
        cases = [
            case("cudnn", "dense", ms=30.0, flops=3e12),
            case("dash", ms=5.0),
            case("flex-sel", ms=6.0),
            case("flex-128", ms=4.0),
            case("dash-router", ms=4.0),
            case("dash-fine", "full", ms=40.0, flops=3e12),
            case("cudnn", "dense", ms=30.0, pass_="bwd"),
            case("dash", ms=10.0, pass_="bwd"),
            case("flex-128", status="failed", pass_="bwd",
                 message="no kernel"),
        ]
        targets = benchlib.evaluate_targets(cases, "d~0.25", 32768)

        def by_name(start):
            found = [t for t in targets if t["name"].startswith(start)]
            self.assertEqual(len(found), 1, start)
            return found[0]
        fine = by_name("fine attention")
        self.assertAlmostEqual(fine["value"], 0.75)
        self.assertEqual(fine["status"], "met")
        cudnn = by_name("whole forward speedup vs cuDNN dense causal")
        self.assertAlmostEqual(cudnn["value"], 6.0)
        self.assertEqual(cudnn["status"], "met")
        flex = by_name("whole forward speedup vs Flex,")
        self.assertAlmostEqual(flex["value"], 1.2)
        self.assertEqual(flex["status"], "missed")
        self.assertIn("1.25x", flex["detail"])
        square = by_name("whole forward speedup vs Flex 128x128")
        self.assertEqual(square["status"], "missed")
        router = by_name("router alone / cuDNN dense causal time")
        self.assertAlmostEqual(router["value"], 4 / 30)
        self.assertEqual(router["status"], "missed")
        backward = by_name("backward speedup vs cuDNN dense causal")
        self.assertEqual(backward["status"], "met")
        flex_bwd = by_name("backward speedup vs Flex 128x128")
        self.assertEqual(flex_bwd["status"], "not measured")
        self.assertIn("flex-128 bwd: failed", flex_bwd["detail"])
        dense_bwd = by_name("backward (density 1) / cuDNN dense backward")
        self.assertIn("not run", dense_bwd["detail"])
        line = benchlib.format_target(flex)
        self.assertIn("MISSED", line)
        self.assertIn("target >= 1.5x", line)
        # Without a sparse setting, no whole-forward target is met.
        none = benchlib.evaluate_targets(cases, None, 32768)
        self.assertEqual({t["status"] for t in none
                          if "whole forward" in t["name"]},
                         {"not measured"})

    def test_names_and_svg(self):
        self.assertEqual(
            benchlib.result_basename("NVIDIA H100 80GB HBM3", "2026-11-28",
                                     ["quick"]),
            "attention-quick-nvidia-h100-80gb-hbm3-2026-11-28")
        svg = benchlib.svg_chart(
            [("8b <full>", {"cudnn": [(4096, 0.3), (32768, 12.0)],
                            "dash": [(4096, 500.0)]}),
             ("empty", {})], "title & more")
        root = ElementTree.fromstring(svg)
        self.assertTrue(root.tag.endswith("svg"))
        self.assertEqual(len(root.findall(
            "{http://www.w3.org/2000/svg}polyline")), 2)
        self.assertIn("no data", svg)


class Mlir(unittest.TestCase):
    def test_float_literals(self):
        self.assertEqual(benchlib.mlir_float(2), "2.00000000000000000e+00")
        self.assertEqual(float(benchlib.mlir_float(1e-6)), 1e-6)
        with self.assertRaises(ValueError):
            benchlib.mlir_float(math.inf)

    def test_text(self):
        fine = benchlib.sparse_attention_mlir(1, 8, 2, 200, 64, scale=0.125)
        self.assertIn("func.func @fine(%q: tensor<1x8x200x64xbf16>", fine)
        self.assertIn("tensor<1x2x200x4xf32>", fine)
        self.assertIn("{block_size = 64, scale = 1.25", fine)
        router = benchlib.router_mlir(1, 8, 2, 200, 64, gamma=2.5,
                                      prior="raw")
        for piece in ("dash.summarize", "tensor<1x2x3x64xf32>",
                      "dash.route_logits", "tensor<1x8x200x3xf32>",
                      "dimension = 3", "prior_mode = #dash.prior_mode<raw>",
                      "-> (tensor<1x2x200x4xf32>, tensor<1x2x200xi32>)"):
            self.assertIn(piece, router)
        with self.assertRaisesRegex(ValueError, "prior"):
            benchlib.router_mlir(1, 8, 2, 200, 64, prior="none")

    def test_dash_opt_verifies_and_lowers(self):
        tool = os.environ.get("DASH_OPT")
        if not tool:
            self.skipTest("DASH_OPT is not set (ctest sets it)")
        source = (benchlib.sparse_attention_mlir(1, 4, 2, 160, 32,
                                                 block_size=32)
                  + benchlib.router_mlir(1, 4, 2, 160, 32, block_size=32,
                                         gamma=4.0, sigma=0.5,
                                         local_blocks=1))
        with tempfile.NamedTemporaryFile("w", suffix=".mlir") as f:
            f.write(source)
            f.flush()
            for flags in ([], ["--dash-to-linalg"]):
                run = subprocess.run([tool, f.name] + flags,
                                     capture_output=True, text=True)
                self.assertEqual(run.returncode, 0, run.stderr)
            # A wrong shape is caught by the verifier, so the check bites.
            f.seek(0)
            f.write(source.replace("tensor<1x2x160x5xf32>",
                                   "tensor<1x2x160x6xf32>", 1))
            f.flush()
            run = subprocess.run([tool, f.name], capture_output=True,
                                 text=True)
            self.assertNotEqual(run.returncode, 0)

    def test_results_are_written_after_every_case(self):
        # A run stopped by a time limit keeps its table: every case rewrites
        # the JSON and the Markdown (marked partial until the end).
        import attention_bench
        with tempfile.TemporaryDirectory() as out:
            args = attention_bench.parse_args(["--quick", "--out", out])
            meta = dict(card="Card", date="2026-11-28 00:00 UTC",
                        capability="9.0", memory_gib=80, driver="1",
                        torch="t", cuda="c", cudnn="d", triton="r",
                        python="p", commit="abc", library_commit="abc",
                        tree_commit="abc", argv=["--quick"])
            bench = attention_bench.Bench(None, args, meta)
            case = attention_bench.new_case("8b", 4096, "dense", "cudnn",
                                            "fwd", 1, 1.0)
            bench.add(case, "skipped", "not run here")
            md = pathlib.Path(out) / f"{bench.base}.md"
            data = json.loads((pathlib.Path(out)
                               / f"{bench.base}.json").read_text())
            self.assertFalse(data["complete"])
            self.assertEqual(len(data["cases"]), 1)
            self.assertIn("**partial**", md.read_text())
            self.assertIn("| 8b | 4096 | dense |", md.read_text())
            bench.save(complete=True)
            self.assertNotIn("partial", md.read_text())
            self.assertTrue(json.loads((pathlib.Path(out)
                                        / f"{bench.base}.json").read_text())
                            ["complete"])

    def test_stage_functions_run_as_the_benchmark_calls_them(self):
        # The benchmark's dash-fine and dash-router rows call these functions
        # with their inputs and out=(...); here in f32 on the CPU against
        # the numpy reference of the spec.
        if not os.environ.get("DASH_LIBRARY"):
            self.skipTest("DASH_LIBRARY is not set (ctest sets it)")
        import dash
        from tests import reference
        rng = np.random.default_rng(7)
        heads, kv_heads, n, d, block = 4, 2, 96, 16, 16
        q = rng.standard_normal((1, heads, n, d)).astype(np.float32)
        k = rng.standard_normal((1, kv_heads, n, d)).astype(np.float32)
        v = rng.standard_normal((1, kv_heads, n, d)).astype(np.float32)
        options = dict(block_size=block, gamma=4.0, prior="raw")

        router = dash.compile_function(benchlib.router_mlir(
            1, heads, kv_heads, n, d, element="f32", **options), "router")
        prior = np.empty((1, kv_heads, n, n // block), np.float32)
        counts = np.empty((1, kv_heads, n), np.int32)
        router(q, k, out=(prior, counts))
        _, _, expected_counts, margin = reference.forward(
            q, k, v, **options)
        self.assertGreater(margin, 1e-4)  # no decision too close to call
        np.testing.assert_array_equal(counts, expected_counts)

        fine = dash.compile_function(benchlib.sparse_attention_mlir(
            1, heads, kv_heads, n, d, element="f32", block_size=block),
            "fine")
        o, lse = np.empty_like(q), np.empty(q.shape[:3], np.float32)
        fine(q, k, v, prior, out=(o, lse))
        o_ref, lse_ref = reference.sparse_attention(q, k, v, prior,
                                                    block_size=block)
        self.assertLessEqual(np.linalg.norm(o - o_ref)
                             / np.linalg.norm(o_ref), 1e-4)
        self.assertLessEqual(np.linalg.norm(lse - lse_ref)
                             / np.linalg.norm(lse_ref), 1e-4)


if __name__ == "__main__":
    unittest.main()
