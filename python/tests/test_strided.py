"""Strided numpy views go to the C API as they are (dashForwardStrided /
dashBackwardStrided): transposed views give exactly the results of
contiguous copies, which match the float64 reference."""

import unittest

import numpy as np

import dash
from tests import reference
from tests.test_numpy_attention import draw, rel_l2, TOLERANCE


def token_major(x):
    """x [B, X, N, D] as a view of [B, N, X, D] storage."""
    return np.ascontiguousarray(x.transpose(0, 2, 1, 3)).transpose(0, 2, 1, 3)


def feature_major(x):
    """x [B, X, N, D] as a view of [B, X, D, N] storage (D stride N)."""
    return np.ascontiguousarray(x.transpose(0, 1, 3, 2)).transpose(0, 1, 3, 2)


class Strided(unittest.TestCase):
    def test_views_are_passed_with_their_strides(self):
        q = token_major(np.zeros((1, 2, 8, 4), np.float32))
        self.assertEqual(dash.element_strides(q), (64, 4, 8, 1))
        self.assertIsNone(dash.element_strides(np.zeros((1, 2, 8, 4))))
        broadcast = np.broadcast_to(np.zeros((1, 1, 8, 4)), (1, 2, 8, 4))
        self.assertIsNone(dash.element_strides(broadcast))  # Copied.
        self.assertIsNone(dash.element_strides(q[:, :, ::-1]))  # Copied.

    def test_forward_and_backward_match_contiguous_calls(self):
        options = dict(block_size=8, gamma=2.0, prior="raw")
        (q, k, v, w), (out, lse, counts, _) = draw((1, 4, 40, 16), 2, 21, True,
                                                   options)
        do = np.random.default_rng(4).standard_normal(q.shape).astype(
            np.float32)
        o, l, c = dash.attention(q, k, v, w, return_lse=True, **options)
        self.assertLessEqual(rel_l2(o, out), TOLERANCE)
        grads = dash.attention_backward(q, k, v, do, w, **options)
        for layout in (token_major, feature_major):
            with self.subTest(layout=layout.__name__):
                views = [layout(x) for x in (q, k, v, do)]
                self.assertFalse(views[0].flags["C_CONTIGUOUS"])
                o2, l2, c2 = dash.attention(*views[:3], w, return_lse=True,
                                            **options)
                np.testing.assert_array_equal(o2, o)
                np.testing.assert_array_equal(l2, l)
                np.testing.assert_array_equal(c2, c)
                grads2 = dash.attention_backward(*views, w, **options)
                for expected, actual in zip(grads, grads2):
                    np.testing.assert_array_equal(actual, expected)
        # The reference agrees with the contiguous call.
        np.testing.assert_array_equal(c, counts)
        self.assertLessEqual(rel_l2(l, lse), TOLERANCE)


if __name__ == "__main__":
    unittest.main()
