// K-quant reference quantizers with ggml's algorithms (quantize_row_q*_K_ref, no importance
// matrix): the same float32 operations in the same order, so the bytes match ggml's output.
#include "lab/quantize_k.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>

#include "ref/dequant.h"
#include "lab/quantize.h"

namespace tokenfab::ref::kquant {
namespace {

void storeU16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v & 0xFF);
  p[1] = static_cast<uint8_t>(v >> 8);
}

constexpr int kQKK = 256;
constexpr float kGroupMaxEps = 1e-15f;

// Round to nearest, ties to even, via the 1.5 * 2^23 trick ggml uses (|f| < 2^22).
int nearestInt(float f) {
  const float v = f + 12582912.0f;
  return static_cast<int>(std::bit_cast<uint32_t>(v) & 0x007FFFFF) - 0x00400000;
}

// Asymmetric fit of n values to levels 0..nmax with scale and min (x ~ scale * l - min): a grid
// of candidate inverse scales, each refined by weighted least squares, keeping the best by
// weighted squared (or, with use_mad, absolute) error. Returns the scale; *neg_min receives -min (>= 0).
float fitScaleMin(int n, int nmax, const float* x, const float* w, uint8_t* levels,
                  float* neg_min, float rmin, float rdelta, int nstep, bool use_mad = false) {
  float min = x[0], max = x[0];
  float sum_w = w[0];
  float sum_x = sum_w * x[0];
  for (int i = 1; i < n; ++i) {
    if (x[i] < min) min = x[i];
    if (x[i] > max) max = x[i];
    sum_w += w[i];
    sum_x += w[i] * x[i];
  }
  if (min > 0) min = 0;
  if (max == min) {
    for (int i = 0; i < n; ++i) levels[i] = 0;
    *neg_min = -min;
    return 0.0f;
  }
  float iscale = nmax / (max - min);
  float scale = 1 / iscale;
  float best_error = 0;
  for (int i = 0; i < n; ++i) {
    const int l = std::clamp(nearestInt(iscale * (x[i] - min)), 0, nmax);
    levels[i] = static_cast<uint8_t>(l);
    const float diff = scale * levels[i] + min - x[i];
    best_error += w[i] * (use_mad ? std::fabs(diff) : diff * diff);
  }
  uint8_t trial[32];
  for (int step = 0; step <= nstep; ++step) {
    iscale = (rmin + rdelta * step + nmax) / (max - min);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; ++i) {
      const int l = std::clamp(nearestInt(iscale * (x[i] - min)), 0, nmax);
      trial[i] = static_cast<uint8_t>(l);
      sum_l += w[i] * l;
      sum_l2 += w[i] * l * l;
      sum_xl += w[i] * l * x[i];
    }
    const float det = sum_w * sum_l2 - sum_l * sum_l;
    if (det > 0) {
      float this_scale = (sum_w * sum_xl - sum_x * sum_l) / det;
      float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / det;
      if (this_min > 0) {
        this_min = 0;
        this_scale = sum_xl / sum_l2;
      }
      float error = 0;
      for (int i = 0; i < n; ++i) {
        const float diff = this_scale * trial[i] + this_min - x[i];
        error += w[i] * (use_mad ? std::fabs(diff) : diff * diff);
      }
      if (error < best_error) {
        std::memcpy(levels, trial, n);
        best_error = error;
        scale = this_scale;
        min = this_min;
      }
    }
  }
  *neg_min = -min;
  return scale;
}

// Packs 8 six-bit scales and mins into the 12-byte Q4_K/Q5_K layout.
void packScalesK4(const uint8_t* ls, const uint8_t* lm, uint8_t* q) {
  std::memset(q, 0, 12);
  for (int j = 0; j < 8; ++j) {
    if (j < 4) {
      q[j] = ls[j];
      q[j + 4] = lm[j];
    } else {
      q[j + 4] = static_cast<uint8_t>((ls[j] & 0xF) | ((lm[j] & 0xF) << 4));
      q[j - 4] |= static_cast<uint8_t>((ls[j] >> 4) << 6);
      q[j] |= static_cast<uint8_t>((lm[j] >> 4) << 6);
    }
  }
}

