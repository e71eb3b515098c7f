//===- NpyTest.cpp - .npy reading and writing -----------------------------===//

#include "dash/Support/Npy.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <unistd.h>

using namespace dash;

namespace {

class NpyTest : public ::testing::Test {
protected:
  /// A per-test, per-process file name: tests may run in parallel, also
  /// from several build trees.
  std::string path(const std::string &name = "array.npy") {
    std::string file =
        ::testing::TempDir() + "dash-npy-" + std::to_string(getpid()) + "-" +
        ::testing::UnitTest::GetInstance()->current_test_info()->name() + "-" +
        name;
    files.push_back(file);
    return file;
  }

  std::string writeBytes(const std::string &bytes) {
    std::string file = path();
    std::FILE *stream = std::fopen(file.c_str(), "wb");
    EXPECT_NE(stream, nullptr);
    EXPECT_EQ(std::fwrite(bytes.data(), 1, bytes.size(), stream), bytes.size());
    std::fclose(stream);
    return file;
  }

  std::string readBytes(const std::string &file) {
    std::string bytes;
    std::FILE *stream = std::fopen(file.c_str(), "rb");
    EXPECT_NE(stream, nullptr);
    for (int c; (c = std::fgetc(stream)) != EOF;)
      bytes += static_cast<char>(c);
    std::fclose(stream);
    return bytes;
  }

  void TearDown() override {
    for (const std::string &file : files)
      std::remove(file.c_str());
  }

  std::vector<std::string> files;
};

/// A version 1.0 file around `dict`, padded as numpy pads.
std::string npyFile(const std::string &dict, const std::string &data) {
  std::string header = dict;
  header.append(127 - 10 - header.size(), ' ');
  header += '\n';
  return std::string("\x93NUMPY\x01\x00", 8) +
         static_cast<char>(header.size()) + '\0' + header + data;
}

TEST_F(NpyTest, RoundTripsEveryDtype) {
  const double f8[] = {1.5, -2.25, 1e300};
  const float f4[] = {0.5f, -1.0f, 3.0f, 7.0f, -0.0f, 1e-30f};
  const int32_t i4[] = {1, -2, 2147483647, -2147483647 - 1};
  const int64_t i8[] = {int64_t(1) << 40};
  const uint8_t u1[] = {0, 1, 255, 7};
  const bool b1[] = {true, false, true};
  struct Case {
    const char *dtype;
    std::vector<int64_t> shape;
    const void *data;
    size_t size;
  } cases[] = {
      {"<f8", {3}, f8, sizeof(f8)},
      {"<f4", {2, 3}, f4, sizeof(f4)},
      {"<i4", {2, 1, 2}, i4, sizeof(i4)},
      {"<i8", {}, i8, sizeof(i8)},
      {"|u1", {4, 1}, u1, sizeof(u1)},
      {"|b1", {3}, b1, sizeof(b1)},
      {"<f4", {0, 5}, f4, 0},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.dtype);
    std::string file = path();
    ASSERT_EQ(writeNpy(file, c.shape, c.dtype, c.data), "");
    NpyArray array;
    ASSERT_EQ(readNpy(file, array), "");
    EXPECT_EQ(array.shape, c.shape);
    EXPECT_EQ(array.dtype, c.dtype);
    ASSERT_EQ(array.data.size(), c.size);
    // Not memcmp: data() of the empty array may be null, which memcmp forbids
    // even for zero bytes.
    EXPECT_TRUE(std::equal(array.data.begin(), array.data.end(),
                           static_cast<const char *>(c.data)));
  }
}

