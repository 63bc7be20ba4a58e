// Weight decode for one ggml type in tokenfab's GPU layout, chosen by -DTYPE_<NAME>.
// The includer declares `uint wq[]` (the weights as 32-bit words) and defines DQ_COLS (the
// row length in elements, e.g. `p.cols`) before including.
//
// The GPU layout (core/ops/weight_pack.cpp writes it from ggml's blocks): a row of DQ_COLS
// elements, in units of 32, is
//   [Q plane: units * Q_BITS * 4 bytes][H plane: units * H_BITS * 4 bytes][S plane: one scale
//   record of S_BYTES per S_BLOCK elements, ggml's scale bytes unchanged], padded to 16 bytes.
// A b-bit field of a unit is b words; element e = 4j + a (quad j, a = 0..3) sits in word j % b
// at bit 8a + b * (j / b). Float types (F32, F16, BF16) keep the file's row, padded.
// dq(rb, k) returns element k of the row starting at byte rb, bit-exact with core/ref/dequant.cpp
// (same float32 operations in the same order; `precise` forbids fused multiply-add).

uint wByte(uint b) { return (wq[b >> 2] >> ((b & 3u) * 8u)) & 0xFFu; }
// 16-bit field at an even byte offset.
uint wU16(uint b) { return (wq[b >> 2] >> ((b & 2u) * 8u)) & 0xFFFFu; }
float wF16(uint b) { return unpackHalf2x16(wU16(b)).x; }
int wI8(uint b) { return int(wByte(b) << 24) >> 24; }

#if defined(TYPE_F32) || defined(TYPE_F16) || defined(TYPE_BF16)
#define FLOAT_ROW 1
#if defined(TYPE_F32)
float dq(uint rb, uint k) { return uintBitsToFloat(wq[(rb >> 2) + k]); }
#elif defined(TYPE_F16)
float dq(uint rb, uint k) { return wF16(rb + 2u * k); }
#else
float dq(uint rb, uint k) { return uintBitsToFloat(wU16(rb + 2u * k) << 16); }
#endif

#else
#if defined(TYPE_Q4_0) || defined(TYPE_IQ4_NL)
#define Q_BITS 4
#define H_BITS 0
#define S_BLOCK 32u
#define S_BYTES 2u
#elif defined(TYPE_Q4_1)
#define Q_BITS 4
#define H_BITS 0
#define S_BLOCK 32u
#define S_BYTES 4u
#elif defined(TYPE_Q5_0)
#define Q_BITS 4
#define H_BITS 1
#define S_BLOCK 32u
#define S_BYTES 2u
#elif defined(TYPE_Q5_1)
#define Q_BITS 4
#define H_BITS 1
#define S_BLOCK 32u
#define S_BYTES 4u
#elif defined(TYPE_Q8_0)
#define Q_BITS 8
#define H_BITS 0
#define S_BLOCK 32u
#define S_BYTES 2u
#elif defined(TYPE_Q2_K)
#define Q_BITS 2
#define H_BITS 0
#define S_BLOCK 256u
#define S_BYTES 20u  // u8 scales[16] (scale | min << 4 per 16 elements), f16 d, f16 dmin
#elif defined(TYPE_Q3_K)
#define Q_BITS 2
#define H_BITS 1
#define S_BLOCK 256u
#define S_BYTES 14u  // u8 scales[12] (16 packed 6-bit scales), f16 d
#elif defined(TYPE_Q4_K)
#define Q_BITS 4
#define H_BITS 0
#define S_BLOCK 256u
#define S_BYTES 16u  // f16 d, f16 dmin, u8 scales[12] (6-bit scale and min per 32 elements)
#elif defined(TYPE_Q5_K)
#define Q_BITS 4
#define H_BITS 1
#define S_BLOCK 256u
#define S_BYTES 16u  // as Q4_K
#elif defined(TYPE_Q6_K)
#define Q_BITS 4
#define H_BITS 2
#define S_BLOCK 256u
#define S_BYTES 18u  // i8 scales[16] (one per 16 elements), f16 d
#elif defined(TYPE_IQ4_XS)
#define Q_BITS 4
#define H_BITS 0
#define S_BLOCK 256u
#define S_BYTES 8u  // f16 d, u16 scales_h, u8 scales_l[4] (6-bit scale per 32 elements)
#elif defined(TYPE_IQ3_S)
// Q: the low 8 bits of each quad's 9-bit grid index, 2 bits per element (element a of the quad
// holds bits 2a, 2a + 1); H: each element's sign (weight_pack.cpp).
#define Q_BITS 2
#define H_BITS 1
#define S_BLOCK 256u
#define S_BYTES 14u  // f16 d, u8 scales[4] (4-bit scale per 32 elements), u8 qh[8] (9th index bits)
#elif defined(TYPE_IQ3_XXS)
// Q: each quad's 8-bit grid index, 2 bits per element as IQ3_S; H: per unit the block's
// scale-and-signs word unchanged (not one bit per element: read it whole, iq3xxsWord).
#define Q_BITS 2
#define H_BITS 1
#define S_BLOCK 256u
#define S_BYTES 2u  // f16 d
#else
#error "dequant.glsl: define one TYPE_<NAME>"
#endif

