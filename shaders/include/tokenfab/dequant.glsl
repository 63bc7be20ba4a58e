// Weight decode for one ggml type, chosen by -DTYPE_<NAME> (one variant per type).
// The includer declares `uint wq[]` (the weights as packed 32-bit words) before including.
// Reading bytes out of u32 words needs neither 8- nor 16-bit storage.
// dq(rb, k) returns element k of the row starting at byte rb, bit-exact with core/ref/dequant.cpp
// (same float32 operations in the same order; `precise` forbids fused multiply-add).

uint wByte(uint b) { return (wq[b >> 2] >> ((b & 3u) * 8u)) & 0xFFu; }
// 16-bit field at an even byte offset.
uint wU16(uint b) { return (wq[b >> 2] >> ((b & 2u) * 8u)) & 0xFFFFu; }
// 32-bit field at any byte offset.
uint wU32(uint b) {
  const uint s = (b & 3u) * 8u;
  const uint lo = wq[b >> 2] >> s;
  return s == 0u ? lo : (lo | (wq[(b >> 2) + 1u] << (32u - s)));
}
float wF16(uint b) { return unpackHalf2x16(wU16(b)).x; }
int wI8(uint b) { return int(wByte(b) << 24) >> 24; }

#if defined(TYPE_F32)
#define BLOCK_SIZE 1u
#define BLOCK_BYTES 4u
float dq(uint rb, uint k) { return uintBitsToFloat(wq[(rb >> 2) + k]); }

#elif defined(TYPE_F16)
#define BLOCK_SIZE 1u
#define BLOCK_BYTES 2u
float dq(uint rb, uint k) { return wF16(rb + 2u * k); }

#elif defined(TYPE_BF16)
#define BLOCK_SIZE 1u
#define BLOCK_BYTES 2u
float dq(uint rb, uint k) { return uintBitsToFloat(wU16(rb + 2u * k) << 16); }

#elif defined(TYPE_Q4_0)
#define BLOCK_SIZE 32u
#define BLOCK_BYTES 18u
float dq(uint rb, uint k) {
  const uint bb = rb + (k >> 5) * BLOCK_BYTES;
  const uint j = k & 31u;
  const uint q = wByte(bb + 2u + (j & 15u));
  const int x = int(j < 16u ? (q & 15u) : (q >> 4)) - 8;
  return float(x) * wF16(bb);
}

#elif defined(TYPE_Q4_1)
#define BLOCK_SIZE 32u
#define BLOCK_BYTES 20u
float dq(uint rb, uint k) {
  const uint bb = rb + (k >> 5) * BLOCK_BYTES;
  const uint j = k & 31u;
  const uint q = wByte(bb + 4u + (j & 15u));
  const uint x = j < 16u ? (q & 15u) : (q >> 4);
  precise float v = float(x) * wF16(bb) + wF16(bb + 2u);
  return v;
}

#elif defined(TYPE_Q5_0)
#define BLOCK_SIZE 32u
#define BLOCK_BYTES 22u
float dq(uint rb, uint k) {
  const uint bb = rb + (k >> 5) * BLOCK_BYTES;
  const uint j = k & 31u;
  const uint q = wByte(bb + 6u + (j & 15u));
  const uint h = (wU32(bb + 2u) >> j) & 1u;  // bit j of qh is bit 4 of element j
  const int x = int((j < 16u ? (q & 15u) : (q >> 4)) | (h << 4)) - 16;
  return float(x) * wF16(bb);
}

#elif defined(TYPE_Q5_1)
#define BLOCK_SIZE 32u
#define BLOCK_BYTES 24u
float dq(uint rb, uint k) {
  const uint bb = rb + (k >> 5) * BLOCK_BYTES;
  const uint j = k & 31u;
  const uint q = wByte(bb + 8u + (j & 15u));
  const uint h = (wU32(bb + 4u) >> j) & 1u;
  const uint x = (j < 16u ? (q & 15u) : (q >> 4)) | (h << 4);
  precise float v = float(x) * wF16(bb) + wF16(bb + 2u);
  return v;
}

#elif defined(TYPE_Q8_0)
#define BLOCK_SIZE 32u
#define BLOCK_BYTES 34u
float dq(uint rb, uint k) {
  const uint bb = rb + (k >> 5) * BLOCK_BYTES;
  return float(wI8(bb + 2u + (k & 31u))) * wF16(bb);
}

#elif defined(TYPE_IQ4_NL)
#define BLOCK_SIZE 32u
#define BLOCK_BYTES 18u
const int kIq4Nl[16] = int[16](-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113);
float dq(uint rb, uint k) {
  const uint bb = rb + (k >> 5) * BLOCK_BYTES;
  const uint j = k & 31u;
  const uint q = wByte(bb + 2u + (j & 15u));
  return wF16(bb) * float(kIq4Nl[j < 16u ? (q & 15u) : (q >> 4)]);
}

