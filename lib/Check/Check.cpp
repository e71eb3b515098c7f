//===- Check.cpp - Compiled attention against the oracle -----------------===//

#include "dash/Check/Check.h"
#include "dash/Support/Float16.h"

#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>

namespace dash::check {

oracle::Config toOracle(const AttentionConfig &c) {
  oracle::Config o;
  o.batch = c.batch;
  o.heads = c.heads;
  o.kvHeads = c.kvHeads;
  o.seqLen = c.seqLen;
  o.headDim = c.headDim;
  o.blockSize = c.blockSize;
  o.alpha = c.alpha;
  o.gamma = c.gamma;
  o.sigma = c.sigma;
  o.prior = c.prior == Prior::Raw        ? oracle::PriorMode::Raw
            : c.prior == Prior::Centered ? oracle::PriorMode::Centered
                                         : oracle::PriorMode::Flat;
  o.localBlocks = c.localBlocks;
  o.initBlocks = c.initBlocks;
  o.scale = c.scale;
  o.routerGrad = c.routerGrad;
  return o;
}

double tolerance(ElementType type) {
  return type == ElementType::F32 || type == ElementType::F64 ? 1e-4 : 2e-2;
}

std::vector<char> encode(const std::vector<double> &values, ElementType type) {
  std::vector<char> bytes(values.size() * elementSize(type));
  for (size_t i = 0; i < values.size(); ++i) {
    char *dst = bytes.data() + i * elementSize(type);
    switch (type) {
    case ElementType::F32: {
      float f = static_cast<float>(values[i]);
      std::memcpy(dst, &f, 4);
      break;
    }
    case ElementType::F64:
      std::memcpy(dst, &values[i], 8);
      break;
    case ElementType::BF16: {
      uint16_t h = floatToBf16(static_cast<float>(values[i]));
      std::memcpy(dst, &h, 2);
      break;
    }
    case ElementType::F16: {
      _Float16 h = static_cast<_Float16>(values[i]);
      std::memcpy(dst, &h, 2);
      break;
    }
    case ElementType::I32: {
      int32_t x = static_cast<int32_t>(values[i]);
      std::memcpy(dst, &x, 4);
      break;
    }
    case ElementType::I1:
      *dst = values[i] != 0.0;
      break;
    }
  }
  return bytes;
}

std::vector<double> decode(const void *data, size_t count, ElementType type) {
  std::vector<double> values(count);
  const char *src = static_cast<const char *>(data);
  for (size_t i = 0; i < count; ++i, src += elementSize(type)) {
    switch (type) {
    case ElementType::F32: {
      float f;
      std::memcpy(&f, src, 4);
      values[i] = f;
      break;
    }
    case ElementType::F64:
      std::memcpy(&values[i], src, 8);
      break;
    case ElementType::BF16: {
      uint16_t h;
      std::memcpy(&h, src, 2);
      values[i] = bf16ToFloat(h);
      break;
    }
    case ElementType::F16: {
      _Float16 h;
      std::memcpy(&h, src, 2);
      values[i] = static_cast<double>(h);
      break;
    }
    case ElementType::I32: {
      int32_t x;
      std::memcpy(&x, src, 4);
      values[i] = x;
      break;
    }
    case ElementType::I1:
      values[i] = *src ? 1.0 : 0.0;
      break;
    }
  }
  return values;
}

void packInputs(const AttentionConfig &config, AttentionData &data) {
  // The oracle must see exactly the rounded values the compiled code reads.
  std::vector<double> *tensors[] = {&data.q, &data.k, &data.v, &data.w};
  std::vector<TensorSpec> specs = attentionInputs(config);
  data.buffers.clear();
  for (size_t i = 0; i < specs.size(); ++i) {
    data.buffers.push_back(encode(*tensors[i], specs[i].type));
    *tensors[i] =
        decode(data.buffers.back().data(), tensors[i]->size(), specs[i].type);
  }
}

AttentionData randomInputs(const AttentionConfig &config, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  AttentionData data;
  std::vector<TensorSpec> specs = attentionInputs(config);
  std::vector<double> *tensors[] = {&data.q, &data.k, &data.v, &data.w};
  for (size_t i = 0; i < specs.size(); ++i) {
    double stddev = i == 3 ? 0.5 : 1.0;
    tensors[i]->resize(specs[i].numElements());
    for (double &x : *tensors[i])
      x = stddev * normal(rng);
  }
  packInputs(config, data);
  return data;
}

bool drawWithMargin(const AttentionConfig &config, uint64_t seed,
                    double minMargin, int maxTries, AttentionData &data,
                    oracle::ForwardResult &reference, uint64_t &usedSeed) {
  for (int attempt = 0; attempt < maxTries; ++attempt) {
    usedSeed = seed + attempt;
    data = randomInputs(config, usedSeed);
    reference =
        oracle::forward(toOracle(config), data.q, data.k, data.v, data.w);
    if (reference.minMargin >= minMargin)
      return true;
  }
  return false;
}

AttentionOutputs::AttentionOutputs(const AttentionConfig &config) {
  std::vector<TensorSpec> specs = attentionOutputs(config);
  out.resize(specs[0].numBytes());
  lse.resize(specs[1].numElements());
  counts.resize(specs[2].numElements());
}

double relativeL2(const std::vector<double> &a, const std::vector<double> &b) {
  double diff = 0, norm = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i]))
      return INFINITY;
    diff += (a[i] - b[i]) * (a[i] - b[i]);
    norm += b[i] * b[i];
  }
  return norm == 0 ? std::sqrt(diff) : std::sqrt(diff / norm);
}

