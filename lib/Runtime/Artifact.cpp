//===- Artifact.cpp - Loading ahead-of-time artifacts --------------------===//

#include "dash/Runtime/Artifact.h"
#include "dash/Runtime/CudaRuntime.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

namespace dash::aot {

size_t ArtifactTensor::elementSize() const {
  if (type == "f64")
    return 8;
  if (type == "bf16" || type == "f16")
    return 2;
  if (type == "i1")
    return 1;
  return 4;
}

int64_t ArtifactTensor::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

static bool knownType(const std::string &type) {
  return type == "f32" || type == "f64" || type == "bf16" || type == "f16" ||
         type == "i32" || type == "i1";
}

std::string parseManifest(const std::string &text, const std::string &path,
                          Manifest &m) {
  std::istringstream in(text);
  std::string line, word;
  std::getline(in, line);
  if (line != kManifestHeader)
    return path + " is not a Dash AOT manifest of this version ('" +
           kManifestHeader + "')";
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    fields >> word;
    if (word == "target") {
      fields >> word;
      m.cuda = word == "cuda";
      if (m.cuda)
        fields >> m.chip;
    } else if (word == "entry") {
      fields >> m.entry;
    } else if (word == "import") {
      fields >> word;
      m.imports.push_back(word);
    } else if (word == "input" || word == "output") {
      ArtifactTensor t;
      std::string shape;
      fields >> t.name >> t.type >> shape;
      if (!fields || !knownType(t.type))
        return path + ": malformed line '" + line + "'";
      std::replace(shape.begin(), shape.end(), 'x', ' ');
      std::istringstream dims(shape == "scalar" ? "" : shape);
      for (int64_t d; dims >> d;)
        t.shape.push_back(d);
      (word == "input" ? m.inputs : m.outputs).push_back(t);
    }
  }
  return m.entry.empty() ? path + " names no entry" : "";
}

namespace {
/// Loaded libraries by the path of their kernel.so. Recursive: a library
/// released while the registry is locked (the caller's previous one, or one
/// that failed to load) unregisters itself under the same lock.
std::recursive_mutex registryMutex;
std::map<std::string, std::weak_ptr<const Library>> registry;
} // namespace

std::string Library::load(const std::string &directory,
                          std::shared_ptr<const Library> &library) {
  std::string manifestPath = directory + "/manifest.txt";
  std::ifstream file(manifestPath);
  if (!file)
    return "cannot read " + manifestPath;
  std::stringstream text;
  text << file.rdbuf();
  std::shared_ptr<Library> loaded(new Library());
  if (std::string error = parseManifest(text.str(), manifestPath, loaded->info);
      !error.empty())
    return error;
  if (loaded->info.cuda)
    if (std::string error = cuda::initialize(); !error.empty())
      return error;

  std::string path = directory + "/kernel.so";
  if (char *real = realpath(path.c_str(), nullptr)) {
    path = real;
    std::free(real);
  }
  std::lock_guard<std::recursive_mutex> lock(registryMutex);
  if (std::shared_ptr<const Library> existing = registry[path].lock()) {
    library = std::move(existing);
    return "";
  }
  // RTLD_LOCAL: artifacts export the same entry names.
  loaded->handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!loaded->handle) {
    const char *why = dlerror();
    return "cannot load " + path + ": " + (why ? why : "unknown error");
  }
  auto symbol = [&](const std::string &name) {
    return dlsym(loaded->handle, name.c_str());
  };
  loaded->entry =
      reinterpret_cast<void (*)(void **)>(symbol(loaded->info.entry));
  auto init = reinterpret_cast<void (*)()>(symbol("__dash_init"));
  auto fini = reinterpret_cast<void (*)()>(symbol("__dash_fini"));
  if (!loaded->entry || !init || !fini)
    return path + " lacks " +
           (!loaded->entry ? loaded->info.entry
                           : std::string("__dash_init or __dash_fini"));
  std::vector<std::pair<const char *, void *>> runtime = cuda::mgpuSymbols();
  for (const std::string &name : loaded->info.imports) {
    auto found = std::find_if(runtime.begin(), runtime.end(),
                              [&](auto &s) { return name == s.first; });
    auto **slot = static_cast<void **>(symbol("__dash_import_" + name));
    if (found == runtime.end() || !slot)
      return path + " imports " + name +
             ", which this runtime does not provide";
    *slot = found->second;
  }
  if (loaded->info.cuda)
    (void)cuda::takeError(); // Errors of earlier calls are not the loader's.
  init();
  loaded->fini = fini;
  if (loaded->info.cuda)
    if (std::string error = cuda::takeError(); !error.empty())
      return "loading the kernels of " + path + ": " + error;
  registry[path] = loaded;
  library = std::move(loaded);
  return "";
}

Library::~Library() {
  // Held so that a concurrent load of the same path cannot reopen the
  // library between its destructors and dlclose.
  std::lock_guard<std::recursive_mutex> lock(registryMutex);
  if (fini)
    fini();
  if (handle)
    dlclose(handle);
}

} // namespace dash::aot
