"""dash.compile_function: a module with one dash.sparse_attention (a single
stage op) compiled for the CPU and called on numpy arrays, against the
float64 reference of the spec (tests/reference.py); signature, out=, the
caches and misuse."""

import tempfile
import unittest

import numpy as np

import dash
from tests import reference

TOLERANCE = 1e-4  # Spec section 4: f32 relative L2.

MODULE = """
func.func @fine(%q: tensor<1x4x24x8xf32>, %k: tensor<1x2x24x8xf32>,
                %v: tensor<1x2x24x8xf32>, %prior: tensor<1x2x24x3xf32>)
    -> (tensor<1x4x24x8xf32>, tensor<1x4x24xf32>) {
  %oi = tensor.empty() : tensor<1x4x24x8xf32>
  %li = tensor.empty() : tensor<1x4x24xf32>
  %o, %lse = dash.sparse_attention
      ins(%q, %k, %v, %prior : tensor<1x4x24x8xf32>, tensor<1x2x24x8xf32>,
          tensor<1x2x24x8xf32>, tensor<1x2x24x3xf32>)
      outs(%oi, %li : tensor<1x4x24x8xf32>, tensor<1x4x24xf32>)
      {block_size = 8, scale = 0.3 : f64}
  return %o, %lse : tensor<1x4x24x8xf32>, tensor<1x4x24xf32>
}
"""


def rel_l2(actual, expected):
    return np.linalg.norm(actual - expected) / np.linalg.norm(expected)


def inputs(seed):
    rng = np.random.default_rng(seed)
    q = rng.standard_normal((1, 4, 24, 8)).astype(np.float32)
    k = rng.standard_normal((1, 2, 24, 8)).astype(np.float32)
    v = rng.standard_normal((1, 2, 24, 8)).astype(np.float32)
    prior = rng.standard_normal((1, 2, 24, 3)).astype(np.float32)
    # Unselected blocks; each query's own block stays selected.
    dropped = rng.random(prior.shape) < 0.3
    own = np.arange(24)[:, None] // 8 == np.arange(3)[None, :]
    prior[dropped & ~own] = -np.inf
    return q, k, v, prior


class CompileFunction(unittest.TestCase):
    def test_sparse_attention_matches_reference(self):
        # A context of its own, with an empty disk cache: compiled here.
        cache = tempfile.TemporaryDirectory(prefix="dash-cache-")
        self.addCleanup(cache.cleanup)
        context = dash.Context()
        context.set_cache_dir(cache.name)
        fine = context.compile_function(MODULE, "fine")
        self.assertEqual(fine.info["source"], "compiled")
        self.assertGreater(fine.info["compile_ms"], 0.0)
        self.assertEqual(fine.inputs, [("float32", (1, 4, 24, 8)),
                                       ("float32", (1, 2, 24, 8)),
                                       ("float32", (1, 2, 24, 8)),
                                       ("float32", (1, 2, 24, 3))])
        self.assertEqual(fine.outputs, [("float32", (1, 4, 24, 8)),
                                        ("float32", (1, 4, 24))])
        q, k, v, prior = inputs(1)
        o, lse = fine(q, k, v, prior)
        out, lse_expected = reference.sparse_attention(
            q, k, v, prior, block_size=8, scale=0.3)
        self.assertLessEqual(rel_l2(o, out), TOLERANCE)
        self.assertLessEqual(rel_l2(lse, lse_expected), TOLERANCE)

        # Into caller-owned outputs.
        o2, lse2 = np.empty_like(o), np.empty_like(lse)
        result = fine(q, k, v, prior, out=(o2, lse2))
        self.assertIs(result[0], o2)
        np.testing.assert_array_equal(o2, o)
        np.testing.assert_array_equal(lse2, lse)
        self.assertEqual(
            context.compile_function(MODULE, "fine").info["source"], "memory")
        other = dash.Context()
        other.set_cache_dir(cache.name)
        loaded = other.compile_function(MODULE, "fine")
        self.assertEqual(loaded.info["source"], "disk")
        np.testing.assert_array_equal(loaded(q, k, v, prior)[0], o)

    def test_arguments_are_checked(self):
        fine = dash.compile_function(MODULE, "fine")
        q, k, v, prior = inputs(2)
        with self.assertRaisesRegex(TypeError, "takes 4 inputs"):
            fine(q, k, v)
        with self.assertRaises(dash.DashError) as raised:
            fine(q, k[:, :, :16], v, prior)
        self.assertEqual(raised.exception.status, "INVALID_ARGUMENT")
        self.assertIn("argument 1 (input 1) must be f32 [1, 2, 24, 8], got "
                      "f32 [1, 2, 16, 8]", str(raised.exception))
        with self.assertRaises(dash.DashError) as raised:
            fine(q.astype(np.float64), k, v, prior)
        self.assertIn("must be f32 [1, 4, 24, 8], got f64",
                      str(raised.exception))
        with self.assertRaisesRegex(ValueError, "output 0 must be "
                                    "C-contiguous"):
            fine(q, k, v, prior, out=(np.empty((1, 4, 8, 24), np.float32)
                                      .transpose(0, 1, 3, 2),
                                      np.empty((1, 4, 24), np.float32)))
        with self.assertRaisesRegex(TypeError, "out must hold 2 arrays"):
            fine(q, k, v, prior, out=np.empty((1, 4, 24, 8), np.float32))

    def test_compile_errors_are_dash_errors(self):
        with self.assertRaises(dash.DashError) as raised:
            dash.compile_function("func.func @f(", "f")
        self.assertEqual(raised.exception.status, "COMPILE_ERROR")
        self.assertIn("cannot parse the MLIR source", str(raised.exception))
        with self.assertRaises(dash.DashError) as raised:
            dash.compile_function(MODULE, "missing")
        self.assertIn("no function named 'missing'", str(raised.exception))
        with self.assertRaisesRegex(ValueError, "target must be one of"):
            dash.compile_function(MODULE, "fine", target="tpu")


if __name__ == "__main__":
    unittest.main()
