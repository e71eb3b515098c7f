//===- Npy.h - NumPy .npy files ---------------------------------*- C++ -*-===//
//
// Tensors travel between dash tools and Python as .npy files: dense, C order,
// little-endian, of a few numeric dtypes. Reads format versions 1.0 and 2.0,
// writes 1.0. Only the standard library is used, so any target may link it.
//
//===----------------------------------------------------------------------===//

#ifndef DASH_SUPPORT_NPY_H
#define DASH_SUPPORT_NPY_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace dash {

/// One array as stored in a .npy file.
struct NpyArray {
  std::vector<int64_t> shape;
  /// The NumPy type descriptor, one of those npyItemSize() accepts.
  std::string dtype;
  /// numElements() * npyItemSize(dtype) bytes, little-endian, C order.
  std::vector<char> data;

  int64_t numElements() const;
};

/// Bytes per element of a supported descriptor ("<f4", "<f8", "<i4", "<i8",
/// "|b1", "|u1"); 0 for any other.
size_t npyItemSize(const std::string &dtype);

/// Reads `path` into `out`. Returns an empty string on success, otherwise
/// what is wrong, prefixed by the path.
std::string readNpy(const std::string &path, NpyArray &out);

/// Writes `data` (numElements * npyItemSize(dtype) bytes, host order) as a
/// version 1.0 file. Returns an empty string on success, otherwise what is
/// wrong, prefixed by the path.
std::string writeNpy(const std::string &path, const std::vector<int64_t> &shape,
                     const std::string &dtype, const void *data);

} // namespace dash

#endif // DASH_SUPPORT_NPY_H
