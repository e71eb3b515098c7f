"""Misuse of the Python package: C API errors surface as dash.DashError
with the compiler's message; shape and type errors are caught in Python,
before a buffer of the wrong size could reach the C API."""

import os
import subprocess
import sys
import unittest

import numpy as np

import dash


def arrays(batch=1, heads=2, kv_heads=1, n=16, d=8, dtype=np.float32):
    q = np.zeros((batch, heads, n, d), dtype)
    kv = np.zeros((batch, kv_heads, n, d), dtype)
    return q, kv, kv.copy()


class Errors(unittest.TestCase):
    def test_invalid_configuration_is_a_dash_error(self):
        q, k, v = arrays(heads=3, kv_heads=2)
        with self.assertRaises(dash.DashError) as raised:
            dash.attention(q, k, v, block_size=8)
        self.assertEqual(raised.exception.status, "INVALID_ARGUMENT")
        self.assertIn("invalid attention configuration", str(raised.exception))
        self.assertIn("must be a multiple of Hkv = 2", str(raised.exception))

    def test_invalid_attribute_is_named(self):
        q, k, v = arrays()
        with self.assertRaises(dash.DashError) as raised:
            dash.attention(q, k, v, alpha=1.0, block_size=8)
        self.assertIn("alpha", str(raised.exception))
        with self.assertRaises(dash.DashError) as raised:
            dash.attention_backward(q, k, v, q, block_size=0)
        self.assertIn("block_size", str(raised.exception))

    def test_shapes_are_checked_before_the_call(self):
        q, k, v = arrays()
        with self.assertRaisesRegex(ValueError, "k and v must have shape"):
            dash.attention(q, k[:, :, :8], v, block_size=8)
        with self.assertRaisesRegex(ValueError, r"w must have shape \[Hkv, D\]"):
            dash.attention(q, k, v, np.zeros((2, 8), np.float32))
        with self.assertRaisesRegex(ValueError, "4-d"):
            dash.attention(q[0], k, v)
        with self.assertRaisesRegex(ValueError, "do must have the shape"):
            dash.attention_backward(q, k, v, q[:, :1], block_size=8)

    def test_types_are_checked(self):
        q, k, v = arrays()
        with self.assertRaisesRegex(TypeError, "k has dtype float64"):
            dash.attention(q, k.astype(np.float64), v)
        with self.assertRaisesRegex(TypeError, "float32 or float64"):
            dash.attention(q.astype(np.int32), k, v)
        with self.assertRaisesRegex(ValueError, "prior must be one of"):
            dash.attention(q, k, v, prior="uniform")

    def test_cuda_unavailable_is_a_dash_error(self):
        try:
            import ctypes
            ctypes.CDLL("libcuda.so.1")
            self.skipTest("the CUDA driver is installed")
        except OSError:
            pass
        context = dash.Context()
        config = dash.make_config(1, 1, 1, 16, 8, dtype="float32",
                                  with_w=False, block_size=8)
        with self.assertRaises(dash.DashError) as raised:
            context.compile(config, dash.TARGET_CUDA)
        self.assertEqual(raised.exception.status, "CUDA_UNAVAILABLE")
        self.assertIn("libcuda.so.1", str(raised.exception))

    def test_missing_library_names_where_it_looked(self):
        env = dict(os.environ, DASH_LIBRARY="/nonexistent/libDashC.so")
        result = subprocess.run([sys.executable, "-c", "import dash"],
                                cwd=os.path.dirname(os.path.dirname(
                                    os.path.abspath(dash.__file__))),
                                env=env, capture_output=True, text=True)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("libDashC.so not found (set DASH_LIBRARY",
                      result.stderr)
        self.assertIn("/nonexistent/libDashC.so", result.stderr)


if __name__ == "__main__":
    unittest.main()
