//===- KernelCache.h - Compiled functions cached on disk ---------*- C++
//-*-===//
//
// A cache of compiled functions shared by processes: each entry is an
// ahead-of-time artifact (dash/JIT/Aot.h: kernel.so + manifest.txt) in
// <directory>/v1/<hash of the key>/, with cache.txt holding the full key and
// the size and checksum of both files. A key names everything the code
// depends on: the function (an attention configuration, forward or gradient,
// or the source text and entry), the target (the host CPU and its features,
// or the CUDA chip and PTX features) and the compiler (Dash version, git
// commit, LLVM version).
//
// Entries are written into a unique temporary directory next to them and
// renamed into place, so a reader sees a whole entry or none and processes
// compiling the same key at once all succeed. An entry that fails its
// checks (a partial write, a corrupted file) is recompiled and replaced.
//
//===----------------------------------------------------------------------===//

#ifndef DASH_JIT_KERNELCACHE_H
#define DASH_JIT_KERNELCACHE_H

#include "dash/JIT/CpuFunction.h"

#include "llvm/ADT/STLFunctionalExtras.h"

namespace dash {

/// This build of the compiler: "dash <version> commit <git commit> llvm
/// <version>"; the commit carries a hash of uncommitted changes to the
/// compiler's sources when there were any at build time.
const std::string &compilerIdentity();

/// How a function was obtained.
struct CompileInfo {
  enum class Source { Compiled, MemoryCache, DiskCache };
  Source source = Source::Compiled;
  /// Milliseconds spent compiling (lowering, code generation, linking); 0
  /// when the function came from a cache.
  double compileMs = 0;
  /// Milliseconds from the request to a callable function: compiling,
  /// storing and loading it, or finding, checking and loading a disk entry.
  double totalMs = 0;
  /// The disk cache entry the function is stored in or was loaded from;
  /// empty when it is not on disk.
  std::string entry;
  /// Why the disk cache was not used, or what was wrong with a stale entry
  /// that was replaced; empty when nothing was.
  std::string note;
};

/// A directory of cached functions; an empty directory disables the cache.
class DiskCache {
public:
  explicit DiskCache(std::string directory = "") : root(std::move(directory)) {}

  /// $DASH_CACHE_DIR when set, else $XDG_CACHE_HOME/dash, else
  /// $HOME/.cache/dash; empty when none of them is set.
  static std::string defaultDirectory();

  const std::string &directory() const { return root; }
  bool enabled() const { return !root.empty(); }

  /// The function stored under `key`; on a miss, the artifact that
  /// `writeArtifact` writes into the directory it is given, stored and then
  /// loaded. When the cache is disabled or cannot be written (no directory,
  /// no linker), `compileInMemory` compiles the function instead, and
  /// `info.note` says why.
  llvm::Expected<std::unique_ptr<CpuFunction>> getOrCompile(
      llvm::StringRef key,
      llvm::function_ref<llvm::Error(llvm::StringRef directory)> writeArtifact,
      llvm::function_ref<llvm::Expected<std::unique_ptr<CpuFunction>>()>
          compileInMemory,
      CompileInfo &info) const;

  /// Where the entry of `key` lives.
  std::string entryDirectory(llvm::StringRef key) const;

private:
  std::string root;
};

/// The key of the attention function of `config` (of its gradient function
/// when `gradient` is set) for `options`.
std::string attentionCacheKey(const AttentionConfig &config, bool gradient,
                              const CompileOptions &options);

/// Compiles the attention (or gradient) function of `config` through
/// `cache`.
llvm::Expected<std::unique_ptr<CpuFunction>>
compileAttentionCached(const AttentionConfig &config, bool gradient,
                       const CompileOptions &options, const DiskCache &cache,
                       CompileInfo &info);

/// Compiles function `entry` of MLIR source text through `cache`, keyed by
/// the text.
llvm::Expected<std::unique_ptr<CpuFunction>>
compileSourceCached(llvm::StringRef source, llvm::StringRef entry,
                    const CompileOptions &options, const DiskCache &cache,
                    CompileInfo &info);

} // namespace dash

#endif // DASH_JIT_KERNELCACHE_H
