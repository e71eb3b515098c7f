//===- Artifact.h - Loading ahead-of-time artifacts -------------*- C++ -*-===//
//
// An ahead-of-time artifact (dash/JIT/Aot.h) is a directory with kernel.so
// and manifest.txt. This loader needs neither LLVM nor MLIR: dash-aot-run and
// the disk kernel cache of the JIT both use it.
//
// kernel.so exports `__dash_import_<name>` pointer slots for the mgpu*
// functions it calls and `__dash_init`/`__dash_fini` (its constructors and
// destructors, which load and unload the GPU modules): a process that loads
// the runtime privately (Python's ctypes loads libDashC.so RTLD_LOCAL)
// exports no mgpu* symbol for the dynamic linker to bind, so the loader binds
// them itself before running the constructors.
//
//===----------------------------------------------------------------------===//

#ifndef DASH_RUNTIME_ARTIFACT_H
#define DASH_RUNTIME_ARTIFACT_H

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace dash::aot {

/// One argument or result of the entry, as the manifest lists it.
struct ArtifactTensor {
  std::string name;
  /// f32, f64, bf16, f16, i32 or i1 (one byte per element).
  std::string type;
  std::vector<int64_t> shape;

  size_t elementSize() const;
  int64_t numElements() const;
  size_t numBytes() const { return numElements() * elementSize(); }
};

/// What manifest.txt says.
struct Manifest {
  bool cuda = false;
  /// CUDA only: the chip the kernels were compiled for.
  std::string chip;
  /// The packed entry point: `void entry(void **arguments)`.
  std::string entry;
  std::vector<ArtifactTensor> inputs, outputs;
  /// The mgpu* functions whose `__dash_import_` slots must be bound.
  std::vector<std::string> imports;
};

/// The first line of every manifest this version writes and reads.
constexpr const char *kManifestHeader = "dash-aot 2";

/// Parses the text of a manifest read from `path` (which errors name).
/// Returns an empty string on success, else what is wrong.
std::string parseManifest(const std::string &text, const std::string &path,
                          Manifest &manifest);

/// A loaded kernel.so: imports bound, constructors run. Loading the same
/// directory again in the process shares the loaded library, so that its
/// constructors run once; the destructors run when the last holder lets go.
class Library {
public:
  /// Loads the artifact in `directory`. For CUDA artifacts the driver is
  /// initialised first, and failures of the constructors (e.g. a cubin for
  /// another chip) are reported. Returns an empty string on success.
  static std::string load(const std::string &directory,
                          std::shared_ptr<const Library> &library);

  Library(const Library &) = delete;
  Library &operator=(const Library &) = delete;
  ~Library();

  const Manifest &manifest() const { return info; }
  /// Calls the entry with a pointer to each argument's memref descriptor.
  void call(void **arguments) const { entry(arguments); }

private:
  Library() = default;

  void *handle = nullptr;
  void (*entry)(void **) = nullptr;
  void (*fini)() = nullptr;
  Manifest info;
};

} // namespace dash::aot

#endif // DASH_RUNTIME_ARTIFACT_H
