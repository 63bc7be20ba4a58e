// Reference quantizers with ggml's rounding: the scale is stored as f16 and the quants are
// computed with the float32 inverse of the unrounded scale, as quantize_row_*_ref does.
#include "lab/quantize.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <string>

#include "ref/dequant.h"
#include "lab/quantize_iq.h"
#include "lab/quantize_k.h"

namespace tokenfab::ref {
namespace {

using gguf::TensorType;
constexpr uint32_t kQK = 32;

void storeU16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v & 0xFF);
  p[1] = static_cast<uint8_t>(v >> 8);
}
void storeU32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

// 1/d as ggml computes it, except that a scale so small its inverse overflows (a block of
// subnormals) quantizes to zeros instead of converting inf/NaN to an integer (undefined).
float inverseOrZero(float d) {
  if (d == 0.0f) return 0.0f;
  const float id = 1.0f / d;
  return std::isfinite(id) ? id : 0.0f;
}

// Q8_0: d = max|x| / 127, q = round(x / d) (round half away from zero, as roundf).
void blockQ8_0(const float* x, uint8_t* b) {
  float amax = 0.0f;
  for (uint32_t j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(x[j]));
  const float d = amax / 127.0f;
  const float id = inverseOrZero(d);
  storeU16(b, floatToFp16(d));
  for (uint32_t j = 0; j < kQK; ++j) {
    b[2 + j] = static_cast<uint8_t>(static_cast<int8_t>(std::roundf(x[j] * id)));
  }
}

// The element of largest magnitude, with its sign (the first one on ties).
float signedAbsMax(const float* x) {
  float amax = 0.0f, max = 0.0f;
  for (uint32_t j = 0; j < kQK; ++j) {
    if (amax < std::fabs(x[j])) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  return max;
}

// Q4_0: d = max / -8 so the extreme maps to -8; q = min(15, trunc(x / d + 8.5)).
void blockQ4_0(const float* x, uint8_t* b) {
  const float d = signedAbsMax(x) / -8.0f;
  const float id = inverseOrZero(d);
  storeU16(b, floatToFp16(d));
  for (uint32_t j = 0; j < kQK / 2; ++j) {
    const int x0 = std::min(15, static_cast<int>(static_cast<int8_t>(x[j] * id + 8.5f)));
    const int x1 = std::min(15, static_cast<int>(static_cast<int8_t>(x[j + kQK / 2] * id + 8.5f)));
    b[2 + j] = static_cast<uint8_t>(x0 | (x1 << 4));
  }
}

// Q4_1: d = (max - min) / 15, m = min; q = min(15, trunc((x - min) / d + 0.5)).
void blockQ4_1(const float* x, uint8_t* b) {
  float min = x[0], max = x[0];
  for (uint32_t j = 1; j < kQK; ++j) {
    min = std::min(min, x[j]);
    max = std::max(max, x[j]);
  }
  const float d = (max - min) / 15.0f;
  const float id = inverseOrZero(d);
  storeU16(b, floatToFp16(d));
  storeU16(b + 2, floatToFp16(min));
  for (uint32_t j = 0; j < kQK / 2; ++j) {
    const int x0 = std::min(15, static_cast<int>(static_cast<int8_t>((x[j] - min) * id + 0.5f)));
    const int x1 =
        std::min(15, static_cast<int>(static_cast<int8_t>((x[j + kQK / 2] - min) * id + 0.5f)));
    b[4 + j] = static_cast<uint8_t>(x0 | (x1 << 4));
  }
}

// Q5_0: d = max / -16; q = min(31, trunc(x / d + 16.5)); bit 4 of each quant goes to qh.
void blockQ5_0(const float* x, uint8_t* b) {
  const float d = signedAbsMax(x) / -16.0f;
  const float id = inverseOrZero(d);
  storeU16(b, floatToFp16(d));
  uint32_t qh = 0;
  for (uint32_t j = 0; j < kQK / 2; ++j) {
    const int x0 = std::min(31, static_cast<int>(static_cast<int8_t>(x[j] * id + 16.5f)));
    const int x1 = std::min(31, static_cast<int>(static_cast<int8_t>(x[j + kQK / 2] * id + 16.5f)));
    b[6 + j] = static_cast<uint8_t>((x0 & 0x0F) | ((x1 & 0x0F) << 4));
    qh |= uint32_t((x0 & 0x10) >> 4) << j;
    qh |= uint32_t((x1 & 0x10) >> 4) << (j + kQK / 2);
  }
  storeU32(b + 2, qh);
}

// Q5_1: d = (max - min) / 31, m = min.
void blockQ5_1(const float* x, uint8_t* b) {
  float min = x[0], max = x[0];
  for (uint32_t j = 1; j < kQK; ++j) {
    min = std::min(min, x[j]);
    max = std::max(max, x[j]);
  }
  const float d = (max - min) / 31.0f;
  const float id = inverseOrZero(d);
  storeU16(b, floatToFp16(d));
  storeU16(b + 2, floatToFp16(min));
  uint32_t qh = 0;
  for (uint32_t j = 0; j < kQK / 2; ++j) {
    const int x0 = static_cast<int>(static_cast<uint8_t>((x[j] - min) * id + 0.5f));
    const int x1 = static_cast<int>(static_cast<uint8_t>((x[j + kQK / 2] - min) * id + 0.5f));
    b[8 + j] = static_cast<uint8_t>((x0 & 0x0F) | ((x1 & 0x0F) << 4));
    qh |= uint32_t((x0 & 0x10) >> 4) << j;
    qh |= uint32_t((x1 & 0x10) >> 4) << (j + kQK / 2);
  }
  storeU32(b + 4, qh);
}

void blockF32(const float* x, uint8_t* b) { std::memcpy(b, x, 4); }
void blockF16(const float* x, uint8_t* b) { storeU16(b, floatToFp16(*x)); }
void blockBf16(const float* x, uint8_t* b) { storeU16(b, floatToBf16(*x)); }

using BlockFn = void (*)(const float*, uint8_t*);

BlockFn encoder(TensorType type) {
  switch (type) {
    case TensorType::kF32: return blockF32;
    case TensorType::kF16: return blockF16;
    case TensorType::kBF16: return blockBf16;
    case TensorType::kQ8_0: return blockQ8_0;
    case TensorType::kQ4_0: return blockQ4_0;
    case TensorType::kQ4_1: return blockQ4_1;
    case TensorType::kQ5_0: return blockQ5_0;
    case TensorType::kQ5_1: return blockQ5_1;
    case TensorType::kQ2_K: return kquant::blockQ2_K;
    case TensorType::kQ3_K: return kquant::blockQ3_K;
    case TensorType::kQ4_K: return kquant::blockQ4_K;
    case TensorType::kQ5_K: return kquant::blockQ5_K;
    case TensorType::kQ6_K: return kquant::blockQ6_K;
    case TensorType::kIQ4_NL: return iquant::blockIq4Nl;
    case TensorType::kIQ4_XS: return iquant::blockIq4Xs;
    default: return nullptr;
  }
}

}  // namespace

