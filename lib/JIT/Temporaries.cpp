//===- Temporaries.cpp - Buffers compiled code allocates -----------------===//

#include "Temporaries.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Interfaces/DataLayoutInterfaces.h"
#include "mlir/Pass/Pass.h"
#include "llvm/Support/FormatVariadic.h"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <limits>
#include <mutex>

using namespace mlir;

namespace dash {

namespace {
constexpr uint64_t kOverflow = std::numeric_limits<uint64_t>::max();

class TemporaryCounter : public PassInstrumentation {
public:
  explicit TemporaryCounter(Temporaries &result) : result(result) {}

  void runAfterPass(Pass *pass, Operation *op) override {
    if (pass->getArgument() != "dash-memref-copy-to-linalg")
      return;
    // Passes nested on functions may run on several threads.
    std::lock_guard<std::mutex> lock(mutex);
    op->walk([&](memref::AllocOp alloc) {
      MemRefType type = alloc.getType();
      if (!type.hasStaticShape())
        return;
      uint64_t bytes =
          DataLayout::closest(alloc).getTypeSize(type.getElementType());
      if (llvm::is_contained(type.getShape(), 0))
        bytes = 0;
      for (int64_t size : type.getShape())
        if (__builtin_mul_overflow(bytes, static_cast<uint64_t>(size),
                                   &bytes)) {
          bytes = kOverflow;
          break;
        }
      if (__builtin_add_overflow(result.bytes, bytes, &result.bytes))
        result.bytes = kOverflow;
      if (result.largest.empty() || bytes > result.largestBytes) {
        result.largestBytes = bytes;
        llvm::raw_string_ostream(result.largest.erase()) << type;
      }
    });
  }

private:
  Temporaries &result;
  std::mutex mutex;
};

/// The first number in the file at `path`, if it starts with one.
std::optional<uint64_t> readNumber(const std::string &path) {
  std::ifstream file(path);
  uint64_t value;
  if (file >> value)
    return value;
  return std::nullopt;
}
} // namespace

std::unique_ptr<PassInstrumentation>
countTemporaries(Temporaries &temporaries) {
  return std::make_unique<TemporaryCounter>(temporaries);
}

uint64_t availableHostMemory() {
  uint64_t available = static_cast<uint64_t>(sysconf(_SC_PHYS_PAGES)) *
                       static_cast<uint64_t>(sysconf(_SC_PAGE_SIZE));
  std::ifstream meminfo("/proc/meminfo");
  std::string key, rest;
  uint64_t kib, memAvailable = 0, swapFree = 0;
  bool found = false;
  while (meminfo >> key >> kib && std::getline(meminfo, rest)) {
    if (key == "MemAvailable:") {
      memAvailable = kib;
      found = true;
    } else if (key == "SwapFree:") {
      swapFree = kib;
    }
  }
  if (found)
    available = (memAvailable + swapFree) * 1024;
  // A container's limit binds before the machine's: cgroup v2 lists this
  // process's group as "0::<path>".
  std::ifstream groups("/proc/self/cgroup");
  std::string line;
  while (std::getline(groups, line)) {
    if (line.rfind("0::", 0) != 0)
      continue;
    std::string dir = "/sys/fs/cgroup" + line.substr(3);
    std::optional<uint64_t> max = readNumber(dir + "/memory.max"),
                            current = readNumber(dir + "/memory.current");
    if (max && current)
      available = std::min(available, *max > *current ? *max - *current : 0);
  }
  return available;
}

std::string formatBytes(uint64_t bytes) {
  if (bytes == kOverflow)
    return "more than 16 EiB";
  static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (bytes < 1024)
    return llvm::formatv("{0} bytes", bytes).str();
  double value = static_cast<double>(bytes) / 1024;
  int unit = 0;
  for (; value >= 1024 && unit < 5; ++unit)
    value /= 1024;
  return llvm::formatv("{0:f1} {1} ({2} bytes)", value, units[unit], bytes)
      .str();
}

llvm::Error checkTemporaries(const Temporaries &temporaries, Target target) {
  if (temporaries.largestBytes == kOverflow)
    return llvm::createStringError(
        llvm::formatv("the compiled code would allocate a temporary buffer "
                      "of type {0}, whose size in bytes overflows 64 bits",
                      temporaries.largest)
            .str());
  if (target != Target::Cpu)
    return llvm::Error::success();
  uint64_t available = availableHostMemory();
  if (temporaries.bytes <= available)
    return llvm::Error::success();
  return llvm::createStringError(
      llvm::formatv("the compiled code needs {0} of temporary buffers per "
                    "call (the largest is {1}, {2}), more than the {3} of "
                    "memory available on this machine",
                    formatBytes(temporaries.bytes), temporaries.largest,
                    formatBytes(temporaries.largestBytes),
                    formatBytes(available))
          .str());
}

} // namespace dash
