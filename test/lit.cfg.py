# lit configuration for Dash. Each test file is also a ctest entry (see
# test/CMakeLists.txt), so ctest's summary counts lit tests.
import os

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "Dash"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.excludes = ["Inputs", "CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.dash_obj_root, "test")

config.substitutions.append(("%dash_src_root", config.dash_src_root))
config.substitutions.append(("%dash_obj_root", config.dash_obj_root))
# The mlir-opt plugins (test/Plugins): loaded by Debian's own mlir-opt.
config.substitutions.append(
    ("%dash_plugin_dir", os.path.join(config.dash_obj_root, "lib")))
# dash-run caches compiled kernels on disk: in the build tree, never in the
# user's home (tests of the cache itself pass --cache-dir).
config.environment["DASH_CACHE_DIR"] = os.path.join(
    config.dash_obj_root, "test-cache")
llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
llvm_config.add_tool_substitutions(
    ["dash-opt", "dash-run", "dash-aot-run"], [config.dash_tools_dir, config.llvm_tools_dir])
llvm_config.add_tool_substitutions(["mlir-opt"], [config.llvm_tools_dir])

# GPU-only tests say `REQUIRES: cuda-driver`; tests of the driver-less error
# paths say `UNSUPPORTED: cuda-driver`.
try:
    import ctypes

    ctypes.CDLL("libcuda.so.1")
    config.available_features.add("cuda-driver")
except OSError:
    pass

# Tests that assemble cubins need the CUDA toolkit's ptxas.
import shutil

ptxas = shutil.which("ptxas") or "/usr/local/cuda/bin/ptxas"
if os.path.exists(ptxas):
    config.available_features.add("ptxas")
    config.substitutions.append(("%ptxas", ptxas))
