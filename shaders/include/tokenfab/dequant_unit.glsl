// Dot products of whole runs of a weight row with x, for the subgroup matvec (matvec_sg.comp).
// A "unit" is UNIT consecutive elements of a row that share their scales: a ggml block of 32,
// or a 32-element sub-block of a K-quant super-block, or UNIT elements of a float row. Reading a
// unit as whole 32-bit words (scales once per unit) instead of element by element is what
// makes a decode step cheap. Types without a specialised version decode through dq().
// The includer declares `uint wq[]`, `float x[]` (and with NORM `float nw[]`) and includes
// dequant.glsl first.
// unitDot(rb, u, xo) = sum over i < UNIT of W[row at byte rb][u * UNIT + i] * x[xo + i].

// 32 bits starting at an even byte offset b (two loads when b is not word aligned).
uint wHalfAligned32(uint b) {
  const uint w = b >> 2;
  return (b & 2u) == 0u ? wq[w] : ((wq[w] >> 16) | (wq[w + 1u] << 16));
}

// n <= 8 words (4n bytes) starting at an even byte offset b, into v[0..n). Loads n + 1 aligned
// words only when b is not word aligned: an extra word could lie past the end of the binding
// otherwise.
void loadWords(uint b, uint n, out uint v[8]) {
  const uint w = b >> 2;
  if ((b & 2u) == 0u) {
    for (uint i = 0u; i < n; ++i) v[i] = wq[w + i];
  } else {
    uint prev = wq[w];
    for (uint i = 0u; i < n; ++i) {
      const uint next = wq[w + i + 1u];
      v[i] = (prev >> 16) | (next << 16);
      prev = next;
    }
  }
}

// Signed bytes / nibbles of a word, as floats.
vec4 i8x4(uint w) { return vec4(ivec4(int(w << 24), int(w << 16), int(w << 8), int(w)) >> 24); }
vec4 lo4x4(uint w) { return vec4(uvec4(w, w >> 8, w >> 16, w >> 24) & 15u); }
vec4 hi4x4(uint w) { return vec4(uvec4(w >> 4, w >> 12, w >> 20, w >> 28) & 15u); }
#ifdef NORM
// The RMS-normalised x as rms_norm.comp writes it, x * (1 / rms) * weight, computed on the fly;
// the includer sets g_norm_inv before any unitDot.
float g_norm_inv = 1.0;
float xAt(uint i) { return x[i] * g_norm_inv * nw[i]; }
vec4 x4(uint i) {
  return vec4(x[i], x[i + 1u], x[i + 2u], x[i + 3u]) * g_norm_inv * vec4(nw[i], nw[i + 1u], nw[i + 2u], nw[i + 3u]);
}
#else
float xAt(uint i) { return x[i]; }
vec4 x4(uint i) { return vec4(x[i], x[i + 1u], x[i + 2u], x[i + 3u]); }
#endif

#if defined(TYPE_Q8_0)
#define UNIT 32u
float unitDot(uint rb, uint u, uint xo) {
  const uint bb = rb + u * BLOCK_BYTES;
  uint q[8];
  loadWords(bb + 2u, 8u, q);
  float s = 0.0;
  for (uint i = 0u; i < 8u; ++i) s += dot(i8x4(q[i]), x4(xo + 4u * i));
  return s * wF16(bb);
}

#elif defined(TYPE_Q4_0)
#define UNIT 32u
float unitDot(uint rb, uint u, uint xo) {
  const uint bb = rb + u * BLOCK_BYTES;
  uint q[8];
  loadWords(bb + 2u, 4u, q);
  float s = 0.0;
  for (uint i = 0u; i < 4u; ++i) {
    s += dot(lo4x4(q[i]) - 8.0, x4(xo + 4u * i)) + dot(hi4x4(q[i]) - 8.0, x4(xo + 16u + 4u * i));
  }
  return s * wF16(bb);
}

