// Reference quantizers: byte-identical to ggml's output for the quant-zoo source matrix,
// round-trip error within the format's bound on random data, exact f16/bf16 rounding cases.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "ref/dequant.h"
#include "lab/quantize.h"
#include "shared_data.h"
#include "tokenfab/gguf.h"

namespace tokenfab {
namespace {

using gguf::TensorType;

// ggml (llama-quantize, no imatrix) quantized `source.weight` into every type: our quantizer
// applied to the same floats must produce the same bytes.
TEST(Quantize, MatchesGgmlOnQuantZoo) {
  TF_SHARED_FILE(path, "models/fixtures/quant-zoo.gguf");
  auto file = gguf::GgufFile::open(path);
  ASSERT_TRUE(file.isOk()) << file.status().toString();
  const gguf::TensorInfo* src_info = file->tensor("source.weight");
  ASSERT_NE(src_info, nullptr);
  ASSERT_EQ(src_info->type, TensorType::kF32);
  const auto src_bytes = file->tensorData(*src_info);
  std::vector<float> src(src_info->n_elements);
  ASSERT_EQ(src_bytes.size(), src.size() * 4);
  std::memcpy(src.data(), src_bytes.data(), src_bytes.size());

  const std::pair<TensorType, const char*> cases[] = {
      {TensorType::kF16, "f16.weight"},   {TensorType::kBF16, "bf16.weight"},
      {TensorType::kQ8_0, "q8_0.weight"}, {TensorType::kQ4_0, "q4_0.weight"},
      {TensorType::kQ4_1, "q4_1.weight"}, {TensorType::kQ5_0, "q5_0.weight"},
      {TensorType::kQ5_1, "q5_1.weight"}, {TensorType::kQ2_K, "q2_K.weight"},
      {TensorType::kQ3_K, "q3_K.weight"}, {TensorType::kQ4_K, "q4_K.weight"},
      {TensorType::kQ5_K, "q5_K.weight"}, {TensorType::kQ6_K, "q6_K.weight"},
  };
  for (const auto& [type, name] : cases) {
    SCOPED_TRACE(name);
    const gguf::TensorInfo* info = file->tensor(name);
    ASSERT_NE(info, nullptr);
    ASSERT_EQ(info->type, type);
    const auto want = file->tensorData(*info);
    auto got = ref::quantize(type, src);
    ASSERT_TRUE(got.isOk()) << got.status().toString();
    ASSERT_EQ(got->size(), want.size());
    size_t first_diff = got->size();
    for (size_t i = 0; i < got->size(); ++i) {
      if ((*got)[i] != want[i]) {
        first_diff = i;
        break;
      }
    }
    EXPECT_EQ(first_diff, got->size()) << "first differing byte " << first_diff;
  }
}

// Quantize -> dequantize on random rows; per-element error within what the format allows:
// half a quantization step plus the f16 rounding of the scale (relative 2^-11 of the range).
TEST(Quantize, RoundTripWithinBound) {
  const uint32_t seed = 1234;
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const size_t n = 32 * 257;
  std::vector<float> x(n);
  for (size_t i = 0; i < n; ++i) x[i] = normal(rng) * (i % 97 == 0 ? 20.0f : 1.0f);
  // One all-zero block and one constant block: scales of zero must not produce NaN.
  for (size_t i = 64; i < 96; ++i) x[i] = 0.0f;
  for (size_t i = 96; i < 128; ++i) x[i] = 3.25f;

  struct Case {
    TensorType type;
    float steps;  // levels across the block's range
    bool clamp;   // one end of the range is clamped by one step (Q4_0/Q5_0)
  };
  for (const Case c : {Case{TensorType::kQ8_0, 254, false}, Case{TensorType::kQ4_0, 16, true},
                       Case{TensorType::kQ4_1, 15, false}, Case{TensorType::kQ5_0, 32, true},
                       Case{TensorType::kQ5_1, 31, false}}) {
    SCOPED_TRACE(std::string(gguf::typeName(c.type)) + " seed " + std::to_string(seed));
    auto q = ref::quantize(c.type, x);
    ASSERT_TRUE(q.isOk()) << q.status().toString();
    std::vector<float> y(n);
    ASSERT_TRUE(ref::dequantize(c.type, *q, y).isOk());
    for (size_t b = 0; b < n / 32; ++b) {
      float lo = x[b * 32], hi = x[b * 32];
      for (size_t j = 0; j < 32; ++j) {
        lo = std::min(lo, x[b * 32 + j]);
        hi = std::max(hi, x[b * 32 + j]);
      }
      const float amax = std::max(std::fabs(lo), std::fabs(hi));
      const float range = (c.type == TensorType::kQ4_1 || c.type == TensorType::kQ5_1) ? hi - lo
                                                                                      : 2 * amax;
      const float step = range / c.steps;
      const float bound = (c.clamp ? 1.0f : 0.5f) * step + amax * std::ldexp(1.0f, -10) + 1e-30f;
      for (size_t j = 0; j < 32; ++j) {
        const size_t i = b * 32 + j;
        ASSERT_FALSE(std::isnan(y[i])) << i;
        ASSERT_LE(std::fabs(y[i] - x[i]), bound) << "element " << i << " x " << x[i];
      }
    }
  }
}

// K-quants on edge blocks: all zeros decode to zeros, constant and single-spike blocks stay
// finite and close (the zoo test above checks the bytes against ggml on random data).
TEST(Quantize, KQuantEdgeBlocks) {
  for (TensorType type : {TensorType::kQ2_K, TensorType::kQ3_K, TensorType::kQ4_K, TensorType::kQ5_K,
                          TensorType::kQ6_K}) {
    SCOPED_TRACE(std::string(gguf::typeName(type)));
    std::vector<float> x(3 * 256, 0.0f);
    for (size_t i = 256; i < 512; ++i) x[i] = -1.5f;
    x[512 + 77] = 4.0f;  // one spike among zeros
    auto q = ref::quantize(type, x);
    ASSERT_TRUE(q.isOk()) << q.status().toString();
    std::vector<float> y(x.size());
    ASSERT_TRUE(ref::dequantize(type, *q, y).isOk());
    for (size_t i = 0; i < 256; ++i) ASSERT_EQ(y[i], 0.0f) << i;
    for (size_t i = 256; i < x.size(); ++i) {
      ASSERT_TRUE(std::isfinite(y[i])) << i;
      ASSERT_LE(std::fabs(y[i] - x[i]), 0.1f) << "element " << i;
    }
  }
}

// IQ4_NL and IQ4_XS (a simpler encoder than ggml's, quantize_iq.h): random normal weights come
// back within a bound measured for a 4-bit non-linear code (relative RMS error ~0.1), and a block of
// zeros decodes to zeros.
TEST(Quantize, Iq4RoundTrip) {
  for (TensorType type : {TensorType::kIQ4_NL, TensorType::kIQ4_XS}) {
    SCOPED_TRACE(static_cast<int>(type));
    uint64_t state = 12345;
    auto next = [&] {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      return static_cast<double>(state >> 11) / 9007199254740992.0;
    };
    std::vector<float> x(4096);
    for (float& v : x)  // Box-Muller, scale varying by block so sub-block scales differ
      v = static_cast<float>(std::sqrt(-2.0 * std::log(1.0 - next())) * std::cos(6.283185307179586 * next()) * 0.02);
    for (size_t i = 0; i < x.size(); ++i) x[i] *= 1.0f + static_cast<float>((i / 32) % 5);
    auto q = ref::quantize(type, x);
    ASSERT_TRUE(q.isOk()) << q.status().toString();
    std::vector<float> y(x.size());
    ASSERT_TRUE(ref::dequantize(type, *q, y).isOk());
    double err = 0, norm = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      err += (double(x[i]) - y[i]) * (double(x[i]) - y[i]);
      norm += double(x[i]) * x[i];
    }
    const double rel = std::sqrt(err / norm);
    std::printf("[ measured ] type %d: relative RMS error %.4f\n", static_cast<int>(type), rel);
    EXPECT_LT(rel, 0.13);
    auto zq = ref::quantize(type, std::vector<float>(256, 0.0f));
    ASSERT_TRUE(zq.isOk());
    std::vector<float> z(256, 1.0f);
    ASSERT_TRUE(ref::dequantize(type, *zq, z).isOk());
    for (float v : z) EXPECT_EQ(v, 0.0f);
  }
}

TEST(Quantize, Fp16RoundingCases) {
  const auto h = [](float f) { return ref::floatToFp16(f); };
  EXPECT_EQ(h(1.0f), 0x3C00);
  EXPECT_EQ(h(-2.0f), 0xC000);
  EXPECT_EQ(h(65504.0f), 0x7BFF);
  EXPECT_EQ(h(65519.0f), 0x7BFF);  // below the midpoint to 65536
  EXPECT_EQ(h(65520.0f), 0x7C00);  // the midpoint ties to even: infinity
  EXPECT_EQ(h(1e10f), 0x7C00);
  EXPECT_EQ(h(-INFINITY), 0xFC00);
  EXPECT_EQ(h(1.0f + std::ldexp(1.0f, -11)), 0x3C00);      // tie -> even
  EXPECT_EQ(h(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3C02);  // tie -> even (up)
  EXPECT_EQ(h(std::ldexp(1.0f, -24)), 0x0001);              // smallest subnormal
  EXPECT_EQ(h(std::ldexp(1.0f, -25)), 0x0000);              // tie -> even (zero)
  EXPECT_EQ(h(std::ldexp(3.0f, -26)), 0x0001);              // 0.75 of a step rounds up
  EXPECT_EQ(h(std::ldexp(3.0f, -25)), 0x0002);              // 1.5 steps tie -> even 2
  EXPECT_EQ(h(std::ldexp(1023.5f, -24)), 0x0400);           // rounds up into the normals
  EXPECT_EQ(h(-0.0f), 0x8000);
  const uint16_t nan = h(NAN);
  EXPECT_EQ(nan & 0x7C00, 0x7C00);
  EXPECT_NE(nan & 0x03FF, 0);
}

// Every finite half survives half -> float -> half; every float rounds to a nearest half.
TEST(Quantize, Fp16ExhaustiveRoundTrip) {
  for (uint32_t bits = 0; bits < 0x10000; ++bits) {
    const uint16_t hb = static_cast<uint16_t>(bits);
    const float f = ref::fp16ToFloat(hb);
    if (std::isnan(f)) continue;
    ASSERT_EQ(ref::floatToFp16(f), hb) << std::hex << bits;
  }
  std::mt19937 rng(99);
  std::uniform_real_distribution<float> u(-70000.0f, 70000.0f);
  for (int i = 0; i < 100000; ++i) {
    const float f = u(rng) * (i % 3 == 0 ? 1e-6f : 1.0f);
    const uint16_t hb = ref::floatToFp16(f);
    const float back = ref::fp16ToFloat(hb);
    if (std::isinf(back)) {
      ASSERT_GE(std::fabs(f), 65520.0f);
      continue;
    }
    // No representable half lies strictly closer than the chosen one.
    const float up = ref::fp16ToFloat(static_cast<uint16_t>(hb + 1));
    const float down = (hb & 0x7FFF) ? ref::fp16ToFloat(static_cast<uint16_t>(hb - 1)) : back;
    ASSERT_LE(std::fabs(back - f), std::fabs(up - f)) << f;
    ASSERT_LE(std::fabs(back - f), std::fabs(down - f)) << f;
  }
}

TEST(Quantize, Bf16RoundingCases) {
  EXPECT_EQ(ref::floatToBf16(1.0f), 0x3F80);
  EXPECT_EQ(ref::floatToBf16(-3.0f), 0xC040);
  EXPECT_EQ(ref::floatToBf16(std::bit_cast<float>(0x3F808000u)), 0x3F80);  // tie -> even
  EXPECT_EQ(ref::floatToBf16(std::bit_cast<float>(0x3F818000u)), 0x3F82);  // tie -> even (up)
  EXPECT_EQ(ref::floatToBf16(std::bit_cast<float>(0x3F808001u)), 0x3F81);
  const uint16_t nan = ref::floatToBf16(NAN);
  EXPECT_TRUE(std::isnan(ref::bf16ToFloat(nan)));
}

TEST(Quantize, BadInput) {
  std::vector<float> x(31, 1.0f);
  EXPECT_EQ(ref::quantize(TensorType::kQ8_0, x).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ref::quantize(TensorType::kIQ2_XXS, x).status().code(), Code::kUnsupported);
  EXPECT_FALSE(ref::canQuantize(TensorType::kQ8_1));
  EXPECT_TRUE(ref::canQuantize(TensorType::kQ8_0));
  std::vector<float> bad(64, 1.0f);
  bad[40] = NAN;
  EXPECT_EQ(ref::quantize(TensorType::kQ4_K, std::vector<float>(256, INFINITY)).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(ref::quantize(TensorType::kQ8_0, bad).status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(ref::quantize(TensorType::kF16, bad).isOk());  // float types carry NaN as is
  // Subnormal blocks: the scale's inverse overflows; the result is zeros, never NaN.
  for (TensorType type : {TensorType::kQ8_0, TensorType::kQ4_0, TensorType::kQ4_1, TensorType::kQ5_0,
                          TensorType::kQ5_1, TensorType::kQ2_K, TensorType::kQ3_K, TensorType::kQ4_K,
                          TensorType::kQ5_K, TensorType::kQ6_K}) {
    std::vector<float> tiny(256);
    for (size_t i = 0; i < tiny.size(); ++i) tiny[i] = std::ldexp(float(i % 7) - 3.0f, -140);
    auto q = ref::quantize(type, tiny);
    ASSERT_TRUE(q.isOk()) << gguf::typeName(type);
    std::vector<float> y(tiny.size());
    ASSERT_TRUE(ref::dequantize(type, *q, y).isOk());
    for (float v : y) ASSERT_TRUE(std::isfinite(v) && std::fabs(v) < 1e-30f) << gguf::typeName(type) << " " << v;
  }
  auto empty = ref::quantize(TensorType::kQ4_0, std::span<const float>{});
  ASSERT_TRUE(empty.isOk());
  EXPECT_TRUE(empty->empty());
}

}  // namespace
}  // namespace tokenfab