// Byte offsets of the H and S planes inside a row.
uint planeH() { return (DQ_COLS >> 5) * (uint(Q_BITS) * 4u); }
uint planeS() { return (DQ_COLS >> 5) * (uint(Q_BITS + H_BITS) * 4u); }
// The `bits`-bit field of element k of the row whose plane starts at byte `plane` (4-aligned).
uint fieldAt(uint plane, uint bits, uint k) {
  const uint j = (k & 31u) >> 2, a = k & 3u;
  const uint w = wq[(plane >> 2) + (k >> 5) * bits + j % bits];
  return (w >> (8u * a + bits * (j / bits))) & ((1u << bits) - 1u);
}
uint qAt(uint rb, uint k) { return fieldAt(rb, uint(Q_BITS), k); }
uint hAt(uint rb, uint k) { return fieldAt(rb + planeH(), uint(H_BITS), k); }
// Byte offset of the scale record of element k.
uint sAt(uint rb, uint k) { return rb + planeS() + (k / S_BLOCK) * S_BYTES; }

// The 6-bit scale and min of 32-element sub-block s of a Q4_K/Q5_K record (12 bytes at sb).
void scaleMinK4(uint sb, uint s, out uint sc, out uint mn) {
  if (s < 4u) {
    sc = wByte(sb + s) & 63u;
    mn = wByte(sb + s + 4u) & 63u;
  } else {
    sc = (wByte(sb + s + 4u) & 15u) | ((wByte(sb + s - 4u) >> 6) << 4);
    mn = (wByte(sb + s + 4u) >> 4) | ((wByte(sb + s) >> 6) << 4);
  }
}
// The 6-bit scale i (0..15, one per 16 elements) of a Q3_K record (12 bytes at sb): low 4 bits in
// byte i (i < 8) or the high nibble of byte i - 8, high 2 bits in byte 8 + i % 4 at 2 * (i / 4).
int scaleK3(uint sb, uint i) {
  const uint low = i < 8u ? (wByte(sb + i) & 15u) : (wByte(sb + i - 8u) >> 4);
  const uint high = (wByte(sb + 8u + (i & 3u)) >> (2u * (i >> 2))) & 3u;
  return int(low | (high << 4)) - 32;
}

