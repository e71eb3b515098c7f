//===- dash-aot-run.cpp - Run an ahead-of-time artifact ------------------===//
//
// Runs a function compiled by `dash-run --emit-aot DIR` (or an entry of the
// disk kernel cache) on a host without MLIR: it links only Dash's driver-only
// CUDA runtime (whose mgpu* ABI the artifact's kernel.so calls, and which
// loads the artifact) and the .npy reader.
//
//   dash-aot-run DIR --inputs IN --outputs OUT [--repeat R]
//
// reads <name>.npy for every input of the manifest (bf16 inputs from float32
// files), writes <name>.npy for every output, and prints the median time.
//
//===----------------------------------------------------------------------===//

#include "dash/Runtime/Artifact.h"
#include "dash/Runtime/CudaRuntime.h"
#include "dash/Runtime/MemRef.h"
#include "dash/Support/Float16.h"
#include "dash/Support/Npy.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

using Tensor = dash::aot::ArtifactTensor;

int fail(const std::string &message) {
  std::fprintf(stderr, "dash-aot-run: error: %s\n", message.c_str());
  return 1;
}

/// Reads `<dir>/<name>.npy` into the layout the function expects.
std::string readInput(const std::string &dir, const Tensor &t,
                      std::vector<char> &bytes) {
  dash::NpyArray array;
  std::string path = dir + "/" + t.name + ".npy";
  if (std::string e = dash::readNpy(path, array); !e.empty())
    return e;
  if (array.shape != t.shape)
    return path + " has the wrong shape for input " + t.name;
  bytes.resize(t.numBytes());
  if (t.type == "bf16" && array.dtype == "<f4") {
    const float *src = reinterpret_cast<const float *>(array.data.data());
    uint16_t *dst = reinterpret_cast<uint16_t *>(bytes.data());
    for (int64_t i = 0; i < t.numElements(); ++i)
      dst[i] = dash::floatToBf16(src[i]);
    return "";
  }
  if (array.data.size() != bytes.size())
    return path + " has the wrong element type for input " + t.name + " (" +
           t.type + ")";
  std::memcpy(bytes.data(), array.data.data(), bytes.size());
  return "";
}

std::string writeOutput(const std::string &dir, const Tensor &t,
                        const std::vector<char> &bytes) {
  std::string path = dir + "/" + t.name + ".npy";
  if (t.type == "bf16") {
    std::vector<float> values(t.numElements());
    const uint16_t *src = reinterpret_cast<const uint16_t *>(bytes.data());
    for (size_t i = 0; i < values.size(); ++i)
      values[i] = dash::bf16ToFloat(src[i]);
    return dash::writeNpy(path, t.shape, "<f4", values.data());
  }
  const char *dtype = t.type == "f64" ? "<f8" : t.type == "i32" ? "<i4" : "<f4";
  return dash::writeNpy(path, t.shape, dtype, bytes.data());
}
} // namespace

int main(int argc, char **argv) {
  std::string artifact, inputs, outputs;
  int repeat = 1;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (arg == "--inputs")
      inputs = value();
    else if (arg == "--outputs")
      outputs = value();
    else if (arg == "--repeat")
      repeat = std::max(1, std::atoi(value().c_str()));
    else if (arg == "--help")
      return std::puts("usage: dash-aot-run DIR --inputs IN --outputs OUT "
                       "[--repeat R]"),
             0;
    else
      artifact = arg;
  }
  if (artifact.empty() || inputs.empty() || outputs.empty())
    return fail("usage: dash-aot-run DIR --inputs IN --outputs OUT");
  std::shared_ptr<const dash::aot::Library> library;
  if (std::string e = dash::aot::Library::load(artifact, library); !e.empty())
    return fail(e);
  const dash::aot::Manifest &manifest = library->manifest();

  std::vector<Tensor> all = manifest.inputs;
  all.insert(all.end(), manifest.outputs.begin(), manifest.outputs.end());
  std::vector<std::vector<char>> host(all.size());
  for (size_t i = 0; i < manifest.inputs.size(); ++i)
    if (std::string e = readInput(inputs, all[i], host[i]); !e.empty())
      return fail(e);
  for (size_t i = manifest.inputs.size(); i < all.size(); ++i)
    host[i].resize(all[i].numBytes());

  // Buffers where the code runs: the host, or device copies.
  std::vector<void *> buffers(all.size());
  for (size_t i = 0; i < all.size(); ++i) {
    if (!manifest.cuda) {
      buffers[i] = host[i].data();
      continue;
    }
    if (std::string e = dash::cuda::allocate(&buffers[i], all[i].numBytes());
        !e.empty())
      return fail(e);
    if (i < manifest.inputs.size())
      if (std::string e = dash::cuda::copyToDevice(buffers[i], host[i].data(),
                                                   all[i].numBytes());
          !e.empty())
        return fail(e);
  }
  std::vector<std::vector<int64_t>> descriptors;
  for (size_t i = 0; i < all.size(); ++i)
    descriptors.push_back(dash::denseDescriptor(all[i].shape, buffers[i]));
  std::vector<void *> pointers, args;
  for (auto &d : descriptors)
    pointers.push_back(d.data());
  for (auto &p : pointers)
    args.push_back(&p);

  std::vector<double> millis;
  for (int r = 0; r < repeat; ++r) {
    auto start = std::chrono::steady_clock::now();
    library->call(args.data());
    if (manifest.cuda) {
      std::string e = dash::cuda::takeError();
      if (e.empty())
        e = dash::cuda::synchronize();
      if (!e.empty())
        return fail(e);
    }
    millis.push_back(std::chrono::duration<double, std::milli>(
                         std::chrono::steady_clock::now() - start)
                         .count());
  }
  for (size_t i = manifest.inputs.size(); i < all.size(); ++i) {
    if (manifest.cuda)
      if (std::string e = dash::cuda::copyToHost(host[i].data(), buffers[i],
                                                 all[i].numBytes());
          !e.empty())
        return fail(e);
    if (std::string e = writeOutput(outputs, all[i], host[i]); !e.empty())
      return fail(e);
  }
  std::sort(millis.begin(), millis.end());
  std::printf("dash-aot-run: %s %s ran %d time(s), median %.3f ms\n",
              artifact.c_str(), manifest.cuda ? "(cuda)" : "(cpu)", repeat,
              millis[millis.size() / 2]);
  return 0;
}