double Comparison::worstRelL2() const { return std::max(outRelL2, lseRelL2); }

bool Comparison::passes(ElementType type) const {
  return finite && countMismatches == 0 && worstRelL2() <= tolerance(type);
}

std::string Comparison::str() const {
  return llvm::formatv("O rel_l2={0:e} max_abs={1:e}, LSE rel_l2={2:e}, "
                       "count mismatches={3}{4}",
                       outRelL2, outMaxAbs, lseRelL2, countMismatches,
                       finite ? "" : ", NON-FINITE values")
      .str();
}

Comparison compare(const AttentionConfig &config,
                   const AttentionOutputs &outputs,
                   const oracle::ForwardResult &reference) {
  Comparison result;
  std::vector<double> out = decode(outputs.out.data(), reference.out.size(),
                                   attentionOutputs(config)[0].type);
  std::vector<double> lse(outputs.lse.begin(), outputs.lse.end());
  for (size_t i = 0; i < out.size(); ++i) {
    if (!std::isfinite(out[i]))
      result.finite = false;
    else
      result.outMaxAbs =
          std::max(result.outMaxAbs, std::abs(out[i] - reference.out[i]));
  }
  for (size_t i = 0; i < lse.size(); ++i)
    if (std::isfinite(reference.lse[i]) && !std::isfinite(lse[i]))
      result.finite = false;
  result.outRelL2 = relativeL2(out, reference.out);
  result.lseRelL2 = relativeL2(lse, reference.lse);
  for (size_t i = 0; i < outputs.counts.size(); ++i)
    result.countMismatches += outputs.counts[i] != reference.counts[i];
  return result;
}

OutputGrad randomOutputGrad(const AttentionConfig &config, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  TensorSpec spec = attentionOutputs(config)[0];
  OutputGrad grad;
  grad.values.resize(spec.numElements());
  for (double &x : grad.values)
    x = normal(rng);
  grad.buffer = encode(grad.values, spec.type);
  grad.values = decode(grad.buffer.data(), grad.values.size(), spec.type);
  return grad;
}

GradientOutputs::GradientOutputs(const AttentionConfig &config) {
  for (const TensorSpec &spec : attentionGradOutputs(config))
    buffers.emplace_back(spec.numBytes());
}

std::vector<void *> GradientOutputs::pointers() {
  std::vector<void *> result;
  for (auto &buffer : buffers)
    result.push_back(buffer.data());
  return result;
}

double GradientComparison::worstRelL2() const {
  return *std::max_element(std::begin(relL2), std::end(relL2));
}

bool GradientComparison::passes(ElementType type) const {
  return worstRelL2() <= tolerance(type);
}

std::string GradientComparison::str() const {
  return llvm::formatv("dQ rel_l2={0:e}, dK rel_l2={1:e}, dV rel_l2={2:e}, "
                       "dW rel_l2={3:e}",
                       relL2[0], relL2[1], relL2[2], relL2[3])
      .str();
}

GradientComparison compareGradients(const AttentionConfig &config,
                                    const GradientOutputs &outputs,
                                    const oracle::Gradients &reference) {
  GradientComparison result;
  const std::vector<double> *expected[] = {&reference.dq, &reference.dk,
                                           &reference.dv, &reference.dw};
  std::vector<TensorSpec> specs = attentionGradOutputs(config);
  for (size_t i = 0; i < specs.size(); ++i)
    result.relL2[i] = relativeL2(decode(outputs.buffers[i].data(),
                                        specs[i].numElements(), specs[i].type),
                                 *expected[i]);
  return result;
}

double density(const AttentionConfig &config,
               const std::vector<int32_t> &counts) {
  double sum = 0;
  for (size_t row = 0; row < counts.size(); ++row) {
    int64_t i = static_cast<int64_t>(row) % config.seqLen;
    sum += static_cast<double>(counts[row]) / (i / config.blockSize + 1);
  }
  return counts.empty() ? 0.0 : sum / counts.size();
}

} // namespace dash::check
