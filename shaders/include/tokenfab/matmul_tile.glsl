// Loading the tiles of the prefill products (matmul.comp, matmul_coop.comp): weights a half unit
// (16 consecutive elements of a row) at a time from the planar layout, activations 16 floats at
// a time. Each load is split in two steps so a shader can issue the global loads of the next tile
// before it works on the current one (register prefetch) and decode them afterwards:
//   HalfRaw fetchHalf(rb, k)      the half unit's quant words (one aligned 8/16-byte load of the
//                                 Q plane, 4/8 bytes of the H plane) and its scale and offset;
//   void unpackHalf(raw, k, v)    its 16 weights as floats, v[i] = elements k+4i .. k+4i+3.
// A half unit of a quantized row lies inside one unit, so (unlike dq()) the scales are read once
// per 16 elements, and the quant bits of a quad are one shift and mask. The weights are those of
// dq(): the same float32 operations in the same order (`precise`).
// The includer declares wq[], wq2[], wq4[] (weights), x[] and x4[] (activations, binding 1, as
// floats and vec4s), `p` (MatMulParams), defines DQ_COLS and includes dequant.glsl and
// matvec_unit.glsl (for bytes4()) first.

#ifdef FLOAT_ROW
struct HalfRaw {
  vec4 v[4];
};

HalfRaw zeroHalf() { return HalfRaw(vec4[4](vec4(0.0), vec4(0.0), vec4(0.0), vec4(0.0))); }

// Elements [k, k + 16) of the float row at byte rb (k a multiple of 16; zeros past DQ_COLS). A
// whole half is 64 (F32) or 32 (F16, BF16) aligned bytes: the row starts 16-byte aligned.
HalfRaw fetchHalf(uint rb, uint k) {
  HalfRaw r;
  if (k + 16u <= DQ_COLS) {
#if defined(TYPE_F32)
    for (uint i = 0u; i < 4u; ++i) r.v[i] = uintBitsToFloat(wq4[(rb >> 4) + (k >> 2) + i]);
#else
    for (uint i = 0u; i < 2u; ++i) {
      const uvec4 w = wq4[(rb >> 4) + (k >> 3) + i];
#if defined(TYPE_F16)
      r.v[2u * i] = vec4(unpackHalf2x16(w.x), unpackHalf2x16(w.y));
      r.v[2u * i + 1u] = vec4(unpackHalf2x16(w.z), unpackHalf2x16(w.w));
#else
      r.v[2u * i] = uintBitsToFloat(uvec4(w.x << 16, w.x & 0xFFFF0000u, w.y << 16, w.y & 0xFFFF0000u));
      r.v[2u * i + 1u] = uintBitsToFloat(uvec4(w.z << 16, w.z & 0xFFFF0000u, w.w << 16, w.w & 0xFFFF0000u));
#endif
    }
#endif
  } else {
    // The row's last, partial half: element by element, nothing read past the row.
    for (uint e = 0u; e < 16u; ++e) r.v[e >> 2][e & 3u] = k + e < DQ_COLS ? dq(rb, k + e) : 0.0;
  }
  return r;
}

void unpackHalf(HalfRaw r, uint k, out vec4 v[4]) { v = r.v; }

#else
// The quant words of the half unit and its weights as value = a * (code - kCodeOffset) + b.
struct HalfRaw {
  uvec4 q;  // Q plane: the unit (4 bits), its half (8 bits), or the unit in .xy (2 bits)
  uvec2 h;  // H plane: the unit's word (1 bit) or words (2 bits); IQ3_S: .y the sub-block's qh
  float a;
  float b;
};

#if defined(TYPE_Q4_0) || defined(TYPE_IQ4_NL) || defined(TYPE_IQ4_XS) || defined(TYPE_IQ3_S) || defined(TYPE_IQ3_XXS)
const float kCodeOffset = 8.0;  // IQ4_NL, IQ4_XS, IQ3_S, IQ3_XXS: unused (codes index a table)
#elif defined(TYPE_Q5_0)
const float kCodeOffset = 16.0;
#elif defined(TYPE_Q8_0)
const float kCodeOffset = 128.0;  // signed bytes with bit 7 flipped: code + 128
#elif defined(TYPE_Q3_K)
const float kCodeOffset = 4.0;  // code = low 2 bits | hmask bit << 2
#elif defined(TYPE_Q6_K)
const float kCodeOffset = 32.0;
#else
const float kCodeOffset = 0.0;  // Q4_1, Q5_1, Q2_K, Q4_K, Q5_K: value = a * code + b (b = min)
#define HALF_HAS_MIN 1
#endif

HalfRaw zeroHalf() { return HalfRaw(uvec4(0u), uvec2(0u), 0.0, 0.0); }