#elif defined(TYPE_Q2_K)
#define BLOCK_SIZE 256u
#define BLOCK_BYTES 84u
// {u8 scales[16]; u8 qs[64]; f16 d; f16 dmin}; element j: sub-block j/16, quant byte
// qs[32 * (j / 128) + j % 32] shifted by 2 * ((j % 128) / 32).
float dq(uint rb, uint k) {
  const uint bb = rb + (k >> 8) * BLOCK_BYTES;
  const uint j = k & 255u;
  const uint sc = wByte(bb + (j >> 4));
  const uint q = (wByte(bb + 16u + 32u * (j >> 7) + (j & 31u)) >> (2u * ((j >> 5) & 3u))) & 3u;
  const float dl = wF16(bb + 80u) * float(sc & 15u);
  const float ml = wF16(bb + 82u) * float(sc >> 4);
  precise float v = dl * float(q) - ml;
  return v;
}

#elif defined(TYPE_Q3_K)
#define BLOCK_SIZE 256u
#define BLOCK_BYTES 110u
// {u8 hmask[32]; u8 qs[64]; u8 scales[12]; f16 d}; 6-bit scale i: low 4 bits in byte i (i < 8)
// or the high nibble of byte i - 8, high 2 bits in byte 8 + i % 4 at bit 2 * (i / 4).
float dq(uint rb, uint k) {
  const uint bb = rb + (k >> 8) * BLOCK_BYTES;
  const uint j = k & 255u;
  const uint i = j >> 4;
  const uint low = i < 8u ? (wByte(bb + 96u + i) & 15u) : (wByte(bb + 96u + i - 8u) >> 4);
  const uint high = (wByte(bb + 104u + (i & 3u)) >> (2u * (i >> 2))) & 3u;
  const int sc = int(low | (high << 4)) - 32;
  const uint shift = 2u * ((j >> 5) & 3u);
  const int q = int((wByte(bb + 32u + 32u * (j >> 7) + (j & 31u)) >> shift) & 3u);
  const uint hbit = (wByte(bb + (j & 31u)) >> (4u * (j >> 7) + ((j >> 5) & 3u))) & 1u;
  const float dl = wF16(bb + 108u) * float(sc);
  return dl * float(q - (hbit != 0u ? 0 : 4));
}

#elif defined(TYPE_Q4_K) || defined(TYPE_Q5_K)
#if defined(TYPE_Q4_K)
#define BLOCK_SIZE 256u
#define BLOCK_BYTES 144u
#define QS_OFFSET 16u
#else
#define BLOCK_SIZE 256u
#define BLOCK_BYTES 176u
#define QS_OFFSET 48u
#endif
// {f16 d; f16 dmin; u8 scales[12]; [u8 qh[32];] u8 qs[128]}: 8 sub-blocks of 32 with 6-bit
// scale and min; sub-block s uses the low (s even) or high (s odd) nibbles of qs[32 * (s / 2)..].
// Scale and min of sub-block s from the 12 scale bytes at sb.
void scaleMinK4(uint sb, uint s, out uint sc, out uint mn) {
  if (s < 4u) {
    sc = wByte(sb + s) & 63u;
    mn = wByte(sb + s + 4u) & 63u;
  } else {
    sc = (wByte(sb + s + 4u) & 15u) | ((wByte(sb + s - 4u) >> 6) << 4);
    mn = (wByte(sb + s + 4u) >> 4) | ((wByte(sb + s) >> 6) << 4);
  }
}
float dq(uint rb, uint k) {
  const uint bb = rb + (k >> 8) * BLOCK_BYTES;
  const uint j = k & 255u;
  const uint s = j >> 5;
  uint sc, mn;
  scaleMinK4(bb + 4u, s, sc, mn);
  const uint qb = wByte(bb + QS_OFFSET + 32u * (s >> 1) + (j & 31u));
  uint q = (s & 1u) == 0u ? (qb & 15u) : (qb >> 4);
#if defined(TYPE_Q5_K)
  q += ((wByte(bb + 16u + (j & 31u)) >> s) & 1u) * 16u;
#endif
  const float d1 = wF16(bb) * float(sc);
  const float m1 = wF16(bb + 2u) * float(mn);
  precise float v = d1 * float(q) - m1;
  return v;
}

#elif defined(TYPE_Q6_K)
#define BLOCK_SIZE 256u
#define BLOCK_BYTES 210u
// {u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d}; element j: half h = j / 128, quarter
// c = (j % 128) / 32, lane l = j % 32.
float dq(uint rb, uint k) {
  const uint bb = rb + (k >> 8) * BLOCK_BYTES;
  const uint j = k & 255u;
  const uint h = j >> 7;
  const uint c = (j >> 5) & 3u;
  const uint l = j & 31u;
  const uint qlb = wByte(bb + 64u * h + l + 32u * (c & 1u));
  const uint lo = c < 2u ? (qlb & 15u) : (qlb >> 4);
  const uint hi = (wByte(bb + 128u + 32u * h + l) >> (2u * c)) & 3u;
  const int q = int(lo | (hi << 4)) - 32;
  const int sc = wI8(bb + 192u + 8u * h + (l >> 4) + 2u * c);
  const float ds = wF16(bb + 208u) * float(sc);
  return ds * float(q);
}

#else
#error "dequant.glsl: define one TYPE_<NAME>"
#endif
