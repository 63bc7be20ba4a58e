// The dot product of one unit (32 consecutive elements) of a weight row with x, for the decode
// products (matvec_core.glsl). The unit's quant bits are one aligned 8-, 16- or 32-byte load of
// the Q plane (plus 4 or 8 bytes of the H plane), so neighbouring invocations, taking
// neighbouring units, read neighbouring words: the loads coalesce. Scales are read once per unit.
// The includer declares `uint wq[]`, `uvec2 wq2[]` and `uvec4 wq4[]` over the same weights and
// includes dequant.glsl first.
// unitDot(rb, u, xv) = sum over e < 32 of W[row at byte rb][32u + e] * x_e, with x_e in xv[e / 4].

// 0: bytes become floats by integer conversion; 1: by building the float's bits (2^23 + byte)
// and subtracting, which avoids the conversion unit (a quarter of the arithmetic rate on some
// GPUs). Both are exact.
layout(constant_id = 4) const uint kBitsToFloat = 1u;

// The four bytes of w (each a code 0..255) minus `offset`, as floats: exact.
vec4 bytes4(uint w, float offset) {
  const uvec4 b = uvec4(w, w >> 8, w >> 16, w >> 24) & 0xFFu;
  if (kBitsToFloat != 0u) return uintBitsToFloat(b | 0x4B000000u) - (8388608.0 + offset);
  return vec4(b) - offset;
}

#ifdef FLOAT_ROW
// Float rows: 128 (F32) or 64 (F16, BF16) bytes a unit, read as 16-byte words.
float unitDot(uint rb, uint u, vec4 xv[8]) {
  float s = 0.0;
#if defined(TYPE_F32)
  for (uint i = 0u; i < 8u; ++i) s += dot(uintBitsToFloat(wq4[(rb >> 4) + 8u * u + i]), xv[i]);
#else
  for (uint i = 0u; i < 4u; ++i) {
    const uvec4 w = wq4[(rb >> 4) + 4u * u + i];
#if defined(TYPE_F16)
    const vec4 a = vec4(unpackHalf2x16(w.x), unpackHalf2x16(w.y));
    const vec4 b = vec4(unpackHalf2x16(w.z), unpackHalf2x16(w.w));
#else
    const vec4 a = uintBitsToFloat(uvec4(w.x << 16, w.x & 0xFFFF0000u, w.y << 16, w.y & 0xFFFF0000u));
    const vec4 b = uintBitsToFloat(uvec4(w.z << 16, w.z & 0xFFFF0000u, w.w << 16, w.w & 0xFFFF0000u));
#endif
    s += dot(a, xv[2u * i]) + dot(b, xv[2u * i + 1u]);
  }
#endif
  return s;
}

#else
// The codes of the unit's eight quads: qq[j] holds elements 4j..4j+3 as four bytes.
void loadQuads(uint rb, uint u, out uint qq[8]) {
#if Q_BITS == 4
  const uvec4 w = wq4[(rb >> 4) + u];
  for (uint i = 0u; i < 4u; ++i) {
    qq[i] = w[i] & 0x0F0F0F0Fu;
    qq[i + 4u] = (w[i] >> 4) & 0x0F0F0F0Fu;
  }
#elif Q_BITS == 8
  const uvec4 a = wq4[(rb >> 4) + 2u * u];
  const uvec4 b = wq4[(rb >> 4) + 2u * u + 1u];
  qq = uint[8](a.x, a.y, a.z, a.w, b.x, b.y, b.z, b.w);
#else  // 2 bits
  const uvec2 w = wq2[(rb >> 3) + u];
  for (uint j = 0u; j < 8u; ++j) qq[j] = (w[j & 1u] >> (2u * (j >> 1))) & 0x03030303u;
#endif
#if H_BITS == 1
  const uint h = wq[((rb + planeH()) >> 2) + u];
  for (uint j = 0u; j < 8u; ++j) qq[j] |= ((h >> j) & 0x01010101u) << Q_BITS;
#elif H_BITS == 2
  const uvec2 h = wq2[((rb + planeH()) >> 3) + u];
  for (uint j = 0u; j < 8u; ++j) qq[j] |= ((h[j & 1u] >> (2u * (j >> 1))) & 0x03030303u) << Q_BITS;
#endif
}

// Sums of (code - offset) * x over the first (elements 0..15) and second (16..31) half.
void halfDots(uint qq[8], vec4 xv[8], float offset, out float lo, out float hi) {
  lo = 0.0;
  hi = 0.0;
  for (uint j = 0u; j < 4u; ++j) {
    lo += dot(bytes4(qq[j], offset), xv[j]);
    hi += dot(bytes4(qq[j + 4u], offset), xv[j + 4u]);
  }
}