void unpackScaleK4(int j, const uint8_t* q, uint8_t* sc, uint8_t* mn) {
  if (j < 4) {
    *sc = q[j] & 63;
    *mn = q[j + 4] & 63;
  } else {
    *sc = static_cast<uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
    *mn = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
  }
}

// Shared by Q4_K (nmax 15) and Q5_K (nmax 31): per 32-element sub-block fit, 6-bit scales and
// mins relative to the super-block maxima, then requantize against the stored scales.
// `levels` receives the 256 final quants; `scales12`, d and dmin are written into the block.
void superBlockK(const float* x, int nmax, float rmin, float rdelta, int nstep, uint8_t* levels,
                 uint8_t* scales12, uint8_t* d_field, uint8_t* dmin_field) {
  float scales[8], mins[8], weights[32];
  float max_scale = 0, max_min = 0;
  for (int j = 0; j < 8; ++j) {
    float sum_x2 = 0;
    for (int l = 0; l < 32; ++l) sum_x2 += x[32 * j + l] * x[32 * j + l];
    const float av_x = std::sqrt(sum_x2 / 32);
    for (int l = 0; l < 32; ++l) weights[l] = av_x + std::fabs(x[32 * j + l]);
    scales[j] = fitScaleMin(32, nmax, x + 32 * j, weights, levels + 32 * j, &mins[j], rmin, rdelta, nstep);
    if (scales[j] > max_scale) max_scale = scales[j];
    if (mins[j] > max_min) max_min = mins[j];
  }
  const float inv_scale = max_scale > 0 ? 63.0f / max_scale : 0.0f;
  const float inv_min = max_min > 0 ? 63.0f / max_min : 0.0f;
  uint8_t ls[8], lm[8];
  for (int j = 0; j < 8; ++j) {
    ls[j] = std::min<uint8_t>(63, static_cast<uint8_t>(nearestInt(inv_scale * scales[j])));
    lm[j] = std::min<uint8_t>(63, static_cast<uint8_t>(nearestInt(inv_min * mins[j])));
  }
  packScalesK4(ls, lm, scales12);
  const uint16_t d16 = floatToFp16(max_scale / 63.0f);
  const uint16_t dmin16 = floatToFp16(max_min / 63.0f);
  storeU16(d_field, d16);
  storeU16(dmin_field, dmin16);
  for (int j = 0; j < 8; ++j) {
    uint8_t sc, mn;
    unpackScaleK4(j, scales12, &sc, &mn);
    const float d = fp16ToFloat(d16) * sc;
    if (d == 0.0f) continue;
    const float dm = fp16ToFloat(dmin16) * mn;
    for (int i = 0; i < 32; ++i) {
      levels[32 * j + i] = static_cast<uint8_t>(std::clamp(nearestInt((x[32 * j + i] + dm) / d), 0, nmax));
    }
  }
}

// Packs 256 two-bit levels as Q2_K/Q3_K store them: byte l of each 32-byte group holds
// elements l, l + 32, l + 64, l + 96 of its 128-element half.
void pack2Bit(const uint8_t* levels, uint8_t* qs) {
  for (int j = 0; j < kQKK; j += 128) {
    for (int l = 0; l < 32; ++l) {
      qs[j / 4 + l] = static_cast<uint8_t>(levels[j + l] | (levels[j + l + 32] << 2) |
                                           (levels[j + l + 64] << 4) | (levels[j + l + 96] << 6));
    }
  }
}

// The element of largest magnitude, with its sign (the first of equal magnitudes; 0 for none).
float largestMagnitude(int n, const float* x) {
  float max = 0, amax = 0;
  for (int i = 0; i < n; ++i) {
    const float ax = std::fabs(x[i]);
    if (ax > amax) {
      amax = ax;
      max = x[i];
    }
  }
  return max;
}

