"""Runs the Python package of an install tree (PYTHONPATH=<prefix>/python,
no DASH_LIBRARY): it must load <prefix>/lib/libDashC.so by itself and
compute an attention that matches the float64 reference of the source
tree's tests. argv: <prefix> <source root>."""

import os
import sys

import numpy as np

prefix, source_root = sys.argv[1], sys.argv[2]
import dash  # noqa: E402

sys.path.insert(0, os.path.join(source_root, "python"))
from tests import reference  # noqa: E402

assert "DASH_LIBRARY" not in os.environ
package = os.path.realpath(dash.__file__)
library = os.path.realpath(dash._capi.lib._name)
print("package", package)
print("library", library)
assert package.startswith(os.path.realpath(prefix)), package
assert library == os.path.realpath(os.path.join(prefix, "lib",
                                                "libDashC.so")), library
rng = np.random.default_rng(0)
q = rng.standard_normal((1, 2, 24, 8)).astype(np.float32)
k = rng.standard_normal((1, 1, 24, 8)).astype(np.float32)
v = rng.standard_normal((1, 1, 24, 8)).astype(np.float32)
o = dash.attention(q, k, v, block_size=8, prior="flat")
expected = reference.forward(q, k, v, block_size=8, prior="flat")[0]
error = np.linalg.norm(o - expected) / np.linalg.norm(expected)
print(f"rel_l2 {error:.3e}")
assert error <= 1e-4, error
print("installed python: OK")
