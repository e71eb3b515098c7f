"""The disk kernel cache from Python: a second process with the same cache
directory loads the kernel instead of compiling it (dash.last_compile_info
says so) and gets the same results; processes racing on one key all
succeed; the cache can be disabled. Every test uses a temporary
directory."""

import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np

import dash

# Runs one attention with the cache in argv[1] and saves O to argv[2].
CHILD = """
import sys
import numpy as np
import dash
dash.default_context().set_cache_dir(sys.argv[1])
rng = np.random.default_rng(0)
q = rng.standard_normal((1, 2, 32, 8)).astype(np.float32)
o = dash.attention(q, q[:, :1], q[:, :1], block_size=8, gamma=1.75)
np.save(sys.argv[2], o)
info = dash.last_compile_info()
print(info["source"], info["compile_ms"], info["total_ms"])
"""

PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(
    dash.__file__)))


def run_children(cache, outputs):
    """Starts one child per output file at once; returns their stdout."""
    children = [subprocess.Popen([sys.executable, "-c", CHILD, cache, out],
                                 cwd=PACKAGE_ROOT, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
                for out in outputs]
    results = []
    for child in children:
        stdout, stderr = child.communicate(timeout=300)
        if child.returncode != 0:
            raise AssertionError(f"child failed: {stderr}")
        results.append(stdout.split())
    return results


class DiskCache(unittest.TestCase):
    def setUp(self):
        self.directory = tempfile.TemporaryDirectory(prefix="dash-cache-")
        self.addCleanup(self.directory.cleanup)

    def test_second_process_loads_from_disk(self):
        cache = os.path.join(self.directory.name, "cache")
        first = os.path.join(self.directory.name, "first.npy")
        second = os.path.join(self.directory.name, "second.npy")
        (source, compile_ms, total_ms), = run_children(cache, [first])
        self.assertEqual(source, "compiled")
        self.assertGreater(float(compile_ms), 0.0)
        (source, compile_ms, total_ms), = run_children(cache, [second])
        self.assertEqual(source, "disk")
        self.assertEqual(float(compile_ms), 0.0)
        self.assertGreater(float(total_ms), 0.0)
        np.testing.assert_array_equal(np.load(first), np.load(second))

    def test_concurrent_processes_all_succeed(self):
        cache = os.path.join(self.directory.name, "cache")
        outputs = [os.path.join(self.directory.name, f"o{i}.npy")
                   for i in range(3)]
        results = run_children(cache, outputs)
        for out in outputs[1:]:
            np.testing.assert_array_equal(np.load(out), np.load(outputs[0]))
        for source, *_ in results:
            self.assertIn(source, ("compiled", "disk"))
        entries = os.listdir(os.path.join(cache, "v1"))
        self.assertEqual(len(entries), 1, entries)  # No temporaries left.

    def test_info_and_disabling(self):
        context = dash.Context()
        context.set_cache_dir(self.directory.name)
        self.assertEqual(context.cache_dir, self.directory.name)
        config = dash.make_config(1, 1, 1, 16, 8, dtype="float32",
                                  with_w=False, block_size=8, gamma=1.25)
        kernel = context.compile(config)
        info = kernel.info()
        self.assertEqual(info["source"], "compiled")
        self.assertTrue(info["cache_entry"].startswith(self.directory.name))
        self.assertEqual(kernel.info("backward")["source"], "none")
        kernel.compile_backward()
        self.assertEqual(kernel.info("backward")["source"], "compiled")
        self.assertEqual(context.compile(config).info()["source"], "memory")

        context = dash.Context()
        context.set_cache_dir(None)
        self.assertEqual(context.cache_dir, "")
        info = context.compile(config).info()
        self.assertEqual(info["source"], "compiled")
        self.assertEqual(info["cache_note"], "the disk cache is disabled")
        with self.assertRaisesRegex(ValueError, "pass must be"):
            kernel.info("sideways")

    def test_version_names_the_build(self):
        self.assertRegex(dash.version(), r"^dash \S+ commit \S+ llvm 22\.")


if __name__ == "__main__":
    unittest.main()