// Symmetric 16-value fit to levels -nmax..nmax-1 weighted by x^2, refined one element at a time
// while the least-squares score improves (up to 5 passes). Levels stored offset by nmax.
float fitSymmetricRefined(int n, int nmax, const float* x, int8_t* levels) {
  const float max = largestMagnitude(n, x);
  if (std::fabs(max) < kGroupMaxEps) {
    for (int i = 0; i < n; ++i) levels[i] = 0;
    return 0.0f;
  }
  const float iscale = -nmax / max;
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; ++i) {
    const int l = std::clamp(nearestInt(iscale * x[i]), -nmax, nmax - 1);
    levels[i] = static_cast<int8_t>(l);
    const float w = x[i] * x[i];
    sumlx += w * x[i] * l;
    suml2 += w * l * l;
  }
  for (int pass = 0; pass < 5; ++pass) {
    int changed = 0;
    for (int i = 0; i < n; ++i) {
      const float w = x[i] * x[i];
      float slx = sumlx - w * x[i] * levels[i];
      if (slx > 0) {
        float sl2 = suml2 - w * levels[i] * levels[i];
        const int new_l = std::clamp(nearestInt(x[i] * sl2 / slx), -nmax, nmax - 1);
        if (new_l != levels[i]) {
          slx += w * x[i] * new_l;
          sl2 += w * new_l * new_l;
          if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
            levels[i] = static_cast<int8_t>(new_l);
            sumlx = slx;
            suml2 = sl2;
            ++changed;
          }
        }
      }
    }
    if (changed == 0) break;
  }
  for (int i = 0; i < n; ++i) levels[i] = static_cast<int8_t>(levels[i] + nmax);
  return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

// Symmetric fit of 16 values to levels -nmax..nmax-1 weighted by x^2: the max-magnitude scale,
// then 18 nearby inverse scales, keeping the one with the best least-squares score.
// Returns the scale; levels are stored offset by nmax.
float fitSymmetric(int n, int nmax, const float* x, int8_t* levels) {
  const float max = largestMagnitude(n, x);
  if (std::fabs(max) < kGroupMaxEps) {
    for (int i = 0; i < n; ++i) levels[i] = 0;
    return 0.0f;
  }
  float iscale = -nmax / max;
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; ++i) {
    const int l = std::clamp(nearestInt(iscale * x[i]), -nmax, nmax - 1);
    levels[i] = static_cast<int8_t>(l + nmax);
    const float w = x[i] * x[i];
    sumlx += w * x[i] * l;
    suml2 += w * l * l;
  }
  float scale = suml2 != 0.0f ? sumlx / suml2 : 0.0f;
  float best = scale * sumlx;
  for (int step = -9; step <= 9; ++step) {
    if (step == 0) continue;
    iscale = -(nmax + 0.1f * step) / max;
    sumlx = suml2 = 0;
    for (int i = 0; i < n; ++i) {
      const int l = std::clamp(nearestInt(iscale * x[i]), -nmax, nmax - 1);
      const float w = x[i] * x[i];
      sumlx += w * x[i] * l;
      suml2 += w * l * l;
    }
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      for (int i = 0; i < n; ++i) {
        levels[i] = static_cast<int8_t>(nmax + std::clamp(nearestInt(iscale * x[i]), -nmax, nmax - 1));
      }
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

}  // namespace