float xSum(vec4 xv[8], uint first) {
  vec4 s = xv[first] + xv[first + 1u] + xv[first + 2u] + xv[first + 3u];
  return s.x + s.y + s.z + s.w;
}

float unitDot(uint rb, uint u, vec4 xv[8]) {
  uint qq[8];
  loadQuads(rb, u, qq);
  const uint s = sAt(rb, 32u * u);
  float lo, hi;
#if defined(TYPE_Q4_0)
  halfDots(qq, xv, 8.0, lo, hi);
  return wF16(s) * (lo + hi);
#elif defined(TYPE_Q5_0)
  halfDots(qq, xv, 16.0, lo, hi);
  return wF16(s) * (lo + hi);
#elif defined(TYPE_Q8_0)
  // Signed bytes: flipping bit 7 makes them code + 128.
  for (uint j = 0u; j < 8u; ++j) qq[j] ^= 0x80808080u;
  halfDots(qq, xv, 128.0, lo, hi);
  return wF16(s) * (lo + hi);
#elif defined(TYPE_Q4_1) || defined(TYPE_Q5_1)
  halfDots(qq, xv, 0.0, lo, hi);
  return wF16(s) * (lo + hi) + wF16(s + 2u) * (xSum(xv, 0u) + xSum(xv, 4u));
#elif defined(TYPE_IQ4_NL) || defined(TYPE_IQ4_XS)
  float acc = 0.0;
  for (uint j = 0u; j < 8u; ++j) {
    const uint q = qq[j];
    acc += dot(vec4(kIq4Nl[q & 15u], kIq4Nl[(q >> 8) & 15u], kIq4Nl[(q >> 16) & 15u], kIq4Nl[q >> 24]), xv[j]);
  }
#if defined(TYPE_IQ4_XS)
  return wF16(s) * float(scaleIq4Xs(s, u & 7u)) * acc;
#else
  return wF16(s) * acc;
#endif
#elif defined(TYPE_IQ3_S)
  // qq[j]: the quad's 2-bit index pieces in bits 0..1 of each byte, its signs in bit 2.
  const uint qh = qhIq3S(s, u & 7u);
  float acc = 0.0;
  for (uint j = 0u; j < 8u; ++j) {
    const uint g = gridIq3S(qq[j] & 0x03030303u, qh, j);
    acc += dot(bytes4(g, 0.0) * signs4(qq[j] >> 2), xv[j]);
  }
  return scaleIq3S(s, u & 7u) * acc;
#elif defined(TYPE_IQ3_XXS)
  // qq[j]: the quad's 2-bit index pieces in bits 0..1 of each byte (bit 2 holds H bits that are
  // not per element here); the signs and the scale come from the unit's word.
  const uint w = iq3xxsWord(rb, u);
  float acc = 0.0;
  for (uint j = 0u; j < 8u; ++j) {
    const uint g = kIq3xxsGrid[iqIndex8(qq[j] & 0x03030303u)];
    acc += dot(bytes4(g, 0.0) * signs4(signsIq3Xxs(w, j)), xv[j]);
  }
  return scaleIq3Xxs(s, w) * acc;
#elif defined(TYPE_Q2_K)
  // Scale bytes 2i and 2i + 1 (sub-unit i of the super-block): scale in the low, min in the high nibble.
  const uint i = u & 7u;
  const uint sa = wByte(s + 2u * i), sb = wByte(s + 2u * i + 1u);
  halfDots(qq, xv, 0.0, lo, hi);
  return wF16(s + 16u) * (float(sa & 15u) * lo + float(sb & 15u) * hi) -
         wF16(s + 18u) * (float(sa >> 4) * xSum(xv, 0u) + float(sb >> 4) * xSum(xv, 4u));
#elif defined(TYPE_Q3_K)
  const uint i = u & 7u;
  halfDots(qq, xv, 4.0, lo, hi);
  return wF16(s + 12u) * (float(scaleK3(s, 2u * i)) * lo + float(scaleK3(s, 2u * i + 1u)) * hi);
#elif defined(TYPE_Q4_K) || defined(TYPE_Q5_K)
  uint sc, mn;
  scaleMinK4(s + 4u, u & 7u, sc, mn);
  halfDots(qq, xv, 0.0, lo, hi);
  return wF16(s) * float(sc) * (lo + hi) - wF16(s + 2u) * float(mn) * (xSum(xv, 0u) + xSum(xv, 4u));
#elif defined(TYPE_Q6_K)
  const uint i = u & 7u;
  halfDots(qq, xv, 32.0, lo, hi);
  return wF16(s + 16u) * (float(wI8(s + 2u * i)) * lo + float(wI8(s + 2u * i + 1u)) * hi);
#endif
}
#endif