#if defined(TYPE_IQ4_NL) || defined(TYPE_IQ4_XS)
// The non-linear 4-bit code book of IQ4_NL and IQ4_XS (a constant of the format).
const int kIq4Nl[16] = int[16](-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113);
#endif
// The scale of 32-element sub-block ib (0..7) of an IQ4_XS record (8 bytes at sb): low 4 bits in
// nibble ib % 2 of scales_l[ib / 2] (byte 4 + ib / 2), high 2 bits at 2 * ib of scales_h (bytes
// 2..3); counted from -32.
int scaleIq4Xs(uint sb, uint ib) {
  const uint low = (wByte(sb + 4u + (ib >> 1)) >> (4u * (ib & 1u))) & 15u;
  const uint high = (wU16(sb + 2u) >> (2u * ib)) & 3u;
  return int(low | (high << 4)) - 32;
}

#if defined(TYPE_IQ3_S) || defined(TYPE_IQ3_XXS)
#include "tokenfab/iq_grids.h"
// The 8 low bits of a quad's grid index from its 2-bit Q codes, given as four bytes (bits 0..1).
uint iqIndex8(uint q) { return (q & 3u) | ((q >> 6) & 0x0Cu) | ((q >> 12) & 0x30u) | ((q >> 18) & 0xC0u); }
#endif
#if defined(TYPE_IQ3_XXS)
// The scale-and-signs word of unit u (its H plane word).
uint iq3xxsWord(uint rb, uint u) { return wq[((rb + planeH()) >> 2) + u]; }
// The sub-block scale: d * (0.5 + (w >> 28)) * 0.5, ggml's float order.
float scaleIq3Xxs(uint sb, uint w) { return wF16(sb) * (0.5 + float(w >> 28)) * 0.5; }
// The signs of quad j (elements 4j..4j+3) of a unit as bits 0, 8, 16, 24: sign field j / 2 of w
// (7 bits, the 8th its parity), its low or high nibble.
uint signsIq3Xxs(uint w, uint j) {
  const uint field = (w >> (7u * (j >> 1))) & 0x7Fu;
  const uint n = ((field | ((uint(bitCount(field)) & 1u) << 7)) >> (4u * (j & 1u))) & 15u;
  return (n & 1u) | ((n & 2u) << 7) | ((n & 4u) << 14) | ((n & 8u) << 21);
}
#endif
#if defined(TYPE_IQ3_S) || defined(TYPE_IQ3_XXS)
// +1 or -1 for the four elements of a quad whose sign bits are bits 0, 8, 16, 24 of `bits`.
vec4 signs4(uint bits) { return vec4(1.0) - 2.0 * vec4(uvec4(bits, bits >> 8, bits >> 16, bits >> 24) & 1u); }
#endif
#if defined(TYPE_IQ3_S)
// The scale of 32-element sub-block ib (0..7) of an IQ3_S record (at sb): d * (1 + 2 s), s the
// nibble ib % 2 of scales[ib / 2] (byte 2 + ib / 2).
float scaleIq3S(uint sb, uint ib) {
  return wF16(sb) * float(1u + 2u * ((wByte(sb + 2u + (ib >> 1)) >> (4u * (ib & 1u))) & 15u));
}
// The 9th grid-index bits of sub-block ib's eight quads (qh[ib], byte 6 + ib of the record).
uint qhIq3S(uint sb, uint ib) { return wByte(sb + 6u + ib); }
// The grid entry (4 magnitudes, element a in byte a) of quad j of a sub-block: q holds the quad's
// 2-bit Q codes as four bytes, qh the sub-block's 9th index bits.
uint gridIq3S(uint q, uint qh, uint j) { return kIq3sGrid[iqIndex8(q) | (((qh >> j) & 1u) << 8)]; }
#endif

#if defined(TYPE_Q4_0)
float dq(uint rb, uint k) { return float(int(qAt(rb, k)) - 8) * wF16(sAt(rb, k)); }

#elif defined(TYPE_IQ4_NL)
float dq(uint rb, uint k) { return wF16(sAt(rb, k)) * float(kIq4Nl[qAt(rb, k)]); }

#elif defined(TYPE_IQ4_XS)
float dq(uint rb, uint k) {
  const uint s = sAt(rb, k);
  const float dl = wF16(s) * float(scaleIq4Xs(s, (k & 255u) >> 5));
  return dl * float(kIq4Nl[qAt(rb, k)]);
}