// block_q2_K {u8 scales[16]; u8 qs[64]; f16 d; f16 dmin}: 16 sub-blocks of 16, 4-bit scale and
// min each, fitted with |x| weights and absolute error.
void blockQ2_K(const float* x, uint8_t* b) {
  uint8_t levels[kQKK];
  float scales[16], mins[16], weights[16];
  float max_scale = 0, max_min = 0;
  for (int j = 0; j < 16; ++j) {
    for (int l = 0; l < 16; ++l) weights[l] = std::fabs(x[16 * j + l]);
    scales[j] = fitScaleMin(16, 3, x + 16 * j, weights, levels + 16 * j, &mins[j], -0.5f, 0.1f, 15, true);
    if (scales[j] > max_scale) max_scale = scales[j];
    if (mins[j] > max_min) max_min = mins[j];
  }
  uint8_t* sc = b;
  std::memset(sc, 0, 16);
  uint16_t d16 = 0, dmin16 = 0;
  if (max_scale > 0) {
    const float iscale = 15.0f / max_scale;
    for (int j = 0; j < 16; ++j) sc[j] = static_cast<uint8_t>(nearestInt(iscale * scales[j]));
    d16 = floatToFp16(max_scale / 15.0f);
  }
  if (max_min > 0) {
    const float iscale = 15.0f / max_min;
    for (int j = 0; j < 16; ++j) sc[j] |= static_cast<uint8_t>(nearestInt(iscale * mins[j]) << 4);
    dmin16 = floatToFp16(max_min / 15.0f);
  }
  storeU16(b + 80, d16);
  storeU16(b + 82, dmin16);
  for (int j = 0; j < 16; ++j) {
    const float d = fp16ToFloat(d16) * (sc[j] & 0xF);
    if (d == 0.0f) continue;
    const float dm = fp16ToFloat(dmin16) * (sc[j] >> 4);
    for (int i = 0; i < 16; ++i) {
      levels[16 * j + i] = static_cast<uint8_t>(std::clamp(nearestInt((x[16 * j + i] + dm) / d), 0, 3));
    }
  }
  pack2Bit(levels, b + 16);
}

// block_q3_K {u8 hmask[32]; u8 qs[64]; u8 scales[12]; f16 d}: 16 signed 6-bit scales, 3-bit
// quants (low 2 bits in qs, the third in hmask).
void blockQ3_K(const float* x, uint8_t* b) {
  int8_t levels[kQKK];
  float scales[16];
  float max_scale = 0, amax = 0;
  for (int j = 0; j < 16; ++j) {
    scales[j] = fitSymmetricRefined(16, 4, x + 16 * j, levels + 16 * j);
    if (std::fabs(scales[j]) > amax) {
      amax = std::fabs(scales[j]);
      max_scale = scales[j];
    }
  }
  uint8_t* packed = b + 96;
  std::memset(packed, 0, 12);
  uint16_t d16 = 0;
  if (max_scale != 0.0f) {
    const float iscale = -32.0f / max_scale;
    for (int j = 0; j < 16; ++j) {
      const int l = std::clamp(static_cast<int>(static_cast<int8_t>(nearestInt(iscale * scales[j]))), -32, 31) + 32;
      if (j < 8) {
        packed[j] = static_cast<uint8_t>(l & 0xF);
      } else {
        packed[j - 8] |= static_cast<uint8_t>((l & 0xF) << 4);
      }
      packed[j % 4 + 8] |= static_cast<uint8_t>((l >> 4) << (2 * (j / 4)));
    }
    d16 = floatToFp16(1 / iscale);
  }
  storeU16(b + 108, d16);
  for (int j = 0; j < 16; ++j) {
    const int low = j < 8 ? (packed[j] & 0xF) : (packed[j - 8] >> 4);
    const int sc = (low | (((packed[8 + j % 4] >> (2 * (j / 4))) & 3) << 4)) - 32;
    const float d = fp16ToFloat(d16) * sc;
    if (d == 0.0f) continue;
    for (int i = 0; i < 16; ++i) {
      levels[16 * j + i] = static_cast<int8_t>(std::clamp(nearestInt(x[16 * j + i] / d), -4, 3) + 4);
    }
  }
  // The third bit of element j goes to hmask[j % 32], bit j / 32.
  uint8_t* hmask = b;
  std::memset(hmask, 0, 32);
  uint8_t low2[kQKK];
  for (int j = 0; j < kQKK; ++j) {
    int l = levels[j];
    if (l > 3) {
      hmask[j % 32] |= static_cast<uint8_t>(1u << (j / 32));
      l -= 4;
    }
    low2[j] = static_cast<uint8_t>(l);
  }
  pack2Bit(low2, b + 32);
}