#elif defined(TYPE_Q5_0)
#define UNIT 32u
float unitDot(uint rb, uint u, uint xo) {
  const uint bb = rb + u * BLOCK_BYTES;
  const uint qh = wHalfAligned32(bb + 2u);
  uint q[8];
  loadWords(bb + 6u, 4u, q);
  float s = 0.0;
  for (uint i = 0u; i < 4u; ++i) {
    // bit j of qh is bit 4 of element j
    const uvec4 hl = (uvec4(qh) >> (uvec4(0u, 1u, 2u, 3u) + 4u * i)) & 1u;
    const uvec4 hh = (uvec4(qh) >> (uvec4(16u, 17u, 18u, 19u) + 4u * i)) & 1u;
    s += dot(lo4x4(q[i]) + vec4(hl * 16u) - 16.0, x4(xo + 4u * i)) +
         dot(hi4x4(q[i]) + vec4(hh * 16u) - 16.0, x4(xo + 16u + 4u * i));
  }
  return s * wF16(bb);
}

#elif defined(TYPE_Q4_K) || defined(TYPE_Q5_K)
#define UNIT 32u
// Super-block u / 8, sub-block s = u % 8: scale and min are 6-bit fields (see dq), the quants
// the low (s even) or high (s odd) nibbles of 32 bytes; Q5_K adds bit s of qh[l] as bit 4.
float unitDot(uint rb, uint u, uint xo) {
  const uint bb = rb + (u >> 3) * BLOCK_BYTES;
  const uint s = u & 7u;
  uint sc, mn;
  scaleMinK4(bb + 4u, s, sc, mn);
  uint q[8];
  loadWords(bb + QS_OFFSET + 32u * (s >> 1), 8u, q);
#if defined(TYPE_Q5_K)
  uint h[8];
  loadWords(bb + 16u, 8u, h);
#endif
  float sq = 0.0, sx = 0.0;
  for (uint i = 0u; i < 8u; ++i) {
    vec4 v = (s & 1u) == 0u ? lo4x4(q[i]) : hi4x4(q[i]);
#if defined(TYPE_Q5_K)
    v += vec4((uvec4(h[i] >> s, h[i] >> (s + 8u), h[i] >> (s + 16u), h[i] >> (s + 24u)) & 1u) * 16u);
#endif
    const vec4 xv = x4(xo + 4u * i);
    sq += dot(v, xv);
    sx += xv.x + xv.y + xv.z + xv.w;
  }
  return wF16(bb) * float(sc) * sq - wF16(bb + 2u) * float(mn) * sx;
}

#elif defined(TYPE_Q6_K)
#define UNIT 32u
// Unit s = u % 8 of a super-block: half h = s / 4, quarter c = s % 4 (see dq); two 16-element
// scales.
float unitDot(uint rb, uint u, uint xo) {
  const uint bb = rb + (u >> 3) * BLOCK_BYTES;
  const uint s = u & 7u;
  const uint h = s >> 2, c = s & 3u;
  uint ql[8], qh[8];
  loadWords(bb + 64u * h + 32u * (c & 1u), 8u, ql);
  loadWords(bb + 128u + 32u * h, 8u, qh);
  float s0 = 0.0, s1 = 0.0;
  for (uint i = 0u; i < 8u; ++i) {
    const vec4 lo = c < 2u ? lo4x4(ql[i]) : hi4x4(ql[i]);
    const uint hw = qh[i] >> (2u * c);
    const vec4 hi = vec4(uvec4(hw, hw >> 8, hw >> 16, hw >> 24) & 3u) * 16.0;
    const float d = dot(lo + hi - 32.0, x4(xo + 4u * i));
    if (i < 4u) {
      s0 += d;
    } else {
      s1 += d;
    }
  }
  const uint scb = bb + 192u + 8u * h + 2u * c;
  return wF16(bb + 208u) * (float(wI8(scb)) * s0 + float(wI8(scb + 1u)) * s1);
}

#elif defined(TYPE_F32) || defined(TYPE_F16) || defined(TYPE_BF16)
// Float rows: units of 4 elements; the element-wise tail of a row is handled by the caller.
#define UNIT 4u
float unitDot(uint rb, uint u, uint xo) {
  const uint k = u * 4u;
  return dot(vec4(dq(rb, k), dq(rb, k + 1u), dq(rb, k + 2u), dq(rb, k + 3u)), x4(xo));
}

#else
// Every other block type: element by element through dq().
#define UNIT 32u
float unitDot(uint rb, uint u, uint xo) {
  float s = 0.0;
  for (uint i = 0u; i < 32u; ++i) s += dq(rb, u * 32u + i) * xAt(xo + i);
  return s;
}
#endif