TEST_F(NpyTest, WritesNumpyLayout) {
  const int32_t data[] = {1, 2, 3};
  std::string file = path();
  ASSERT_EQ(writeNpy(file, {3}, "<i4", data), "");
  std::string bytes = readBytes(file);
  std::string dict =
      "{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }";
  ASSERT_EQ(bytes.size(), 128u + sizeof(data));
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  EXPECT_EQ(bytes[8], 118); // 128 - 10: the data start 64-byte aligned.
  EXPECT_EQ(bytes[9], 0);
  EXPECT_EQ(bytes.substr(10, dict.size()), dict);
  EXPECT_EQ(bytes.find_first_not_of(' ', 10 + dict.size()), 127u);
  EXPECT_EQ(bytes[127], '\n');
  EXPECT_EQ(std::memcmp(bytes.data() + 128, data, sizeof(data)), 0);
}

// Bytes of np.save(f, np.array([[1, 2, 3], [4, 5, 6]], dtype='<f4')).
TEST_F(NpyTest, ReadsNumpyVersion1) {
  std::string data("\x00\x00\x80\x3f\x00\x00\x00\x40\x00\x00\x40\x40"
                   "\x00\x00\x80\x40\x00\x00\xa0\x40\x00\x00\xc0\x40",
                   24);
  NpyArray array;
  ASSERT_EQ(readNpy(writeBytes(npyFile("{'descr': '<f4', 'fortran_order': "
                                       "False, 'shape': (2, 3), }",
                                       data)),
                    array),
            "");
  EXPECT_EQ(array.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(array.dtype, "<f4");
  float values[6];
  ASSERT_EQ(array.data.size(), sizeof(values));
  std::memcpy(values, array.data.data(), sizeof(values));
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(values[i], i + 1.0f);
}

// Bytes of np.lib.format.write_array(f, np.array([1.5, -2.0]), version=(2, 0)).
TEST_F(NpyTest, ReadsNumpyVersion2) {
  std::string header =
      "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }";
  header.append(127 - 12 - header.size(), ' ');
  header += '\n';
  std::string bytes = std::string("\x93NUMPY\x02\x00\x74\x00\x00\x00", 12) +
                      header +
                      std::string("\x00\x00\x00\x00\x00\x00\xf8\x3f"
                                  "\x00\x00\x00\x00\x00\x00\x00\xc0",
                                  16);
  NpyArray array;
  ASSERT_EQ(readNpy(writeBytes(bytes), array), "");
  EXPECT_EQ(array.shape, (std::vector<int64_t>{2}));
  double values[2];
  ASSERT_EQ(array.data.size(), sizeof(values));
  std::memcpy(values, array.data.data(), sizeof(values));
  EXPECT_EQ(values[0], 1.5);
  EXPECT_EQ(values[1], -2.0);
}

TEST_F(NpyTest, AcceptsHandWrittenHeaders) {
  NpyArray array;
  ASSERT_EQ(readNpy(writeBytes(npyFile(
                        "{ \"shape\" : ( 2 , 1 ) ,\"fortran_order\":False,"
                        "'descr':'|u1'}",
                        "ab")),
                    array),
            "");
  EXPECT_EQ(array.shape, (std::vector<int64_t>{2, 1}));
  EXPECT_EQ(array.dtype, "|u1");
}

TEST_F(NpyTest, RejectsMalformedFiles) {
  const std::string f4x2 = "{'descr': '<f4', 'fortran_order': False, "
                           "'shape': (2,), }";
  const std::string eightBytes(8, '\0');
  struct Case {
    const char *name;
    std::string bytes;
    const char *error;
  } cases[] = {
      {"empty", "", "not a .npy file (bad magic string)"},
      {"bad magic", "\x93NUMPZ\x01\x00", "bad magic string"},
      {"no version", "\x93NUMPY\x01", "truncated header"},
      {"no length", std::string("\x93NUMPY\x01\x00\x10", 9),
       "truncated header"},
      {"short header", npyFile(f4x2, eightBytes).substr(0, 40),
       "truncated header (118 bytes announced, 30 present)"},
      {"version 3", std::string("\x93NUMPY\x03\x00\x10\x00", 10),
       "unsupported format version 3.0"},
      {"version 1.1", std::string("\x93NUMPY\x01\x01\x00\x00", 10),
       "unsupported format version 1.1"},
      {"not a dict", npyFile("descr", ""), "bad header: expected '{'"},
      {"unterminated", npyFile("{'descr: <f4}", ""),
       "bad header: expected a quoted key"},
      {"missing key", npyFile("{'descr': '<f4', 'fortran_order': False}", ""),
       "bad header: missing key 'shape'"},
      {"unknown key", npyFile("{'descr': '<f4', 'order': 'C'}", ""),
       "bad header: unexpected key 'order'"},
      {"duplicate key", npyFile("{'descr': '<f4', 'descr': '<f8'}", ""),
       "bad header: duplicate key 'descr'"},
      {"no comma", npyFile("{'descr': '<f4' 'shape': ()}", ""),
       "bad header: expected ',' or '}' after 'descr'"},
      {"structured",
       npyFile("{'descr': [('x', '<f4')], 'fortran_order': False, "
               "'shape': (2,)}",
               eightBytes),
       "structured dtypes are not supported"},
      {"bad order",
       npyFile("{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}",
               eightBytes),
       "'fortran_order' must be True or False"},
      {"negative dim",
       npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,)}",
               eightBytes),
       "'shape' must be a tuple of non-negative integers"},
      {"huge dim",
       npyFile("{'descr': '<f4', 'fortran_order': False, "
               "'shape': (99999999999999999999,)}",
               eightBytes),
       "'shape' must be a tuple"},
      {"trailing text", npyFile(f4x2 + " x", eightBytes),
       "bad header: unexpected text after the dict"},
      {"fortran",
       npyFile("{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }",
               eightBytes),
       "Fortran-order arrays are not supported"},
      {"big endian",
       npyFile("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }",
               eightBytes),
       "unsupported dtype '>f4' (supported: <f4, <f8, <i4, <i8, |b1, |u1)"},
      {"half",
       npyFile("{'descr': '<f2', 'fortran_order': False, 'shape': (2,), }",
               eightBytes),
       "unsupported dtype '<f2'"},
      {"too large",
       npyFile("{'descr': '<f4', 'fortran_order': False, "
               "'shape': (4294967296, 4294967296), }",
               eightBytes),
       "shape (4294967296, 4294967296) is too large"},
      {"short data", npyFile(f4x2, eightBytes.substr(0, 7)),
       "data size mismatch: shape (2,) of <f4 needs 8 bytes, the file has 7"},
      {"long data", npyFile(f4x2, eightBytes + "x"),
       "data size mismatch: shape (2,) of <f4 needs 8 bytes, the file has 9"},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.name);
    std::string file = writeBytes(c.bytes);
    NpyArray array;
    std::string error = readNpy(file, array);
    EXPECT_EQ(error.rfind(file + ": ", 0), 0u) << error;
    EXPECT_NE(error.find(c.error), std::string::npos) << error;
    EXPECT_TRUE(array.shape.empty() && array.dtype.empty() &&
                array.data.empty());
  }
}

TEST_F(NpyTest, ReportsFileErrors) {
  NpyArray array;
  std::string missing = path("missing.npy");
  EXPECT_EQ(readNpy(missing, array),
            missing + ": cannot open for reading: No such file or directory");
  EXPECT_EQ(readNpy(::testing::TempDir(), array).find(": cannot read: "),
            ::testing::TempDir().size());

  const float data[] = {1.0f};
  std::string unwritable = writeBytes("not a directory") + "/sub.npy";
  EXPECT_EQ(writeNpy(unwritable, {1}, "<f4", data),
            unwritable + ": cannot open for writing: Not a directory");
  EXPECT_EQ(writeNpy(path(), {1}, "<f2", data),
            path() + ": unsupported dtype '<f2'");
  EXPECT_EQ(writeNpy(path(), {-1}, "<f4", data),
            path() + ": negative dimension in shape (-1,)");
}

} // namespace
