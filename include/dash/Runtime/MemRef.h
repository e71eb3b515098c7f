//===- MemRef.h - Memref descriptors of dense buffers ------------*- C++
//-*-===//
//
// Compiled Dash functions take each tensor as a ranked memref descriptor:
// allocated and aligned pointers, offset, sizes and strides, each a 64-bit
// word. Shared by the JIT and the ahead-of-time runner (no LLVM needed).
//
//===----------------------------------------------------------------------===//

#ifndef DASH_RUNTIME_MEMREF_H
#define DASH_RUNTIME_MEMREF_H

#include <cstdint>
#include <vector>

namespace dash {

/// The descriptor of a dense row-major buffer of `shape` at `data`.
inline std::vector<int64_t> denseDescriptor(const std::vector<int64_t> &shape,
                                            const void *data) {
  int64_t pointer = reinterpret_cast<int64_t>(data);
  std::vector<int64_t> words = {pointer, pointer, 0};
  words.insert(words.end(), shape.begin(), shape.end());
  std::vector<int64_t> strides(shape.size(), 1);
  for (int i = static_cast<int>(shape.size()) - 2; i >= 0; --i)
    strides[i] = strides[i + 1] * shape[i + 1];
  words.insert(words.end(), strides.begin(), strides.end());
  return words;
}

} // namespace dash

#endif // DASH_RUNTIME_MEMREF_H
