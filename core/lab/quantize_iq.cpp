#include "lab/quantize_iq.h"

#include <algorithm>
#include <cmath>
#include <span>

#include "lab/quantize.h"
#include "ref/dequant.h"

namespace tokenfab::ref::iquant {
namespace {

constexpr uint32_t kGroup = 32;  // elements per scale: an IQ4_NL block, an IQ4_XS sub-block

// Index of the code-book value nearest to v (v in code-book units; the lower index on ties).
uint8_t nearestCode(float v) {
  const std::span<const int8_t, 16> book = iq4NlCodeBook();
  uint8_t best = 0;
  for (uint8_t i = 1; i < 16; ++i)
    if (std::fabs(v - book[i]) < std::fabs(v - book[best])) best = i;
  return best;
}

// Codes of 32 elements for the scale d (value = d * book[code]); d == 0 gives the code nearest 0.
void pickCodes(const float* x, float d, uint8_t* codes) {
  for (uint32_t j = 0; j < kGroup; ++j) codes[j] = nearestCode(d == 0.0f ? 0.0f : x[j] / d);
}

// A scale for 32 elements: the element of largest magnitude maps to the code book's -127, then
// the least-squares scale for the codes that gives. 0 for a group of zeros.
float groupScale(const float* x) {
  float amax = 0.0f, max = 0.0f;
  for (uint32_t j = 0; j < kGroup; ++j) {
    if (std::fabs(x[j]) > amax) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  if (amax == 0.0f) return 0.0f;
  const float d0 = max / -127.0f;
  uint8_t codes[kGroup];
  pickCodes(x, d0, codes);
  const std::span<const int8_t, 16> book = iq4NlCodeBook();
  double sxq = 0.0, sqq = 0.0;
  for (uint32_t j = 0; j < kGroup; ++j) {
    sxq += double(x[j]) * book[codes[j]];
    sqq += double(book[codes[j]]) * book[codes[j]];
  }
  return sqq > 0.0 ? static_cast<float>(sxq / sqq) : d0;
}

void storeU16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v & 0xFF);
  p[1] = static_cast<uint8_t>(v >> 8);
}

// 32 codes as 16 bytes: element j < 16 in the low nibble of byte j, j >= 16 in the high nibble of
// byte j - 16.
void packNibbles(const uint8_t* codes, uint8_t* qs) {
  for (uint32_t j = 0; j < kGroup / 2; ++j) qs[j] = static_cast<uint8_t>(codes[j] | (codes[j + kGroup / 2] << 4));
}

}  // namespace

void blockIq4Nl(const float* x, uint8_t* b) {
  const uint16_t h = floatToFp16(groupScale(x));
  storeU16(b, h);
  uint8_t codes[kGroup];
  pickCodes(x, fp16ToFloat(h), codes);  // codes for the scale the block stores
  packNibbles(codes, b + 2);
}

void blockIq4Xs(const float* x, uint8_t* b) {
  float scales[8];
  float max_scale = 0.0f;
  for (uint32_t ib = 0; ib < 8; ++ib) {
    scales[ib] = groupScale(x + kGroup * ib);
    if (std::fabs(scales[ib]) > std::fabs(max_scale)) max_scale = scales[ib];
  }
  // The largest sub-block scale becomes -32 super-block steps (6-bit scales count -32..31).
  const uint16_t h = floatToFp16(max_scale / -32.0f);
  const float d = fp16ToFloat(h);
  storeU16(b, h);
  uint16_t scales_h = 0;
  uint8_t* scales_l = b + 4;
  std::fill(scales_l, scales_l + 4, uint8_t{0});
  for (uint32_t ib = 0; ib < 8; ++ib) {
    const int l = d == 0.0f ? 0 : std::clamp(static_cast<int>(std::lround(scales[ib] / d)), -32, 31);
    const uint32_t ls = static_cast<uint32_t>(l + 32);
    scales_l[ib / 2] = static_cast<uint8_t>(scales_l[ib / 2] | ((ls & 15) << (4 * (ib % 2))));
    scales_h = static_cast<uint16_t>(scales_h | ((ls >> 4) << (2 * ib)));
    uint8_t codes[kGroup];
    pickCodes(x + kGroup * ib, d * static_cast<float>(l), codes);
    packNibbles(codes, b + 8 + 16 * ib);
  }
  storeU16(b + 2, scales_h);
}

}  // namespace tokenfab::ref::iquant