#elif defined(TYPE_IQ3_S)
float dq(uint rb, uint k) {
  const uint s = sAt(rb, k);
  const uint u = k >> 5, j = (k & 31u) >> 2;
  const uint q = (wq[(rb >> 2) + 2u * u + (j & 1u)] >> (2u * (j >> 1))) & 0x03030303u;
  const uint g = gridIq3S(q, qhIq3S(s, u & 7u), j);
  const float v = scaleIq3S(s, u & 7u) * float((g >> (8u * (k & 3u))) & 0xFFu);
  return hAt(rb, k) != 0u ? -v : v;
}

#elif defined(TYPE_IQ3_XXS)
float dq(uint rb, uint k) {
  const uint u = k >> 5, j = (k & 31u) >> 2;
  const uint q = (wq[(rb >> 2) + 2u * u + (j & 1u)] >> (2u * (j >> 1))) & 0x03030303u;
  const uint g = kIq3xxsGrid[iqIndex8(q)];
  const uint w = iq3xxsWord(rb, u);
  const float v = scaleIq3Xxs(sAt(rb, k), w) * float((g >> (8u * (k & 3u))) & 0xFFu);
  return ((signsIq3Xxs(w, j) >> (8u * (k & 3u))) & 1u) != 0u ? -v : v;
}

#elif defined(TYPE_Q4_1)
float dq(uint rb, uint k) {
  const uint s = sAt(rb, k);
  precise float v = float(qAt(rb, k)) * wF16(s) + wF16(s + 2u);
  return v;
}

#elif defined(TYPE_Q5_0)
float dq(uint rb, uint k) { return float(int(qAt(rb, k) | (hAt(rb, k) << 4)) - 16) * wF16(sAt(rb, k)); }

#elif defined(TYPE_Q5_1)
float dq(uint rb, uint k) {
  const uint s = sAt(rb, k);
  precise float v = float(qAt(rb, k) | (hAt(rb, k) << 4)) * wF16(s) + wF16(s + 2u);
  return v;
}

#elif defined(TYPE_Q8_0)
float dq(uint rb, uint k) { return float(int(qAt(rb, k) << 24) >> 24) * wF16(sAt(rb, k)); }

#elif defined(TYPE_Q2_K)
float dq(uint rb, uint k) {
  const uint s = sAt(rb, k);
  const uint sc = wByte(s + ((k & 255u) >> 4));
  const float dl = wF16(s + 16u) * float(sc & 15u);
  const float ml = wF16(s + 18u) * float(sc >> 4);
  precise float v = dl * float(qAt(rb, k)) - ml;
  return v;
}

#elif defined(TYPE_Q3_K)
float dq(uint rb, uint k) {
  const uint s = sAt(rb, k);
  const float dl = wF16(s + 12u) * float(scaleK3(s, (k & 255u) >> 4));
  return dl * float(int(qAt(rb, k)) - (hAt(rb, k) != 0u ? 0 : 4));
}

#elif defined(TYPE_Q4_K) || defined(TYPE_Q5_K)
float dq(uint rb, uint k) {
  const uint s = sAt(rb, k);
  uint sc, mn;
  scaleMinK4(s + 4u, (k & 255u) >> 5, sc, mn);
  uint q = qAt(rb, k);
#if defined(TYPE_Q5_K)
  q += hAt(rb, k) * 16u;
#endif
  const float d1 = wF16(s) * float(sc);
  const float m1 = wF16(s + 2u) * float(mn);
  precise float v = d1 * float(q) - m1;
  return v;
}

#elif defined(TYPE_Q6_K)
float dq(uint rb, uint k) {
  const uint s = sAt(rb, k);
  const int q = int(qAt(rb, k) | (hAt(rb, k) << 4)) - 32;
  const float ds = wF16(s + 16u) * float(wI8(s + ((k & 255u) >> 4)));
  return ds * float(q);
}
#endif
#endif
