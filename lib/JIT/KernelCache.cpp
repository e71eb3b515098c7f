//===- KernelCache.cpp - Compiled functions cached on disk ---------------===//

#include "dash/JIT/KernelCache.h"
#include "Lowering.h"
#include "dash/JIT/Aot.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/bit.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/SHA256.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Support/xxhash.h"
#include "llvm/TargetParser/Host.h"

#include "DashVersion.inc"

#include <chrono>
#include <cstdlib>

namespace fs = llvm::sys::fs;

namespace dash {

const std::string &compilerIdentity() {
  static const std::string identity =
      std::string("dash ") + DASH_VERSION_STRING + " commit " +
      DASH_GIT_COMMIT + " llvm " + LLVM_VERSION_STRING;
  return identity;
}

std::string DiskCache::defaultDirectory() {
  // Set but empty disables the cache.
  if (const char *dir = std::getenv("DASH_CACHE_DIR"))
    return dir;
  for (auto [variable, suffix] : {std::pair{"XDG_CACHE_HOME", "/dash"},
                                  std::pair{"HOME", "/.cache/dash"}})
    if (const char *dir = std::getenv(variable); dir && *dir)
      return std::string(dir) + suffix;
  return "";
}

static std::string hexDigest(llvm::StringRef text) {
  return llvm::toHex(llvm::SHA256::hash(llvm::arrayRefFromStringRef(text)),
                     /*LowerCase=*/true);
}

std::string DiskCache::entryDirectory(llvm::StringRef key) const {
  llvm::SmallString<256> path(root);
  llvm::sys::path::append(path, "v1", hexDigest(key).substr(0, 32));
  return path.str().str();
}

/// The text of cache.txt for the files now in `directory`: the key, then
/// the size and checksum of each file of the artifact.
static llvm::Expected<std::string> cacheRecord(llvm::StringRef directory,
                                               llvm::StringRef key) {
  std::string record = "dash-cache 1\nkey " + key.str() + "\n";
  for (const char *name : {"kernel.so", "manifest.txt"}) {
    llvm::SmallString<256> path(directory);
    llvm::sys::path::append(path, name);
    auto file = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
    if (!file)
      return llvm::createStringError("cannot read " + path + ": " +
                                     file.getError().message());
    llvm::StringRef bytes = (*file)->getBuffer();
    record += llvm::formatv("file {0} {1} {2:x16}\n", name, bytes.size(),
                            llvm::xxh3_64bits(bytes))
                  .str();
  }
  return record;
}

/// Empty when the entry in `directory` is whole and holds `key`, else what
/// is wrong with it.
static std::string checkEntry(llvm::StringRef directory, llvm::StringRef key) {
  llvm::SmallString<256> path(directory);
  llvm::sys::path::append(path, "cache.txt");
  auto stored = llvm::MemoryBuffer::getFile(path);
  if (!stored)
    return "cannot read " + path.str().str() + ": " +
           stored.getError().message();
  llvm::Expected<std::string> expected = cacheRecord(directory, key);
  if (!expected)
    return llvm::toString(expected.takeError());
  llvm::SmallVector<llvm::StringRef> want, have;
  llvm::StringRef(*expected).split(want, '\n');
  (*stored)->getBuffer().split(have, '\n');
  for (size_t i = 0; i < want.size(); ++i)
    if (i >= have.size() || want[i] != have[i])
      return (path + ": expected '" + want[i] + "', found '" +
              (i < have.size() ? have[i] : "") + "'")
          .str();
  return have.size() == want.size() ? "" : path.str().str() + ": extra lines";
}

static llvm::Error writeFile(llvm::StringRef path, llvm::StringRef text) {
  std::error_code ec;
  llvm::raw_fd_ostream out(path, ec);
  if (!ec) {
    out << text;
    out.close();
    ec = out.error();
  }
  return ec ? llvm::createStringError("cannot write " + path + ": " +
                                      ec.message())
            : llvm::Error::success();
}

llvm::Expected<std::unique_ptr<CpuFunction>> DiskCache::getOrCompile(
    llvm::StringRef key,
    llvm::function_ref<llvm::Error(llvm::StringRef directory)> writeArtifact,
    llvm::function_ref<llvm::Expected<std::unique_ptr<CpuFunction>>()>
        compileInMemory,
    CompileInfo &info) const {
  using Clock = std::chrono::steady_clock;
  auto start = Clock::now();
  auto millisSince = [](Clock::time_point from) {
    return std::chrono::duration<double, std::milli>(Clock::now() - from)
        .count();
  };
  info = CompileInfo();
  auto inMemory =
      [&](std::string note) -> llvm::Expected<std::unique_ptr<CpuFunction>> {
    info.note = std::move(note);
    auto function = compileInMemory();
    if (!function)
      return function.takeError();
    info.compileMs = (*function)->compileSeconds() * 1000;
    info.totalMs = millisSince(start);
    return function;
  };
  if (!enabled())
    return inMemory("the disk cache is disabled");

  std::string entry = entryDirectory(key);
  std::string stale;
  if (fs::exists(entry)) {
    stale = checkEntry(entry, key);
    if (stale.empty()) {
      auto function = CpuFunction::load(entry);
      if (function) {
        info.source = CompileInfo::Source::DiskCache;
        info.entry = entry;
        info.totalMs = millisSince(start);
        return function;
      }
      stale = llvm::toString(function.takeError());
    }
  }

  if (!llvm::sys::findProgramByName("c++"))
    return inMemory("not stored on disk: linking kernel.so needs a C++ "
                    "compiler driver (c++) on PATH");
  llvm::StringRef parent = llvm::sys::path::parent_path(entry);
  llvm::SmallString<256> temporary;
  if (std::error_code ec = fs::create_directories(parent))
    return inMemory("not stored on disk: cannot create " + parent.str() + ": " +
                    ec.message());
  // In the cache directory, so that the rename stays on one file system.
  if (std::error_code ec = fs::createUniqueDirectory(
          entry + ".tmp-" + std::to_string(llvm::sys::Process::getProcessId()),
          temporary))
    return inMemory("not stored on disk: cannot create a directory in " +
                    parent.str() + ": " + ec.message());
  auto discard = [](llvm::StringRef directory) {
    (void)fs::remove_directories(directory);
  };

  auto compileStart = Clock::now();
  llvm::Error written = writeArtifact(temporary);
  double compileMs = millisSince(compileStart);
  llvm::Expected<std::string> record =
      written ? llvm::Expected<std::string>(std::move(written))
              : cacheRecord(temporary, key);
  if (record) {
    llvm::SmallString<256> path(temporary);
    llvm::sys::path::append(path, "cache.txt");
    if (llvm::Error error = writeFile(path, *record))
      record = std::move(error);
  }
  if (!record) {
    discard(temporary);
    // A compile error comes back from the in-memory compiler too.
    return inMemory("not stored on disk: " +
                    llvm::toString(record.takeError()));
  }

  // Publish. A failed rename means an entry is in the way: one another
  // process just published (use it), or a stale one (move it aside).
  std::string published = entry;
  if (fs::rename(temporary, entry)) {
    if (checkEntry(entry, key).empty()) {
      discard(temporary);
    } else {
      std::string aside = (temporary + ".stale").str();
      bool moved = !fs::rename(entry, aside) && !fs::rename(temporary, entry);
      discard(aside);
      if (!moved && !checkEntry(entry, key).empty())
        published = temporary.str().str();
      else if (!moved)
        discard(temporary);
    }
  }
  auto function = CpuFunction::load(published);
  if (published != entry)
    discard(published); // Loaded libraries stay mapped.
  if (!function)
    return inMemory("not stored on disk: " +
                    llvm::toString(function.takeError()));
  info.compileMs = compileMs;
  info.totalMs = millisSince(start);
  if (published == entry)
    info.entry = entry;
  if (!stale.empty())
    info.note = "replaced a stale entry: " + stale;
  return function;
}

static std::string targetKey(const CompileOptions &options) {
  if (options.target == Target::Cuda)
    return "cuda " + options.chip + " " + options.features;
  return llvm::formatv("cpu {0} features-{1:x16}", llvm::sys::getHostCPUName(),
                       llvm::xxh3_64bits(hostCpuFeatures()))
      .str();
}

/// Doubles by their bits: two values that print alike differ in code.
static std::string bits(double value) {
  return llvm::formatv("{0:x16}", llvm::bit_cast<uint64_t>(value)).str();
}

std::string attentionCacheKey(const AttentionConfig &c, bool gradient,
                              const CompileOptions &options) {
  return llvm::formatv(
             "{0} | {1} | {2} B={3} H={4} Hkv={5} N={6} D={7} block={8} "
             "alpha={9} gamma={10} sigma={11} prior={12} dtype={13} "
             "local={14} init={15} scale={16} w={17} router_grad={18}",
             compilerIdentity(), targetKey(options),
             gradient ? "attention_grad" : "attention", c.batch, c.heads,
             c.kvHeads, c.seqLen, c.headDim, c.blockSize, bits(c.alpha),
             bits(c.gamma), bits(c.sigma), priorName(c.prior),
             elementTypeName(c.dtype), c.localBlocks, c.initBlocks,
             c.scale ? bits(*c.scale) : std::string("default"),
             c.withSummaryQuery ? 1 : 0, c.routerGrad ? 1 : 0)
      .str();
}

llvm::Expected<std::unique_ptr<CpuFunction>>
compileAttentionCached(const AttentionConfig &config, bool gradient,
                       const CompileOptions &options, const DiskCache &cache,
                       CompileInfo &info) {
  return cache.getOrCompile(
      attentionCacheKey(config, gradient, options),
      [&](llvm::StringRef directory) {
        return writeAttentionAot(config, gradient, options, directory);
      },
      [&] {
        return gradient ? CpuFunction::compileAttentionGrad(config, options)
                        : CpuFunction::compileAttention(config, options);
      },
      info);
}

llvm::Expected<std::unique_ptr<CpuFunction>>
compileSourceCached(llvm::StringRef source, llvm::StringRef entry,
                    const CompileOptions &options, const DiskCache &cache,
                    CompileInfo &info) {
  std::string key =
      llvm::formatv("{0} | {1} | source {2} entry {3}", compilerIdentity(),
                    targetKey(options), hexDigest(source), entry)
          .str();
  return cache.getOrCompile(
      key,
      [&](llvm::StringRef directory) -> llvm::Error {
        std::unique_ptr<mlir::MLIRContext> context = createCompilerContext();
        DiagnosticCollector diagnostics(context.get());
        // The lexer reads one byte past the buffer: it must be NUL.
        std::string text = source.str();
        mlir::OwningOpRef<mlir::ModuleOp> module =
            mlir::parseSourceString<mlir::ModuleOp>(text, context.get());
        if (!module)
          return diagnostics.error("cannot parse the MLIR source");
        return writeAotArtifact(*module, entry, options, directory);
      },
      [&] { return CpuFunction::compileSource(source, entry, options); }, info);
}

} // namespace dash