uint16_t floatToFp16(float f) {
  const uint32_t x = std::bit_cast<uint32_t>(f);
  const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000);
  const uint32_t abs = x & 0x7FFFFFFFu;
  if (abs > 0x7F800000u) {  // NaN: keep it a quiet NaN with the top payload bits
    return static_cast<uint16_t>(sign | 0x7E00 | ((abs >> 13) & 0x3FF));
  }
  if (abs >= 0x477FF000u) return static_cast<uint16_t>(sign | 0x7C00);  // rounds to >= 65536: inf
  const int exp = static_cast<int>(abs >> 23) - 127;
  if (exp >= -14) {
    // Normal half: drop 13 mantissa bits with round-to-nearest-even; a carry bumps the exponent.
    uint32_t h = ((static_cast<uint32_t>(exp + 15) << 10) | ((abs >> 13) & 0x3FF));
    const uint32_t rest = abs & 0x1FFF;
    if (rest > 0x1000 || (rest == 0x1000 && (h & 1))) ++h;
    return static_cast<uint16_t>(sign | h);
  }
  if (exp < -25) return sign;  // below half the smallest subnormal: rounds to zero
  // Subnormal half: value = mant * 2^-24; shift the 24-bit significand right accordingly.
  const uint32_t mant = (abs & 0x7FFFFFu) | 0x800000u;
  const int shift = -exp - 1;  // 14..24: mant >> shift is the subnormal count (2^-24 units)
  uint32_t h = mant >> shift;
  const uint32_t rest = mant & ((1u << shift) - 1);
  const uint32_t half = 1u << (shift - 1);
  if (rest > half || (rest == half && (h & 1))) ++h;
  return static_cast<uint16_t>(sign | h);
}

uint16_t floatToBf16(float f) {
  const uint32_t x = std::bit_cast<uint32_t>(f);
  if ((x & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<uint16_t>((x >> 16) | 64);
  return static_cast<uint16_t>((x + (0x7FFFu + ((x >> 16) & 1))) >> 16);
}

bool canQuantize(gguf::TensorType type) { return encoder(type) != nullptr; }

Result<std::vector<uint8_t>> quantize(gguf::TensorType type, std::span<const float> src) {
  const BlockFn fn = encoder(type);
  const auto layout = blockLayout(type);
  if (fn == nullptr || !layout) {
    return Status(Code::kUnsupported, "quantize: tensor type " +
                                          std::to_string(static_cast<uint32_t>(type)) +
                                          " is not supported");
  }
  if (layout->block_size > 1) {
    // Quantized blocks cannot hold inf/NaN (and ggml's rounding of them is undefined).
    for (size_t i = 0; i < src.size(); ++i) {
      if (!std::isfinite(src[i])) {
        return Status(Code::kInvalidArgument,
                      "quantize: element " + std::to_string(i) + " is not finite (" + std::to_string(src[i]) + ")");
      }
    }
  }
  if (src.size() % layout->block_size != 0) {
    return Status(Code::kInvalidArgument,
                  "quantize: " + std::to_string(src.size()) +
                      " elements is not a multiple of the block size " +
                      std::to_string(layout->block_size));
  }
  const size_t n_blocks = src.size() / layout->block_size;
  std::vector<uint8_t> out(n_blocks * layout->block_bytes);
  for (size_t i = 0; i < n_blocks; ++i) {
    fn(src.data() + i * layout->block_size, out.data() + i * layout->block_bytes);
  }
  return out;
}

}  // namespace tokenfab::ref
