//===- KernelCacheTest.cpp - Keys of the disk kernel cache ---------------===//
//
// Every field of an attention configuration, the pass, the target and the
// compiler build are part of the key: changing any one gives another entry.
//
//===----------------------------------------------------------------------===//

#include "dash/JIT/KernelCache.h"
#include "dash/JIT/Aot.h"
#include "dash/Runtime/Artifact.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Program.h"

#include "gtest/gtest.h"

#include <cmath>
#include <dlfcn.h>
#include <functional>
#include <set>

using namespace dash;

namespace {

TEST(KernelCacheKey, CoversEveryFieldPassAndTarget) {
  AttentionConfig base;
  CompileOptions cpu;
  std::vector<std::pair<const char *, std::function<void(AttentionConfig &)>>>
      changes = {
          {"batch", [](AttentionConfig &c) { c.batch = 2; }},
          {"heads", [](AttentionConfig &c) { c.heads = 2; }},
          {"kv heads", [](AttentionConfig &c) { c.kvHeads = 2; }},
          {"sequence length", [](AttentionConfig &c) { c.seqLen = 65; }},
          {"head dim", [](AttentionConfig &c) { c.headDim = 32; }},
          {"block size", [](AttentionConfig &c) { c.blockSize = 32; }},
          // One ulp: values that print alike are other kernels.
          {"alpha",
           [](AttentionConfig &c) { c.alpha = std::nextafter(c.alpha, 2.0); }},
          {"gamma",
           [](AttentionConfig &c) { c.gamma = std::nextafter(c.gamma, 2.0); }},
          {"sigma",
           [](AttentionConfig &c) { c.sigma = std::nextafter(c.sigma, 2.0); }},
          {"prior", [](AttentionConfig &c) { c.prior = Prior::Raw; }},
          {"local blocks", [](AttentionConfig &c) { c.localBlocks = 1; }},
          {"init blocks", [](AttentionConfig &c) { c.initBlocks = 1; }},
          {"scale", [](AttentionConfig &c) { c.scale = 0.3; }},
          {"summary query",
           [](AttentionConfig &c) { c.withSummaryQuery = true; }},
          {"router grad", [](AttentionConfig &c) { c.routerGrad = false; }},
          {"dtype", [](AttentionConfig &c) { c.dtype = ElementType::BF16; }},
      };
  std::set<std::string> keys = {attentionCacheKey(base, false, cpu)};
  for (auto &[field, change] : changes) {
    AttentionConfig changed = base;
    change(changed);
    EXPECT_TRUE(keys.insert(attentionCacheKey(changed, false, cpu)).second)
        << field << " is not part of the key";
  }
  // The explicit default scale is another function than the unset one.
  AttentionConfig explicitScale = base;
  explicitScale.scale = 1.0 / 8;
  EXPECT_TRUE(keys.insert(attentionCacheKey(explicitScale, false, cpu)).second);
  EXPECT_TRUE(keys.insert(attentionCacheKey(base, true, cpu)).second)
      << "forward and backward share a key";
  CompileOptions cuda;
  cuda.target = Target::Cuda;
  EXPECT_TRUE(keys.insert(attentionCacheKey(base, false, cuda)).second);
  cuda.chip = "sm_80";
  EXPECT_TRUE(keys.insert(attentionCacheKey(base, false, cuda)).second);
  cuda.features = "+ptx70";
  EXPECT_TRUE(keys.insert(attentionCacheKey(base, false, cuda)).second);
  // Deterministic, and naming the compiler build.
  std::string key = attentionCacheKey(base, false, cpu);
  EXPECT_EQ(key, attentionCacheKey(base, false, cpu));
  EXPECT_EQ(key.rfind(compilerIdentity(), 0), 0u) << key;
  EXPECT_NE(compilerIdentity().find(" llvm "), std::string::npos);
}

TEST(KernelCacheKey, EntriesAreDirectoriesOfTheCache) {
  DiskCache cache("/tmp/some-cache");
  AttentionConfig config;
  std::string entry =
      cache.entryDirectory(attentionCacheKey(config, false, {}));
  EXPECT_EQ(entry.rfind("/tmp/some-cache/v1/", 0), 0u) << entry;
  EXPECT_EQ(entry.size(), std::string("/tmp/some-cache/v1/").size() + 32);
  EXPECT_FALSE(DiskCache().enabled());
}

// A CUDA artifact (built here without a GPU: ptxas assembles the cubins)
// calls the runtime only through the slots the loader binds, and runs its
// constructors (which load the cubins) only from __dash_init: it loads into
// a process that exports no mgpu* symbol, such as Python with ctypes.
TEST(AotArtifact, CudaArtifactsImportTheRuntimeThroughSlots) {
  if (!llvm::sys::findProgramByName("ptxas") &&
      !llvm::sys::fs::exists("/usr/local/cuda/bin/ptxas"))
    GTEST_SKIP() << "no CUDA toolkit (ptxas)";
  if (!llvm::sys::findProgramByName("c++"))
    GTEST_SKIP() << "no C++ compiler driver to link kernel.so";
  llvm::SmallString<128> directory;
  ASSERT_FALSE(
      llvm::sys::fs::createUniqueDirectory("dash-aot-cuda", directory));
  AttentionConfig config;
  config.seqLen = 32;
  config.headDim = 16;
  config.blockSize = 16;
  CompileOptions options;
  options.target = Target::Cuda;
  ASSERT_FALSE(
      llvm::errorToBool(writeAttentionAot(config, false, options, directory)));

  auto text = llvm::MemoryBuffer::getFile(directory + "/manifest.txt");
  ASSERT_TRUE(text);
  aot::Manifest manifest;
  ASSERT_EQ(
      aot::parseManifest((*text)->getBuffer().str(), "manifest.txt", manifest),
      "");
  EXPECT_TRUE(manifest.cuda);
  EXPECT_EQ(manifest.chip, "sm_90a");
  auto imports = [&](const char *name) {
    return llvm::is_contained(manifest.imports, name);
  };
  EXPECT_TRUE(imports("mgpuLaunchKernel"));
  EXPECT_TRUE(imports("mgpuModuleGetFunction"));
  EXPECT_TRUE(imports("mgpuModuleLoad") || imports("mgpuModuleLoadJIT"));

  // Every undefined symbol resolves in this process, which exports no
  // mgpu* function; loading runs no constructor.
  std::string library = (directory + "/kernel.so").str();
  void *handle = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(handle, nullptr) << dlerror();
  for (const std::string &name : manifest.imports) {
    auto **slot =
        static_cast<void **>(dlsym(handle, ("__dash_import_" + name).c_str()));
    ASSERT_NE(slot, nullptr) << name;
    EXPECT_EQ(*slot, nullptr) << name << " was bound before the loader ran";
    EXPECT_EQ(dlsym(handle, name.c_str()), nullptr)
        << name << " is exported by kernel.so";
  }
  EXPECT_NE(dlsym(handle, "__dash_init"), nullptr);
  EXPECT_NE(dlsym(handle, "__dash_fini"), nullptr);
  EXPECT_NE(dlsym(handle, manifest.entry.c_str()), nullptr);
  dlclose(handle);
  llvm::sys::fs::remove_directories(directory);
}

} // namespace
