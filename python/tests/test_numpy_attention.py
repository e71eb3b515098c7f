"""dash.attention and dash.attention_backward on numpy arrays, through
libDashC.so, against the float64 reference of the spec (tests/reference.py):
forward outputs directly, gradients through central differences of the
reference."""

import unittest

import numpy as np

import dash
from tests import reference

TOLERANCE = 1e-4  # Spec section 4: f32 relative L2.


def rel_l2(actual, expected):
    return np.linalg.norm(actual - expected) / np.linalg.norm(expected)


def draw(shape_q, kv_heads, seed, with_w, options, min_margin=1e-3):
    """f32 inputs whose routing decisions are clear of the entmax threshold,
    so that rounding cannot flip a selected-block count."""
    batch, heads, n, d = shape_q
    for attempt in range(50):
        rng = np.random.default_rng(seed + attempt)
        q = rng.standard_normal(shape_q).astype(np.float32)
        k = rng.standard_normal((batch, kv_heads, n, d)).astype(np.float32)
        v = rng.standard_normal((batch, kv_heads, n, d)).astype(np.float32)
        w = ((0.5 * rng.standard_normal((kv_heads, d))).astype(np.float32)
             if with_w else None)
        expected = reference.forward(q, k, v, w, **options)
        if expected[3] >= min_margin:
            return (q, k, v, w), expected
    raise AssertionError("no inputs with a clear margin")


CASES = [
    # (B, H, N, D), Hkv, W, options
    ((1, 4, 40, 16), 2, True, dict(block_size=8, gamma=2.0, prior="raw")),
    ((2, 2, 37, 8), 1, False, dict(block_size=8)),
    ((1, 2, 33, 8), 2, True,
     dict(block_size=4, alpha=2.0, sigma=0.5, local_blocks=1, init_blocks=1,
          scale=0.3)),
    ((1, 3, 5, 8), 3, False, dict(block_size=8)),  # N < block size.
]


class Forward(unittest.TestCase):
    def test_matches_reference(self):
        for index, (shape, kv_heads, with_w, options) in enumerate(CASES):
            with self.subTest(case=index, options=options):
                (q, k, v, w), (out, lse, counts, _) = draw(
                    shape, kv_heads, 10 * index, with_w, options)
                o, l, c = dash.attention(q, k, v, w, return_lse=True,
                                         **options)
                self.assertEqual(o.dtype, np.float32)
                self.assertEqual(o.shape, q.shape)
                self.assertLessEqual(rel_l2(o, out), TOLERANCE)
                self.assertLessEqual(rel_l2(l, lse), TOLERANCE)
                np.testing.assert_array_equal(c, counts)

    def test_float64_and_noncontiguous_inputs(self):
        options = dict(block_size=8, prior="raw")
        (q, k, v, _), (out, _, _, _) = draw((1, 2, 24, 8), 1, 99, False,
                                            options)
        # A transposed view is copied to row-major before the call.
        q_view = np.ascontiguousarray(q.transpose(0, 2, 1, 3)).transpose(
            0, 2, 1, 3)
        self.assertFalse(q_view.flags["C_CONTIGUOUS"])
        o = dash.attention(q_view.astype(np.float64), k.astype(np.float64),
                           v.astype(np.float64), **options)
        self.assertEqual(o.dtype, np.float64)
        # Router math stays f32 for every element type (spec section 4).
        self.assertLessEqual(rel_l2(o, out), TOLERANCE)

    def test_kernels_are_cached(self):
        context = dash.default_context()
        q = np.ones((1, 1, 16, 8), np.float32)
        dash.attention(q, q, q, block_size=8, gamma=3.25)
        cached = context.cached_kernels()
        dash.attention(2 * q, q, q, block_size=8, gamma=3.25)
        self.assertEqual(context.cached_kernels(), cached)
        dash.attention(q, q, q, block_size=8, gamma=3.5)
        self.assertEqual(context.cached_kernels(), cached + 1)


class Backward(unittest.TestCase):
    def test_matches_finite_differences(self):
        # Raw prior: the spec's backward treats the centring term as a
        # constant, so only raw (and flat) gradients are true derivatives.
        options = dict(block_size=4, gamma=2.0, prior="raw")
        (q, k, v, w), _ = draw((1, 2, 14, 4), 1, 5, True, options)
        do = np.random.default_rng(3).standard_normal(q.shape).astype(
            np.float32)
        grads = dash.attention_backward(q, k, v, do, w, **options)

        inputs = [x.astype(np.float64) for x in (q, k, v, w)]

        def loss():
            return (reference.forward(*inputs, **options)[0] * do).sum()

        step = 1e-6
        for name, x, grad in zip("qkvw", inputs, grads):
            numeric = np.zeros_like(x)
            for index in np.ndindex(x.shape):
                saved = x[index]
                x[index] = saved + step
                up = loss()
                x[index] = saved - step
                down = loss()
                x[index] = saved
                numeric[index] = (up - down) / (2 * step)
            with self.subTest(gradient="d" + name):
                self.assertEqual(grad.shape, x.shape)
                self.assertLessEqual(rel_l2(grad, numeric), TOLERANCE)


if __name__ == "__main__":
    unittest.main()
