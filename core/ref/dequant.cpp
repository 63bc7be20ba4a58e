// Block decoders following ggml's block structs (ggml-common.h) and the float32 operation order
// of ggml's dequantize_row_* so the results are bit-identical. Multi-byte fields are
// little-endian; they are assembled byte by byte so the host's alignment never matters.
#include "ref/dequant.h"

#include <bit>
#include <cstring>
#include <string>

#include "tokenfab/iq_grids.h"

namespace tokenfab::ref {
namespace {

using gguf::TensorType;

constexpr uint32_t kQK = 32;    // legacy block size
constexpr uint32_t kQKK = 256;  // k-quant super-block size

// IQ4_NL's non-linear 4-bit code book (published constant of the format).
constexpr int8_t kIq4NlValues[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                     1,    13,   25,  38,  53,  69,  89,  113};

uint16_t loadU16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t loadU32(const uint8_t* p) {
  return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24);
}
float loadF16(const uint8_t* p) { return fp16ToFloat(loadU16(p)); }

// block_q4_0 {f16 d; u8 qs[16]}: low nibbles are elements 0..15, high nibbles 16..31.
void blockQ4_0(const uint8_t* b, float* y) {
  const float d = loadF16(b);
  const uint8_t* qs = b + 2;
  for (uint32_t j = 0; j < kQK / 2; ++j) {
    const int x0 = (qs[j] & 0x0F) - 8;
    const int x1 = (qs[j] >> 4) - 8;
    y[j] = x0 * d;
    y[j + kQK / 2] = x1 * d;
  }
}

// block_q4_1 {f16 d; f16 m; u8 qs[16]}
void blockQ4_1(const uint8_t* b, float* y) {
  const float d = loadF16(b);
  const float m = loadF16(b + 2);
  const uint8_t* qs = b + 4;
  for (uint32_t j = 0; j < kQK / 2; ++j) {
    const int x0 = qs[j] & 0x0F;
    const int x1 = qs[j] >> 4;
    y[j] = x0 * d + m;
    y[j + kQK / 2] = x1 * d + m;
  }
}

// block_q5_0 {f16 d; u8 qh[4]; u8 qs[16]}: bit j of qh is the 5th bit of element j.
void blockQ5_0(const uint8_t* b, float* y) {
  const float d = loadF16(b);
  const uint32_t qh = loadU32(b + 2);
  const uint8_t* qs = b + 6;
  for (uint32_t j = 0; j < kQK / 2; ++j) {
    const uint32_t xh0 = ((qh >> j) << 4) & 0x10;
    const uint32_t xh1 = (qh >> (j + 12)) & 0x10;
    const int x0 = static_cast<int>((qs[j] & 0x0Fu) | xh0) - 16;
    const int x1 = static_cast<int>((qs[j] >> 4) | xh1) - 16;
    y[j] = x0 * d;
    y[j + kQK / 2] = x1 * d;
  }
}

// block_q5_1 {f16 d; f16 m; u8 qh[4]; u8 qs[16]}
void blockQ5_1(const uint8_t* b, float* y) {
  const float d = loadF16(b);
  const float m = loadF16(b + 2);
  const uint32_t qh = loadU32(b + 4);
  const uint8_t* qs = b + 8;
  for (uint32_t j = 0; j < kQK / 2; ++j) {
    const uint32_t xh0 = ((qh >> j) << 4) & 0x10;
    const uint32_t xh1 = (qh >> (j + 12)) & 0x10;
    const int x0 = static_cast<int>((qs[j] & 0x0Fu) | xh0);
    const int x1 = static_cast<int>((qs[j] >> 4) | xh1);
    y[j] = x0 * d + m;
    y[j + kQK / 2] = x1 * d + m;
  }
}

// block_q8_0 {f16 d; i8 qs[32]}
void blockQ8_0(const uint8_t* b, float* y) {
  const float d = loadF16(b);
  for (uint32_t j = 0; j < kQK; ++j) y[j] = static_cast<int8_t>(b[2 + j]) * d;
}

// block_iq4_nl {f16 d; u8 qs[16]}: nibbles index the code book.
void blockIq4Nl(const uint8_t* b, float* y) {
  const float d = loadF16(b);
  const uint8_t* qs = b + 2;
  for (uint32_t j = 0; j < kQK / 2; ++j) {
    y[j] = d * kIq4NlValues[qs[j] & 0x0F];
    y[j + kQK / 2] = d * kIq4NlValues[qs[j] >> 4];
  }
}

// block_iq4_xs {f16 d; u16 scales_h; u8 scales_l[4]; u8 qs[128]}: 8 sub-blocks of 32, each with
// a 6-bit scale ls (low 4 bits: nibble ib % 2 of scales_l[ib / 2]; high 2 bits: bits 2 ib, 2 ib + 1
// of scales_h) that counts from -32; the sub-block's 16 bytes of qs index the IQ4_NL code book as
// an IQ4_NL block does (element j < 16 in the low nibble of byte j, j >= 16 in the high nibble of
// byte j - 16).
void blockIq4Xs(const uint8_t* b, float* y) {
  const float d = loadF16(b);
  const uint32_t scales_h = loadU16(b + 2);
  const uint8_t* scales_l = b + 4;
  const uint8_t* qs = b + 8;
  for (uint32_t ib = 0; ib < kQKK / 32; ++ib) {
    const int ls = static_cast<int>(((scales_l[ib / 2] >> (4 * (ib % 2))) & 0x0F) | (((scales_h >> (2 * ib)) & 3) << 4));
    const float dl = d * static_cast<float>(ls - 32);
    for (uint32_t j = 0; j < 16; ++j) {
      y[j] = dl * kIq4NlValues[qs[j] & 0x0F];
      y[j + 16] = dl * kIq4NlValues[qs[j] >> 4];
    }
    y += 32;
    qs += 16;
  }
}

// block_iq3_s {f16 d; u8 qs[64]; u8 qh[8]; u8 signs[32]; u8 scales[4]}: 8 sub-blocks of 32, each
// 8 quads of 4 elements. Quad g (0..7) of sub-block ib takes its 4 magnitudes from grid entry
// qs[8 ib + g] | bit g of qh[ib] << 8; element e (0..31) of the sub-block is negative when bit
// e % 8 of signs[4 ib + e / 8] is set. The sub-block's scale is d * (1 + 2 s), s the nibble
// ib % 2 of scales[ib / 2]. ggml's float order: (scale * magnitude), then the sign.
void blockIq3S(const uint8_t* b, float* y) {
  const float d = loadF16(b);
  const uint8_t* qs = b + 2;
  const uint8_t* qh = b + 66;
  const uint8_t* signs = b + 74;
  const uint8_t* scales = b + 106;
  for (uint32_t ib = 0; ib < kQKK / 32; ++ib) {
    const float dl = d * static_cast<float>(1 + 2 * ((scales[ib / 2] >> (4 * (ib % 2))) & 0x0F));
    for (uint32_t e = 0; e < 32; ++e) {
      const uint32_t g = e / 4;
      const uint32_t index = qs[8 * ib + g] | (((qh[ib] >> g) & 1u) << 8);
      const uint32_t magnitude = (iq::kIq3sGrid[index] >> (8 * (e % 4))) & 0xFF;
      const float v = dl * static_cast<float>(magnitude);
      y[32 * ib + e] = (signs[4 * ib + e / 8] >> (e % 8)) & 1 ? -v : v;
    }
  }
}

// block_iq3_xxs {f16 d; u8 qs[64]; u32 scales_and_signs[8]}: 8 sub-blocks of 32, each 8 quads of
// 4 elements. Quad g of sub-block ib takes its 4 magnitudes from grid entry qs[8 ib + g]. The
// sub-block's word w (little-endian, bytes 66 + 4 ib) holds its scale in bits 28..31 (d * (0.5 + s)
// * 0.5, in that float order) and four 7-bit sign fields: field l (bits 7l..7l + 6) gives the signs
// of elements 8l..8l + 6, and element 8l + 7 is negative when the field has an odd number of set
// bits (every run of 8 has an even number of negatives).
void blockIq3Xxs(const uint8_t* b, float* y) {
  const float d = loadF16(b);
  const uint8_t* qs = b + 2;
  for (uint32_t ib = 0; ib < kQKK / 32; ++ib) {
    const uint32_t w = loadU32(b + 66 + 4 * ib);
    const float dl = d * (0.5f + static_cast<float>(w >> 28)) * 0.5f;
    for (uint32_t e = 0; e < 32; ++e) {
      const uint32_t field = (w >> (7 * (e / 8))) & 0x7F;
      const uint32_t signs = field | ((std::popcount(field) & 1u) << 7);
      const uint32_t magnitude = (iq::kIq3xxsGrid[qs[8 * ib + e / 4]] >> (8 * (e % 4))) & 0xFF;
      const float v = dl * static_cast<float>(magnitude);
      y[32 * ib + e] = (signs >> (e % 8)) & 1 ? -v : v;
    }
  }
}

// block_q2_K {u8 scales[16]; u8 qs[64]; f16 d; f16 dmin}: 16 sub-blocks of 16, each with a
// 4-bit scale (low nibble) and 4-bit min (high nibble); 2-bit quants, 4 per byte.
void blockQ2_K(const uint8_t* b, float* y) {
  const uint8_t* scales = b;
  const uint8_t* q = b + 16;
  const float d = loadF16(b + 80);
  const float min = loadF16(b + 82);
  int is = 0;
  for (uint32_t n = 0; n < kQKK; n += 128) {
    int shift = 0;
    for (int j = 0; j < 4; ++j) {
      uint8_t sc = scales[is++];
      float dl = d * (sc & 0xF);
      float ml = min * (sc >> 4);
      for (int l = 0; l < 16; ++l) *y++ = dl * static_cast<int8_t>((q[l] >> shift) & 3) - ml;
      sc = scales[is++];
      dl = d * (sc & 0xF);
      ml = min * (sc >> 4);
      for (int l = 0; l < 16; ++l) *y++ = dl * static_cast<int8_t>((q[l + 16] >> shift) & 3) - ml;
      shift += 2;
    }
    q += 32;
  }
}

// block_q3_K {u8 hmask[32]; u8 qs[64]; u8 scales[12]; f16 d}: 16 signed 6-bit scales packed in
// 12 bytes (low 4 bits in bytes 0..7, high 2 bits in bytes 8..11); the 3rd quant bit in hmask
// is set for the non-negative half (a clear bit subtracts 4).
void blockQ3_K(const uint8_t* b, float* y) {
  const uint8_t* hm = b;
  const uint8_t* q = b + 32;
  const uint8_t* packed = b + 96;
  const float d_all = loadF16(b + 108);
  int8_t scales[16];
  for (int i = 0; i < 16; ++i) {
    const int low = (i < 8) ? (packed[i] & 0x0F) : (packed[i - 8] >> 4);
    const int high = (packed[8 + (i % 4)] >> (2 * (i / 4))) & 3;
    scales[i] = static_cast<int8_t>(low | (high << 4));
  }
  int is = 0;
  uint8_t m = 1;
  for (uint32_t n = 0; n < kQKK; n += 128) {
    int shift = 0;
    for (int j = 0; j < 4; ++j) {
      float dl = d_all * (scales[is++] - 32);
      for (int l = 0; l < 16; ++l) {
        *y++ = dl * (static_cast<int8_t>((q[l] >> shift) & 3) - ((hm[l] & m) ? 0 : 4));
      }
      dl = d_all * (scales[is++] - 32);
      for (int l = 0; l < 16; ++l) {
        *y++ = dl * (static_cast<int8_t>((q[l + 16] >> shift) & 3) - ((hm[l + 16] & m) ? 0 : 4));
      }
      shift += 2;
      m = static_cast<uint8_t>(m << 1);
    }
    q += 32;
  }
}

// 6-bit scale and min number j (0..7) of a Q4_K/Q5_K super-block, from 12 packed bytes.
void scaleMinK4(int j, const uint8_t* q, uint8_t* sc, uint8_t* mn) {
  if (j < 4) {
    *sc = q[j] & 63;
    *mn = q[j + 4] & 63;
  } else {
    *sc = static_cast<uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
    *mn = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
  }
}

// block_q4_K {f16 d; f16 dmin; u8 scales[12]; u8 qs[128]}: 8 sub-blocks of 32.
void blockQ4_K(const uint8_t* b, float* y) {
  const float d = loadF16(b);
  const float min = loadF16(b + 2);
  const uint8_t* scales = b + 4;
  const uint8_t* q = b + 16;
  int is = 0;
  for (uint32_t j = 0; j < kQKK; j += 64) {
    uint8_t sc, mn;
    scaleMinK4(is + 0, scales, &sc, &mn);
    const float d1 = d * sc;
    const float m1 = min * mn;
    scaleMinK4(is + 1, scales, &sc, &mn);
    const float d2 = d * sc;
    const float m2 = min * mn;
    for (int l = 0; l < 32; ++l) *y++ = d1 * (q[l] & 0xF) - m1;
    for (int l = 0; l < 32; ++l) *y++ = d2 * (q[l] >> 4) - m2;
    q += 32;
    is += 2;
  }
}

// block_q5_K {f16 d; f16 dmin; u8 scales[12]; u8 qh[32]; u8 qs[128]}
void blockQ5_K(const uint8_t* b, float* y) {
  const float d = loadF16(b);
  const float min = loadF16(b + 2);
  const uint8_t* scales = b + 4;
  const uint8_t* qh = b + 16;
  const uint8_t* ql = b + 48;
  int is = 0;
  uint8_t u1 = 1, u2 = 2;
  for (uint32_t j = 0; j < kQKK; j += 64) {
    uint8_t sc, mn;
    scaleMinK4(is + 0, scales, &sc, &mn);
    const float d1 = d * sc;
    const float m1 = min * mn;
    scaleMinK4(is + 1, scales, &sc, &mn);
    const float d2 = d * sc;
    const float m2 = min * mn;
    for (int l = 0; l < 32; ++l) *y++ = d1 * ((ql[l] & 0xF) + ((qh[l] & u1) ? 16 : 0)) - m1;
    for (int l = 0; l < 32; ++l) *y++ = d2 * ((ql[l] >> 4) + ((qh[l] & u2) ? 16 : 0)) - m2;
    ql += 32;
    is += 2;
    u1 = static_cast<uint8_t>(u1 << 2);
    u2 = static_cast<uint8_t>(u2 << 2);
  }
}

// block_q6_K {u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d}: 6-bit quants, low 4 bits in ql,
// high 2 bits in qh, 16 signed 8-bit scales.
void blockQ6_K(const uint8_t* b, float* y) {
  const uint8_t* ql = b;
  const uint8_t* qh = b + 128;
  const int8_t* sc = reinterpret_cast<const int8_t*>(b + 192);
  const float d = loadF16(b + 208);
  for (uint32_t n = 0; n < kQKK; n += 128) {
    for (int l = 0; l < 32; ++l) {
      const int is = l / 16;
      const int q1 = static_cast<int8_t>((ql[l + 0] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
      const int q2 = static_cast<int8_t>((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
      const int q3 = static_cast<int8_t>((ql[l + 0] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
      const int q4 = static_cast<int8_t>((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
      y[l + 0] = d * sc[is + 0] * q1;
      y[l + 32] = d * sc[is + 2] * q2;
      y[l + 64] = d * sc[is + 4] * q3;
      y[l + 96] = d * sc[is + 6] * q4;
    }
    y += 128;
    ql += 64;
    qh += 32;
    sc += 8;
  }
}

void blockF32(const uint8_t* b, float* y) { std::memcpy(y, b, 4); }
void blockF16(const uint8_t* b, float* y) { *y = loadF16(b); }
void blockBf16(const uint8_t* b, float* y) { *y = bf16ToFloat(loadU16(b)); }

using BlockFn = void (*)(const uint8_t*, float*);

// The decoder of each type the type table marks cpu_decode (gguf::typeTraits: its layout too).
BlockFn blockFn(TensorType type) {
  switch (type) {
    case TensorType::kF32: return blockF32;
    case TensorType::kF16: return blockF16;
    case TensorType::kBF16: return blockBf16;
    case TensorType::kQ4_0: return blockQ4_0;
    case TensorType::kQ4_1: return blockQ4_1;
    case TensorType::kQ5_0: return blockQ5_0;
    case TensorType::kQ5_1: return blockQ5_1;
    case TensorType::kQ8_0: return blockQ8_0;
    case TensorType::kIQ4_NL: return blockIq4Nl;
    case TensorType::kIQ4_XS: return blockIq4Xs;
    case TensorType::kIQ3_S: return blockIq3S;
    case TensorType::kIQ3_XXS: return blockIq3Xxs;
    case TensorType::kQ2_K: return blockQ2_K;
    case TensorType::kQ3_K: return blockQ3_K;
    case TensorType::kQ4_K: return blockQ4_K;
    case TensorType::kQ5_K: return blockQ5_K;
    case TensorType::kQ6_K: return blockQ6_K;
    default: return nullptr;
  }
}

const gguf::TypeTraits* cpuTraits(TensorType type) {
  const gguf::TypeTraits* traits = gguf::typeTraits(type);
  return traits != nullptr && traits->cpu_decode ? traits : nullptr;
}

}  // namespace

std::optional<BlockLayout> blockLayout(gguf::TensorType type) {
  if (const gguf::TypeTraits* traits = cpuTraits(type)) return BlockLayout{traits->block_size, traits->type_size};
  return std::nullopt;
}

float fp16ToFloat(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000) << 16;
  const uint32_t exp = (h >> 10) & 0x1F;
  uint32_t mant = h & 0x3FF;
  uint32_t bits;
  if (exp == 0x1F) {
    bits = sign | 0x7F800000u | (mant << 13);  // inf / NaN (payload kept)
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (mant << 13);  // 112 = 127 - 15
  } else if (mant == 0) {
    bits = sign;  // +-0
  } else {
    // Subnormal half: normalise the mantissa into a float32 normal.
    int e = -1;
    do {
      ++e;
      mant <<= 1;
    } while ((mant & 0x400) == 0);
    bits = sign | (uint32_t(112 - e) << 23) | ((mant & 0x3FF) << 13);
  }
  return std::bit_cast<float>(bits);
}

float bf16ToFloat(uint16_t h) { return std::bit_cast<float>(uint32_t(h) << 16); }

std::span<const int8_t, 16> iq4NlCodeBook() { return std::span<const int8_t, 16>(kIq4NlValues); }

bool canDequantize(gguf::TensorType type) { return cpuTraits(type) != nullptr; }

Status dequantize(gguf::TensorType type, std::span<const uint8_t> src, std::span<float> dst) {
  const gguf::TypeTraits* traits = cpuTraits(type);
  if (traits == nullptr) {
    return {Code::kUnsupported,
            "dequantize: tensor type " + std::to_string(static_cast<uint32_t>(type)) +
                " is not supported"};
  }
  const BlockFn fn = blockFn(type);
  if (fn == nullptr) {
    return {Code::kInternal, "dequantize: the type table lists a CPU decoder for " + std::string(traits->name) +
                                 " but core/ref has none"};
  }
  const BlockLayout layout{traits->block_size, traits->type_size};
  const uint64_t n = dst.size();
  if (n % layout.block_size != 0) {
    return {Code::kInvalidArgument, "dequantize: " + std::to_string(n) +
                                        " elements is not a multiple of the block size " +
                                        std::to_string(layout.block_size)};
  }
  const uint64_t n_blocks = n / layout.block_size;
  const uint64_t need = n_blocks * layout.block_bytes;
  if (src.size() < need) {
    return {Code::kOutOfRange, "dequantize: " + std::to_string(n) + " elements need " +
                                   std::to_string(need) + " bytes, source has " +
                                   std::to_string(src.size())};
  }
  for (uint64_t i = 0; i < n_blocks; ++i) {
    fn(src.data() + i * layout.block_bytes, dst.data() + i * layout.block_size);
  }
  return Status::ok();
}

}  // namespace tokenfab::ref