// block_q4_K {f16 d; f16 dmin; u8 scales[12]; u8 qs[128]}
void blockQ4_K(const float* x, uint8_t* b) {
  uint8_t levels[kQKK];
  superBlockK(x, 15, -1.0f, 0.1f, 20, levels, b + 4, b, b + 2);
  uint8_t* q = b + 16;
  for (int j = 0; j < kQKK; j += 64) {
    for (int l = 0; l < 32; ++l) q[l] = static_cast<uint8_t>(levels[j + l] | (levels[j + l + 32] << 4));
    q += 32;
  }
}

// block_q5_K {f16 d; f16 dmin; u8 scales[12]; u8 qh[32]; u8 qs[128]}
void blockQ5_K(const float* x, uint8_t* b) {
  uint8_t levels[kQKK];
  superBlockK(x, 31, -0.5f, 0.1f, 15, levels, b + 4, b, b + 2);
  uint8_t* qh = b + 16;
  uint8_t* ql = b + 48;
  std::memset(qh, 0, 32);
  uint8_t m1 = 1, m2 = 2;
  for (int n = 0; n < kQKK; n += 64) {
    for (int j = 0; j < 32; ++j) {
      int l1 = levels[n + j];
      int l2 = levels[n + j + 32];
      if (l1 > 15) {
        l1 -= 16;
        qh[j] |= m1;
      }
      if (l2 > 15) {
        l2 -= 16;
        qh[j] |= m2;
      }
      ql[j] = static_cast<uint8_t>(l1 | (l2 << 4));
    }
    m1 = static_cast<uint8_t>(m1 << 2);
    m2 = static_cast<uint8_t>(m2 << 2);
    ql += 32;
  }
}

// block_q6_K {u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d}
void blockQ6_K(const float* x, uint8_t* b) {
  int8_t levels[kQKK];
  float scales[16];
  float max_scale = 0, max_abs_scale = 0;
  for (int ib = 0; ib < 16; ++ib) {
    scales[ib] = fitSymmetric(16, 32, x + 16 * ib, levels + 16 * ib);
    const float abs_scale = std::fabs(scales[ib]);
    if (abs_scale > max_abs_scale) {
      max_abs_scale = abs_scale;
      max_scale = scales[ib];
    }
  }
  std::memset(b, 0, 210);
  if (max_abs_scale < kGroupMaxEps) return;  // all zero: d = 0
  const float iscale = -128.0f / max_scale;
  const uint16_t d16 = floatToFp16(1 / iscale);
  storeU16(b + 208, d16);
  int8_t* sc = reinterpret_cast<int8_t*>(b + 192);
  for (int ib = 0; ib < 16; ++ib) sc[ib] = static_cast<int8_t>(std::min(127, nearestInt(iscale * scales[ib])));
  for (int j = 0; j < 16; ++j) {
    const float d = fp16ToFloat(d16) * sc[j];
    if (d == 0.0f) continue;
    for (int i = 0; i < 16; ++i) {
      levels[16 * j + i] = static_cast<int8_t>(std::clamp(nearestInt(x[16 * j + i] / d), -32, 31) + 32);
    }
  }
  uint8_t* ql = b;
  uint8_t* qh = b + 128;
  for (int j = 0; j < kQKK; j += 128) {
    for (int l = 0; l < 32; ++l) {
      const int q1 = levels[j + l], q2 = levels[j + l + 32], q3 = levels[j + l + 64], q4 = levels[j + l + 96];
      ql[l] = static_cast<uint8_t>((q1 & 0xF) | ((q3 & 0xF) << 4));
      ql[l + 32] = static_cast<uint8_t>((q2 & 0xF) | ((q4 & 0xF) << 4));
      qh[l] = static_cast<uint8_t>((q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6));
    }
    ql += 64;
    qh += 32;
  }
}

}  // namespace tokenfab::ref::kquant
