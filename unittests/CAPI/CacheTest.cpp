//===- CacheTest.cpp - The disk kernel cache of the C API ----------------===//
//
// Kernels compiled in one context are loaded, not compiled, by a fresh
// context (and process) using the same cache directory, and compute the
// same results; broken entries are recompiled; processes compiling the same
// key at once all succeed.
//
//===----------------------------------------------------------------------===//

#include "CAPITestUtils.h"

#include <fstream>
#include <functional>
#include <optional>
#include <spawn.h>
#include <sys/wait.h>

extern char **environ;

using namespace dash;
using namespace dash::capitest;
namespace fs = std::filesystem;

namespace {

DashKernelInfo infoOf(DashKernel kernel, int32_t pass = DASH_PASS_FORWARD) {
  DashKernelInfo info;
  EXPECT_EQ(dashKernelGetInfo(kernel, pass, &info), DASH_STATUS_OK);
  return info;
}

class DiskCache : public CAPI {
protected:
  /// Compiles `config` in a fresh context with this test's cache directory.
  DashKernel compileFresh() {
    DashContext fresh = freshContext();
    DashKernel kernel = nullptr;
    EXPECT_EQ(dashCompile(fresh, &config, DASH_TARGET_CPU, &kernel),
              DASH_STATUS_OK)
        << dashGetLastError(fresh);
    // Kernels outlive their context.
    dashContextDestroy(fresh);
    return kernel;
  }

  /// O of the forward pass of `kernel` on `in`.
  std::vector<float> forward(DashKernel kernel, const Inputs &in) {
    std::vector<float> q = toFloat(in.q), k = toFloat(in.k), v = toFloat(in.v),
                       o(qSize());
    EXPECT_EQ(dashForward(kernel, q.data(), k.data(), v.data(), nullptr,
                          o.data(), nullptr, nullptr, nullptr),
              DASH_STATUS_OK)
        << lastError();
    return o;
  }

