//===- StridedTest.cpp - Strided tensors in the C API --------------------===//
//
// dashForwardStrided / dashBackwardStrided on tensors stored in other
// layouts give exactly the results of the contiguous calls; invalid strides
// are rejected, naming the tensor. (The CUDA path is in unittests/CAPI's
// GPU test.)
//
//===----------------------------------------------------------------------===//

#include "CAPITestUtils.h"

#include <array>

using namespace dash;
using namespace dash::capitest;

namespace {

/// A [B, X, N, D] tensor stored with its dimensions permuted: `order` lists
/// the logical dimensions from the outermost stored one to the innermost.
struct Permuted {
  std::vector<float> storage;
  std::array<int64_t, 4> strides;

  Permuted(const std::vector<float> &dense, std::array<int64_t, 4> shape,
           std::array<int, 4> order) {
    int64_t stride = 1;
    for (int i = 3; i >= 0; --i) {
      strides[order[i]] = stride;
      stride *= shape[order[i]];
    }
    storage.resize(dense.size());
    forEach(shape, [&](int64_t d, int64_t s) { storage[s] = dense[d]; });
  }

  std::vector<float> toDense(std::array<int64_t, 4> shape) const {
    std::vector<float> dense(storage.size());
    forEach(shape, [&](int64_t d, int64_t s) { dense[d] = storage[s]; });
    return dense;
  }