// Elements [k, k + 16) of the quantized row at byte rb (k a multiple of 16, inside the row).
HalfRaw fetchHalf(uint rb, uint k) {
  const uint u = k >> 5, hf = (k >> 4) & 1u;
  HalfRaw r = zeroHalf();
#if Q_BITS == 4
  r.q = wq4[(rb >> 4) + u];
#elif Q_BITS == 8
  r.q = wq4[(rb >> 4) + 2u * u + hf];
#else
  r.q.xy = wq2[(rb >> 3) + u];
#endif
#if H_BITS == 1
  r.h.x = wq[((rb + planeH()) >> 2) + u];
#elif H_BITS == 2
  r.h = wq2[((rb + planeH()) >> 3) + u];
#endif
  const uint s = sAt(rb, k);
  // Scale index of the 16 elements inside a 256-element block (Q2_K, Q3_K, Q6_K).
  const uint i16 = 2u * (u & 7u) + hf;
#if defined(TYPE_Q4_0) || defined(TYPE_IQ4_NL) || defined(TYPE_Q5_0) || defined(TYPE_Q8_0)
  r.a = wF16(s);
#elif defined(TYPE_Q4_1) || defined(TYPE_Q5_1)
  r.a = wF16(s);
  r.b = wF16(s + 2u);
#elif defined(TYPE_Q2_K)
  const uint sc = wByte(s + i16);
  r.a = wF16(s + 16u) * float(sc & 15u);
  r.b = -(wF16(s + 18u) * float(sc >> 4));
#elif defined(TYPE_Q3_K)
  r.a = wF16(s + 12u) * float(scaleK3(s, i16));
#elif defined(TYPE_Q4_K) || defined(TYPE_Q5_K)
  uint sc, mn;
  scaleMinK4(s + 4u, u & 7u, sc, mn);
  r.a = wF16(s) * float(sc);
  r.b = -(wF16(s + 2u) * float(mn));
#elif defined(TYPE_Q6_K)
  r.a = wF16(s + 16u) * float(wI8(s + i16));
#elif defined(TYPE_IQ4_XS)
  r.a = wF16(s) * float(scaleIq4Xs(s, u & 7u));
#elif defined(TYPE_IQ3_S)
  r.a = scaleIq3S(s, u & 7u);
  r.h.y = qhIq3S(s, u & 7u);
#elif defined(TYPE_IQ3_XXS)
  r.a = scaleIq3Xxs(s, r.h.x);  // r.h.x: the unit's scale-and-signs word
#endif
  return r;
}

void unpackHalf(HalfRaw r, uint k, out vec4 v[4]) {
  const uint hf = (k >> 4) & 1u;
  for (uint i = 0u; i < 4u; ++i) {
    const uint j = 4u * hf + i;  // quad of the unit: elements 4j .. 4j + 3
#if Q_BITS == 4
    uint w = (r.q[i] >> (4u * hf)) & 0x0F0F0F0Fu;
#elif Q_BITS == 8
    uint w = r.q[i];
#else
    uint w = (r.q[j & 1u] >> (2u * (j >> 1))) & 0x03030303u;
#endif
#if H_BITS == 1
    w |= ((r.h.x >> j) & 0x01010101u) << Q_BITS;
#elif H_BITS == 2
    w |= ((r.h[j & 1u] >> (2u * (j >> 1))) & 0x03030303u) << Q_BITS;
#endif
#if defined(TYPE_Q8_0)
    w ^= 0x80808080u;
#endif
#if defined(TYPE_IQ3_S)
    v[i] = r.a * (bytes4(gridIq3S(w & 0x03030303u, r.h.y, j), 0.0) * signs4(w >> 2));
#elif defined(TYPE_IQ3_XXS)
    v[i] = r.a * (bytes4(kIq3xxsGrid[iqIndex8(w & 0x03030303u)], 0.0) * signs4(signsIq3Xxs(r.h.x, j)));
#elif defined(TYPE_IQ4_NL) || defined(TYPE_IQ4_XS)
    v[i] = r.a * vec4(kIq4Nl[w & 15u], kIq4Nl[(w >> 8) & 15u], kIq4Nl[(w >> 16) & 15u], kIq4Nl[w >> 24]);
#elif defined(HALF_HAS_MIN)
    precise vec4 t = r.a * bytes4(w, kCodeOffset) + r.b;
    v[i] = t;
#else
    v[i] = r.a * bytes4(w, kCodeOffset);
#endif
  }
}
#endif

// Activations [k, k + 16) of batch row n as four vec4s: zeros past p.batch or DQ_COLS. Whole
// vec4 loads when the rows are 16-byte aligned (x_offset and x_stride multiples of 4).
void fetchX(uint n, uint k, out vec4 v[4]) {
  const uint base = p.x_offset + n * p.x_stride + k;
  const bool aligned = (p.x_offset & 3u) == 0u && (p.x_stride & 3u) == 0u;
  for (uint i = 0u; i < 4u; ++i) {
    const uint ki = k + 4u * i;
    if (n < p.batch && aligned && ki + 4u <= DQ_COLS) {
      v[i] = x4[(base >> 2) + i];
    } else {
      for (uint c = 0u; c < 4u; ++c) v[i][c] = n < p.batch && ki + c < DQ_COLS ? x[base + 4u * i + c] : 0.0;
    }
  }
}