  /// dQ, dK and dV of the backward pass of `kernel` for `dO`, concatenated.
  std::vector<float> backward(DashKernel kernel, const Inputs &in,
                              const std::vector<double> &dO) {
    std::vector<float> q = toFloat(in.q), k = toFloat(in.k), v = toFloat(in.v),
                       d = toFloat(dO), grads(qSize() + 2 * kvSize());
    float *dq = grads.data(), *dk = dq + qSize(), *dv = dk + kvSize();
    EXPECT_EQ(dashBackward(kernel, q.data(), k.data(), v.data(), nullptr,
                           d.data(), dq, dk, dv, nullptr, nullptr),
              DASH_STATUS_OK)
        << lastError();
    return grads;
  }
};

TEST_F(DiskCache, AFreshContextLoadsInsteadOfCompiling) {
  Inputs in = drawInputs();
  std::vector<double> dO = random(qSize(), 1.0);
  DashKernel first = nullptr;
  ASSERT_EQ(dashCompile(context, &config, DASH_TARGET_CPU, &first),
            DASH_STATUS_OK)
      << lastError();
  DashKernelInfo cold = infoOf(first);
  EXPECT_EQ(cold.source, DASH_KERNEL_SOURCE_COMPILED);
  EXPECT_GT(cold.compile_ms, 0.0);
  EXPECT_GE(cold.total_ms, cold.compile_ms);
  EXPECT_STREQ(cold.cache_note, "");
  std::string entry = cold.cache_entry;
  ASSERT_TRUE(fs::exists(fs::path(entry) / "kernel.so")) << entry;
  EXPECT_EQ(entry.rfind(cacheDir.path(), 0), 0u) << entry;

  std::vector<float> o = forward(first, in);
  EXPECT_LE(relativeL2(o, in.expected.out), kTolerance);
  EXPECT_EQ(infoOf(first, DASH_PASS_BACKWARD).source, DASH_KERNEL_SOURCE_NONE);
  ASSERT_EQ(dashKernelCompileBackward(first), DASH_STATUS_OK) << lastError();
  DashKernelInfo coldBackward = infoOf(first, DASH_PASS_BACKWARD);
  EXPECT_EQ(coldBackward.source, DASH_KERNEL_SOURCE_COMPILED);
  EXPECT_GT(coldBackward.compile_ms, 0.0);
  EXPECT_NE(std::string(coldBackward.cache_entry), entry);
  std::vector<float> grads = backward(first, in, dO);
  oracle::Gradients expected =
      oracle::backward(oracleConfig(), in.q, in.k, in.v, {}, in.expected, dO);
  EXPECT_LE(
      relativeL2(std::vector<float>(grads.begin(), grads.begin() + qSize()),
                 expected.dq),
      kTolerance);

  // The same context: its memory cache.
  DashKernel again = nullptr;
  ASSERT_EQ(dashCompile(context, &config, DASH_TARGET_CPU, &again),
            DASH_STATUS_OK);
  EXPECT_EQ(infoOf(again).source, DASH_KERNEL_SOURCE_MEMORY_CACHE);
  EXPECT_EQ(infoOf(again).compile_ms, 0.0);
  dashKernelRelease(again);

  // A fresh context: the disk cache, forward and backward, same results.
  DashKernel second = compileFresh();
  ASSERT_NE(second, nullptr);
  DashKernelInfo hit = infoOf(second);
  EXPECT_EQ(hit.source, DASH_KERNEL_SOURCE_DISK_CACHE);
  EXPECT_EQ(hit.compile_ms, 0.0);
  EXPECT_GT(hit.total_ms, 0.0);
  EXPECT_EQ(std::string(hit.cache_entry), entry);
  EXPECT_EQ(forward(second, in), o);
  EXPECT_EQ(backward(second, in, dO), grads);
  EXPECT_EQ(infoOf(second, DASH_PASS_BACKWARD).source,
            DASH_KERNEL_SOURCE_DISK_CACHE);
  dashKernelRelease(first);
  dashKernelRelease(second);
}

TEST_F(DiskCache, BrokenEntriesAreRecompiled) {
  Inputs in = drawInputs();
  DashKernel kernel = nullptr;
  ASSERT_EQ(dashCompile(context, &config, DASH_TARGET_CPU, &kernel),
            DASH_STATUS_OK)
      << lastError();
  fs::path entry = infoOf(kernel).cache_entry;
  std::vector<float> o = forward(kernel, in);
  dashKernelRelease(kernel);

  // Each damage a crash or a full disk may leave, or a bad sector.
  std::vector<std::pair<const char *, std::function<void()>>> damages = {
      {"a flipped byte in kernel.so",
       [&] {
         std::fstream file(entry / "kernel.so",
                           std::ios::in | std::ios::out | std::ios::binary);
         file.seekg(1000);
         char byte = static_cast<char>(file.get() ^ 0x5a);
         file.seekp(1000);
         file.put(byte);
       }},
      {"a truncated manifest",
       [&] { fs::resize_file(entry / "manifest.txt", 20); }},
      {"a missing cache.txt", [&] { fs::remove(entry / "cache.txt"); }},
      {"an empty kernel.so", [&] { fs::resize_file(entry / "kernel.so", 0); }},
  };
  for (auto &[what, damage] : damages) {
    SCOPED_TRACE(what);
    damage();
    DashKernel repaired = compileFresh();
    ASSERT_NE(repaired, nullptr);
    DashKernelInfo info = infoOf(repaired);
    EXPECT_EQ(info.source, DASH_KERNEL_SOURCE_COMPILED);
    EXPECT_NE(std::string(info.cache_note).find("replaced a stale entry"),
              std::string::npos)
        << info.cache_note;
    EXPECT_EQ(fs::path(info.cache_entry), entry);
    EXPECT_EQ(forward(repaired, in), o);
    dashKernelRelease(repaired);
    // Repaired: the next context loads it.
    DashKernel loaded = compileFresh();
    EXPECT_EQ(infoOf(loaded).source, DASH_KERNEL_SOURCE_DISK_CACHE);
    dashKernelRelease(loaded);
  }
}

TEST_F(DiskCache, ProcessesCompilingTheSameKeyAllSucceed) {
  Inputs in = drawInputs();
  std::string inputs = cacheDir.path() + "/inputs.bin";
  {
    std::ofstream file(inputs, std::ios::binary);
    for (const std::vector<double> *values : {&in.q, &in.k, &in.v}) {
      std::vector<float> f = toFloat(*values);
      file.write(reinterpret_cast<const char *>(f.data()),
                 f.size() * sizeof(float));
    }
  }
  std::string cache = cacheDir.path() + "/cache";
  std::vector<pid_t> children;
  for (int i = 0; i < 3; ++i) {
    std::string output = cacheDir.path() + "/o" + std::to_string(i);
    std::vector<std::string> args = {DASH_CACHE_CHILD, cache, inputs, output};
    std::vector<char *> argv;
    for (std::string &arg : args)
      argv.push_back(arg.data());
    argv.push_back(nullptr);
    pid_t pid;
    ASSERT_EQ(posix_spawn(&pid, DASH_CACHE_CHILD, nullptr, nullptr, argv.data(),
                          environ),
              0);
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  }
  std::vector<std::vector<float>> outputs;
  for (int i = 0; i < 3; ++i) {
    std::ifstream file(cacheDir.path() + "/o" + std::to_string(i),
                       std::ios::binary);
    std::vector<float> o(qSize());
    file.read(reinterpret_cast<char *>(o.data()), o.size() * sizeof(float));
    ASSERT_TRUE(file) << "child " << i << " wrote no output";
    EXPECT_LE(relativeL2(o, in.expected.out), kTolerance);
    outputs.push_back(o);
  }
  EXPECT_EQ(outputs[0], outputs[1]);
  EXPECT_EQ(outputs[0], outputs[2]);
  // One entry, no temporary left behind, and it loads.
  std::vector<fs::path> entries;
  for (const fs::directory_entry &e : fs::directory_iterator(cache + "/v1"))
    entries.push_back(e.path());
  EXPECT_EQ(entries.size(), 1u);
  ASSERT_EQ(dashContextSetCacheDir(context, cache.c_str()), DASH_STATUS_OK);
  DashKernel kernel = nullptr;
  ASSERT_EQ(dashCompile(context, &config, DASH_TARGET_CPU, &kernel),
            DASH_STATUS_OK);
  EXPECT_EQ(infoOf(kernel).source, DASH_KERNEL_SOURCE_DISK_CACHE);
  EXPECT_EQ(forward(kernel, in), outputs[0]);
  dashKernelRelease(kernel);
}

TEST_F(DiskCache, KeysSeparateConfigurations) {
  DashKernel first = nullptr, second = nullptr;
  ASSERT_EQ(dashCompile(context, &config, DASH_TARGET_CPU, &first),
            DASH_STATUS_OK);
  config.gamma = std::nextafter(config.gamma, 3.0);
  DashKernel fresh = compileFresh();
  EXPECT_EQ(infoOf(fresh).source, DASH_KERNEL_SOURCE_COMPILED);
  EXPECT_NE(std::string(infoOf(fresh).cache_entry),
            std::string(infoOf(first).cache_entry));
  config.gamma = 2.0;
  second = compileFresh();
  EXPECT_EQ(infoOf(second).source, DASH_KERNEL_SOURCE_DISK_CACHE);
  for (DashKernel kernel : {first, second, fresh})
    dashKernelRelease(kernel);
}

TEST_F(DiskCache, CanBeDisabledOrUnwritable) {
  ASSERT_EQ(dashContextSetCacheDir(context, nullptr), DASH_STATUS_OK);
  EXPECT_STREQ(dashContextGetCacheDir(context), "");
  DashKernel kernel = nullptr;
  ASSERT_EQ(dashCompile(context, &config, DASH_TARGET_CPU, &kernel),
            DASH_STATUS_OK);
  DashKernelInfo info = infoOf(kernel);
  EXPECT_EQ(info.source, DASH_KERNEL_SOURCE_COMPILED);
  EXPECT_GT(info.compile_ms, 0.0);
  EXPECT_STREQ(info.cache_entry, "");
  EXPECT_STREQ(info.cache_note, "the disk cache is disabled");
  dashKernelRelease(kernel);
  EXPECT_TRUE(fs::is_empty(cacheDir.path()));

  // A directory that cannot be created: compiled in memory all the same.
  std::string blocked = cacheDir.path() + "/file";
  std::ofstream(blocked) << "not a directory";
  ASSERT_EQ(dashContextSetCacheDir(context, (blocked + "/cache").c_str()),
            DASH_STATUS_OK);
  config.gamma = 3.0;
  ASSERT_EQ(dashCompile(context, &config, DASH_TARGET_CPU, &kernel),
            DASH_STATUS_OK)
      << lastError();
  info = infoOf(kernel);
  EXPECT_EQ(info.source, DASH_KERNEL_SOURCE_COMPILED);
  EXPECT_STREQ(info.cache_entry, "");
  EXPECT_NE(std::string(info.cache_note)
                .find("not stored on disk: cannot "
                      "create"),
            std::string::npos)
      << info.cache_note;
  dashKernelRelease(kernel);
}

TEST(DiskCacheDefaults, FollowTheEnvironment) {
  // The variables as the test found them, restored at the end.
  std::vector<std::pair<const char *, std::optional<std::string>>> saved;
  for (const char *name : {"DASH_CACHE_DIR", "XDG_CACHE_HOME", "HOME"}) {
    const char *value = getenv(name);
    saved.emplace_back(name, value ? std::optional<std::string>(value)
                                   : std::nullopt);
  }
  auto directoryOfNewContext = [] {
    DashContext context = nullptr;
    EXPECT_EQ(dashContextCreate(&context), DASH_STATUS_OK);
    std::string directory = dashContextGetCacheDir(context);
    dashContextDestroy(context);
    return directory;
  };
  setenv("DASH_CACHE_DIR", "/tmp/dash-a", 1);
  setenv("XDG_CACHE_HOME", "/tmp/xdg", 1);
  setenv("HOME", "/tmp/home", 1);
  EXPECT_EQ(directoryOfNewContext(), "/tmp/dash-a");
  setenv("DASH_CACHE_DIR", "", 1);
  EXPECT_EQ(directoryOfNewContext(), "");
  unsetenv("DASH_CACHE_DIR");
  EXPECT_EQ(directoryOfNewContext(), "/tmp/xdg/dash");
  unsetenv("XDG_CACHE_HOME");
  EXPECT_EQ(directoryOfNewContext(), "/tmp/home/.cache/dash");
  unsetenv("HOME");
  EXPECT_EQ(directoryOfNewContext(), "");
  for (auto &[name, value] : saved)
    if (value)
      setenv(name, value->c_str(), 1);
    else
      unsetenv(name);
}

TEST(DiskCacheVersion, NamesTheCompilerBuild) {
  std::string version = dashGetVersion();
  EXPECT_EQ(version.rfind("dash ", 0), 0u) << version;
  EXPECT_NE(version.find(" commit "), std::string::npos) << version;
  EXPECT_NE(version.find(" llvm 22."), std::string::npos) << version;
}

} // namespace
