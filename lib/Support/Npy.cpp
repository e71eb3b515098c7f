//===- Npy.cpp - NumPy .npy files -----------------------------------------===//
//
// The format (numpy.lib.format): the magic string "\x93NUMPY", major and
// minor version bytes, the header length (little-endian uint16 in 1.0, uint32
// in 2.0) and the header, a Python dict literal such as
//   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
// padded with spaces and a newline so that the data start 64-byte aligned.
//
//===----------------------------------------------------------------------===//

#include "dash/Support/Npy.h"

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>

// Data are copied verbatim between files and host buffers.
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "dash .npy support assumes a little-endian host"
#endif

using namespace dash;

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicSize = 6;
constexpr size_t kAlign = 64;

int64_t product(const std::vector<int64_t> &shape) {
  int64_t count = 1;
  for (int64_t dim : shape)
    count *= dim;
  return count;
}

/// Python's tuple syntax, as numpy writes shapes: "(3,)" for one dimension.
std::string shapeString(const std::vector<int64_t> &shape) {
  std::string text = "(";
  for (size_t i = 0; i < shape.size(); ++i)
    text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + (shape.size() == 1 ? ",)" : ")");
}

/// Parses the header dict. Accepts what numpy writes and what a person would:
/// either quote, any whitespace, optional trailing commas.
class HeaderParser {
public:
  explicit HeaderParser(const std::string &text) : text(text) {}

  /// Returns what is wrong, or an empty string.
  std::string parse(NpyArray &out, bool &fortranOrder) {
    if (!consume('{'))
      return "expected '{'";
    bool haveDescr = false, haveOrder = false, haveShape = false;
    while (!consume('}')) {
      std::string key;
      if (!parseString(key))
        return "expected a quoted key";
      bool *seen = key == "descr"           ? &haveDescr
                   : key == "fortran_order" ? &haveOrder
                   : key == "shape"         ? &haveShape
                                            : nullptr;
      if (!seen)
        return "unexpected key '" + key + "'";
      if (*seen)
        return "duplicate key '" + key + "'";
      *seen = true;
      if (!consume(':'))
        return "expected ':' after '" + key + "'";
      if (key == "descr" && !parseString(out.dtype))
        return "'descr' must be a string (structured dtypes are not "
               "supported)";
      if (key == "fortran_order" && !parseBool(fortranOrder))
        return "'fortran_order' must be True or False";
      if (key == "shape" && !parseShape(out.shape))
        return "'shape' must be a tuple of non-negative integers";
      if (!consume(',') && !peek('}'))
        return "expected ',' or '}' after '" + key + "'";
    }
    skipSpace();
    if (pos != text.size())
      return "unexpected text after the dict";
    if (!haveDescr || !haveOrder || !haveShape)
      return std::string("missing key '") +
             (!haveDescr   ? "descr"
              : !haveOrder ? "fortran_order"
                           : "shape") +
             "'";
    return {};
  }

private:
  void skipSpace() {
    while (pos < text.size() &&
           std::isspace(static_cast<unsigned char>(text[pos])))
      ++pos;
  }
  bool peek(char c) {
    skipSpace();
    return pos < text.size() && text[pos] == c;
  }
  bool consume(char c) {
    if (!peek(c))
      return false;
    ++pos;
    return true;
  }
  bool consumeWord(const char *word) {
    size_t size = std::strlen(word);
    if (text.compare(pos, size, word) != 0)
      return false;
    pos += size;
    return true;
  }

  bool parseString(std::string &value) {
    skipSpace();
    if (pos >= text.size() || (text[pos] != '\'' && text[pos] != '"'))
      return false;
    size_t end = text.find(text[pos], pos + 1);
    if (end == std::string::npos)
      return false;
    value = text.substr(pos + 1, end - pos - 1);
    pos = end + 1;
    return true;
  }

  bool parseBool(bool &value) {
    skipSpace();
    if (consumeWord("True"))
      value = true;
    else if (consumeWord("False"))
      value = false;
    else
      return false;
    return true;
  }

  bool parseDim(int64_t &value) {
    skipSpace();
    size_t start = pos;
    value = 0;
    for (; pos < text.size() &&
           std::isdigit(static_cast<unsigned char>(text[pos]));
         ++pos) {
      int digit = text[pos] - '0';
      if (value > (std::numeric_limits<int64_t>::max() - digit) / 10)
        return false;
      value = value * 10 + digit;
    }
    return pos != start;
  }

  bool parseShape(std::vector<int64_t> &shape) {
    shape.clear();
    if (!consume('('))
      return false;
    while (!consume(')')) {
      int64_t dim;
      if (!parseDim(dim))
        return false;
      shape.push_back(dim);
      if (!consume(',') && !peek(')'))
        return false;
    }
    return true;
  }

  const std::string &text;
  size_t pos = 0;
};

using File = std::unique_ptr<std::FILE, int (*)(std::FILE *)>;

File openFile(const std::string &path, const char *mode) {
  return File(std::fopen(path.c_str(), mode), &std::fclose);
}

std::string errnoMessage() { return std::strerror(errno); }