  template <typename F> void forEach(std::array<int64_t, 4> shape, F f) const {
    int64_t d = 0;
    for (int64_t a = 0; a < shape[0]; ++a)
      for (int64_t b = 0; b < shape[1]; ++b)
        for (int64_t c = 0; c < shape[2]; ++c)
          for (int64_t e = 0; e < shape[3]; ++e, ++d)
            f(d, a * strides[0] + b * strides[1] + c * strides[2] +
                     e * strides[3]);
  }
};

class Strided : public CAPI {
protected:
  std::array<int64_t, 4> qShape() const {
    return {config.batch, config.heads, config.seq_len, config.head_dim};
  }
  std::array<int64_t, 4> kvShape() const {
    return {config.batch, config.kv_heads, config.seq_len, config.head_dim};
  }
};

// [B, N, H, D] storage (a transposed view, as from a [B, N, H * D]
// projection), and [B, H, D, N] storage, whose D stride is not 1.
const std::array<int, 4> kTokenMajor = {0, 2, 1, 3};
const std::array<int, 4> kFeatureMajor = {0, 1, 3, 2};

TEST_F(Strided, ForwardAndBackwardMatchContiguousCalls) {
  config.with_summary_query = 1;
  DashKernel kernel = nullptr;
  ASSERT_EQ(dashCompile(context, &config, DASH_TARGET_CPU, &kernel),
            DASH_STATUS_OK)
      << lastError();
  Inputs in = drawInputs();
  std::vector<float> q = toFloat(in.q), k = toFloat(in.k), v = toFloat(in.v),
                     w = toFloat(in.w), dO = toFloat(random(qSize(), 1.0));
  std::vector<float> o(qSize()), lse(rows()), dq(qSize()), dk(kvSize()),
      dv(kvSize()), dw(w.size());
  std::vector<int32_t> counts(countRows());
  ASSERT_EQ(dashForward(kernel, q.data(), k.data(), v.data(), w.data(),
                        o.data(), lse.data(), counts.data(), nullptr),
            DASH_STATUS_OK);
  EXPECT_LE(relativeL2(o, in.expected.out), kTolerance);
  ASSERT_EQ(dashBackward(kernel, q.data(), k.data(), v.data(), w.data(),
                         dO.data(), dq.data(), dk.data(), dv.data(), dw.data(),
                         nullptr),
            DASH_STATUS_OK);

  for (std::array<int, 4> order : {kTokenMajor, kFeatureMajor}) {
    SCOPED_TRACE(testing::PrintToString(order));
    Permuted qs(q, qShape(), order), ks(k, kvShape(), order),
        vs(v, kvShape(), order), os(o, qShape(), order),
        dOs(dO, qShape(), order), dqs(q, qShape(), order),
        dks(k, kvShape(), order), dvs(v, kvShape(), order);
    std::fill(os.storage.begin(), os.storage.end(), NAN);
    std::vector<float> lse2(rows()), dw2(w.size());
    std::vector<int32_t> counts2(countRows());
    ASSERT_EQ(dashForwardStrided(kernel, qs.storage.data(), qs.strides.data(),
                                 ks.storage.data(), ks.strides.data(),
                                 vs.storage.data(), vs.strides.data(), w.data(),
                                 os.storage.data(), os.strides.data(),
                                 lse2.data(), counts2.data(), nullptr),
              DASH_STATUS_OK)
        << lastError();
    EXPECT_EQ(os.toDense(qShape()), o);
    EXPECT_EQ(lse2, lse);
    EXPECT_EQ(counts2, counts);

    ASSERT_EQ(dashBackwardStrided(
                  kernel, qs.storage.data(), qs.strides.data(),
                  ks.storage.data(), ks.strides.data(), vs.storage.data(),
                  vs.strides.data(), w.data(), dOs.storage.data(),
                  dOs.strides.data(), dqs.storage.data(), dqs.strides.data(),
                  dks.storage.data(), dks.strides.data(), dvs.storage.data(),
                  dvs.strides.data(), dw2.data(), nullptr),
              DASH_STATUS_OK)
        << lastError();
    EXPECT_EQ(dqs.toDense(qShape()), dq);
    EXPECT_EQ(dks.toDense(kvShape()), dk);
    EXPECT_EQ(dvs.toDense(kvShape()), dv);
    EXPECT_EQ(dw2, dw);
  }
  dashKernelRelease(kernel);
}

TEST_F(Strided, PaddedRowsAndUnitDimensionsWork) {
  DashKernel kernel = nullptr;
  ASSERT_EQ(dashCompile(context, &config, DASH_TARGET_CPU, &kernel),
            DASH_STATUS_OK)
      << lastError();
  std::vector<float> q = toFloat(random(qSize(), 1.0)),
                     k = toFloat(random(kvSize(), 1.0)),
                     v = toFloat(random(kvSize(), 1.0)), o(qSize());
  ASSERT_EQ(dashForward(kernel, q.data(), k.data(), v.data(), nullptr, o.data(),
                        nullptr, nullptr, nullptr),
            DASH_STATUS_OK);
  // Rows of q padded from D = 16 to 20 elements; the batch stride (B = 1)
  // is arbitrary.
  const int64_t pitch = 20;
  std::vector<float> padded(config.heads * config.seq_len * pitch, NAN);
  for (int64_t row = 0; row < config.heads * config.seq_len; ++row)
    std::copy_n(q.begin() + row * config.head_dim, config.head_dim,
                padded.begin() + row * pitch);
  int64_t qStrides[] = {7, config.seq_len * pitch, pitch, 1};
  std::vector<float> o2(qSize());
  ASSERT_EQ(dashForwardStrided(kernel, padded.data(), qStrides, k.data(),
                               nullptr, v.data(), nullptr, nullptr, o2.data(),
                               nullptr, nullptr, nullptr, nullptr),
            DASH_STATUS_OK)
      << lastError();
  EXPECT_EQ(o2, o);
  dashKernelRelease(kernel);
}

TEST_F(Strided, InvalidStridesNameTheTensor) {
  DashKernel kernel = nullptr;
  ASSERT_EQ(dashCompile(context, &config, DASH_TARGET_CPU, &kernel),
            DASH_STATUS_OK)
      << lastError();
  std::vector<float> buffer(4 * qSize());
  float *p = buffer.data();
  int64_t n = config.seq_len, d = config.head_dim;
  int64_t dense[] = {config.heads * n * d, n * d, d, 1};
  int64_t negative[] = {config.heads * n * d, n * d, -d, 1};
  int64_t overlapping[] = {config.heads * n * d, n * d, d - 1, 1};
  int64_t broadcast[] = {config.kv_heads * n * d, 0, d, 1};
  EXPECT_EQ(dashForwardStrided(kernel, p, negative, p, nullptr, p, nullptr,
                               nullptr, p, nullptr, nullptr, nullptr, nullptr),
            DASH_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(lastError().find("dashForwardStrided: q_strides [2560, 640, -16, "
                             "1] for shape [1, 4, 40, 16]: the stride of "
                             "dimension 2 is negative"),
            std::string::npos)
      << lastError();
  EXPECT_EQ(dashForwardStrided(kernel, p, dense, p, nullptr, p, nullptr,
                               nullptr, p, overlapping, nullptr, nullptr,
                               nullptr),
            DASH_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(lastError().find("o_strides [2560, 640, 15, 1] for shape [1, 4, "
                             "40, 16]: elements overlap: dimension 2 (size "
                             "40) has stride 15, but the dimensions inside "
                             "it span 16 elements"),
            std::string::npos)
      << lastError();
  EXPECT_EQ(dashBackwardStrided(kernel, p, nullptr, p, nullptr, p, nullptr,
                                nullptr, p, nullptr, p, nullptr, p, broadcast,
                                p, nullptr, nullptr, nullptr),
            DASH_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(lastError().find("dashBackwardStrided: dk_strides"),
            std::string::npos)
      << lastError();
  EXPECT_NE(lastError().find("elements overlap: dimension 1 (size 2) has "
                             "stride 0"),
            std::string::npos)
      << lastError();
  EXPECT_EQ(dashForwardStrided(nullptr, p, nullptr, p, nullptr, p, nullptr,
                               nullptr, p, nullptr, nullptr, nullptr, nullptr),
            DASH_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(std::string(dashGetLastError(nullptr)),
            "dashForwardStrided: kernel is NULL");
  dashKernelRelease(kernel);
}

} // namespace