std::string readFile(const std::string &path, std::string &bytes) {
  File file = openFile(path, "rb");
  if (!file)
    return "cannot open for reading: " + errnoMessage();
  char buffer[1 << 16];
  size_t size;
  while ((size = std::fread(buffer, 1, sizeof(buffer), file.get())) > 0)
    bytes.append(buffer, size);
  if (std::ferror(file.get()))
    return "cannot read: " + errnoMessage();
  return {};
}

uint64_t readLittleEndian(const std::string &bytes, size_t offset,
                          size_t size) {
  uint64_t value = 0;
  for (size_t i = 0; i < size; ++i)
    value |= uint64_t(static_cast<unsigned char>(bytes[offset + i])) << (8 * i);
  return value;
}

std::string parseNpy(const std::string &bytes, NpyArray &out) {
  if (bytes.compare(0, kMagicSize, kMagic, kMagicSize) != 0)
    return "not a .npy file (bad magic string)";
  if (bytes.size() < kMagicSize + 2)
    return "truncated header";
  int major = static_cast<unsigned char>(bytes[kMagicSize]);
  int minor = static_cast<unsigned char>(bytes[kMagicSize + 1]);
  if ((major != 1 && major != 2) || minor != 0)
    return "unsupported format version " + std::to_string(major) + "." +
           std::to_string(minor) + " (1.0 and 2.0 are read)";
  size_t lengthSize = major == 1 ? 2 : 4;
  size_t headerStart = kMagicSize + 2 + lengthSize;
  if (bytes.size() < headerStart)
    return "truncated header";
  uint64_t headerSize = readLittleEndian(bytes, kMagicSize + 2, lengthSize);
  if (bytes.size() - headerStart < headerSize)
    return "truncated header (" + std::to_string(headerSize) +
           " bytes announced, " + std::to_string(bytes.size() - headerStart) +
           " present)";

  NpyArray array;
  bool fortranOrder = false;
  std::string error = HeaderParser(bytes.substr(headerStart, headerSize))
                          .parse(array, fortranOrder);
  if (!error.empty())
    return "bad header: " + error;
  if (fortranOrder)
    return "Fortran-order arrays are not supported";
  size_t itemSize = npyItemSize(array.dtype);
  if (!itemSize)
    return "unsupported dtype '" + array.dtype +
           "' (supported: <f4, <f8, <i4, <i8, |b1, |u1)";

  uint64_t count = 1;
  const uint64_t maxCount = std::numeric_limits<int64_t>::max() / itemSize;
  for (int64_t dim : array.shape) {
    if (dim != 0 && count > maxCount / dim)
      return "shape " + shapeString(array.shape) + " is too large";
    count *= dim;
  }
  size_t dataStart = headerStart + headerSize;
  uint64_t present = bytes.size() - dataStart;
  if (count * itemSize != present)
    return "data size mismatch: shape " + shapeString(array.shape) + " of " +
           array.dtype + " needs " + std::to_string(count * itemSize) +
           " bytes, the file has " + std::to_string(present);
  array.data.assign(bytes.begin() + dataStart, bytes.end());
  out = std::move(array);
  return {};
}

} // namespace

int64_t NpyArray::numElements() const { return product(shape); }

size_t dash::npyItemSize(const std::string &dtype) {
  if (dtype == "<f8" || dtype == "<i8")
    return 8;
  if (dtype == "<f4" || dtype == "<i4")
    return 4;
  if (dtype == "|b1" || dtype == "|u1")
    return 1;
  return 0;
}

std::string dash::readNpy(const std::string &path, NpyArray &out) {
  std::string bytes;
  std::string error = readFile(path, bytes);
  if (error.empty())
    error = parseNpy(bytes, out);
  return error.empty() ? error : path + ": " + error;
}

std::string dash::writeNpy(const std::string &path,
                           const std::vector<int64_t> &shape,
                           const std::string &dtype, const void *data) {
  size_t itemSize = npyItemSize(dtype);
  if (!itemSize)
    return path + ": unsupported dtype '" + dtype + "'";
  for (int64_t dim : shape)
    if (dim < 0)
      return path + ": negative dimension in shape " + shapeString(shape);

  std::string header =
      "{'descr': '" + dtype +
      "', 'fortran_order': False, 'shape': " + shapeString(shape) + ", }";
  size_t unpadded = kMagicSize + 4 + header.size() + 1;
  header.append((kAlign - unpadded % kAlign) % kAlign, ' ');
  header += '\n';
  if (header.size() > std::numeric_limits<uint16_t>::max())
    return path + ": header too long for format version 1.0";

  std::string prefix(kMagic, kMagicSize);
  prefix += {'\x01', '\x00', static_cast<char>(header.size() & 0xff),
             static_cast<char>(header.size() >> 8)};
  size_t dataSize = product(shape) * itemSize;
  File file = openFile(path, "wb");
  if (!file)
    return path + ": cannot open for writing: " + errnoMessage();
  bool written = std::fwrite(prefix.data(), 1, prefix.size(), file.get()) ==
                     prefix.size() &&
                 std::fwrite(header.data(), 1, header.size(), file.get()) ==
                     header.size() &&
                 std::fwrite(data, 1, dataSize, file.get()) == dataSize;
  // Closing flushes; its failure is a failed write too.
  if (std::fclose(file.release()) != 0 || !written)
    return path + ": cannot write: " + errnoMessage();
  return {};
}
