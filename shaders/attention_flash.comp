#version 450
// Causal attention for prompts, in one pass over key tiles (flash-style): workgroup (query tile,
// head h) keeps kBQ queries' outputs in registers and walks the keys kBK at a time with an
// online softmax (running max m and sum l per query; earlier sums rescaled by exp(m_old - m_new)),
// so no score matrix is ever written, however long the prompt. Query t sits at position
// pos0 + t and sees keys 0..pos0+t (with a window: only keys k with pos0 + t - k < window; tiles
// before the tile's first window are not read); head h reads kv head h / (n_heads / n_kv_heads).
// A soft-cap bounds each scaled score.
// q (n_q, n_heads, head_dim) f32; caches (n_ctx, n_kv_heads, head_dim) f32 or (KV_F16) halves
// packed two per uint; head_dim = kD (a specialization constant), even.
#extension GL_GOOGLE_include_directive : require
#include "tokenfab/shader_abi.h"

layout(constant_id = 0) const uint kWorkgroup = 128;
layout(constant_id = 1) const uint kBQ = 16;  // queries per workgroup
layout(constant_id = 2) const uint kBK = 16;  // keys per tile
layout(constant_id = 3) const uint kD = 128;  // head_dim
layout(local_size_x_id = 0) in;

layout(set = 0, binding = 0) readonly buffer Q { float q[]; };
#ifdef KV_F16
layout(set = 0, binding = 1) readonly buffer K { uint k_cache[]; };
layout(set = 0, binding = 2) readonly buffer V { uint v_cache[]; };
vec2 kPair(uint e) { return unpackHalf2x16(k_cache[e >> 1]); }
vec2 vPair(uint e) { return unpackHalf2x16(v_cache[e >> 1]); }
#else
layout(set = 0, binding = 1) readonly buffer K { float k_cache[]; };
layout(set = 0, binding = 2) readonly buffer V { float v_cache[]; };
vec2 kPair(uint e) { return vec2(k_cache[e], k_cache[e + 1u]); }
vec2 vPair(uint e) { return vec2(v_cache[e], v_cache[e + 1u]); }
#endif
layout(set = 0, binding = 3) writeonly buffer Out { float dst[]; };
layout(push_constant) uniform Push { AttentionParams p; };

// Key rows padded by one float: invocations scoring neighbouring keys read different banks.
const uint kDp = kD + 1u;
shared float s_q[kBQ * kD];    // (kBQ, kD) queries, pre-scaled
shared float s_k[kBK * kDp];   // (kBK, kD) this tile's keys
shared float s_v[kBK * kD];    // (kBK, kD) this tile's values
shared float s_s[kBQ * kBK];   // (kBQ, kBK) scores, then probabilities
shared float s_m[kBQ], s_l[kBQ], s_alpha[kBQ];  // running max, running sum, rescale of this tile

const uint kPer = (kBQ * kD + kWorkgroup - 1u) / kWorkgroup;  // outputs per invocation

void main() {
  const uint q0 = gl_WorkGroupID.x * kBQ;
  const uint h = gl_WorkGroupID.y;
  const uint tid = gl_LocalInvocationID.x;
  const uint kvh = h / (p.n_heads / p.n_kv_heads);
  const uint kv_stride = p.n_kv_heads * kD;
  const uint n_rows = min(kBQ, p.n_q - q0);  // queries in this tile

  for (uint e = tid; e < kBQ * kD; e += kWorkgroup) {
    const uint r = e / kD, d = e % kD;
    s_q[e] = r < n_rows ? q[((q0 + r) * p.n_heads + h) * kD + d] * p.scale : 0.0;
  }
  if (tid < kBQ) {
    s_m[tid] = -3.0e38;
    s_l[tid] = 0.0;
  }
  float o[kPer];
  for (uint i = 0u; i < kPer; ++i) o[i] = 0.0;

  // Keys any query of the tile sees: 0 .. pos0 + q0 + n_rows - 1.
  const uint n_keys = p.pos0 + q0 + n_rows;
  // The first key the tile's first query sees (later queries' windows start later).
  const uint first_key = p.window > 0u && p.pos0 + q0 + 1u > p.window ? p.pos0 + q0 + 1u - p.window : 0u;
  for (uint k0 = first_key; k0 < n_keys; k0 += kBK) {
    barrier();  // s_q/s_m ready (first tile); every reader of the previous tile is done
    for (uint e = tid; e < kBK * kD / 2u; e += kWorkgroup) {
      const uint r = e / (kD / 2u), d = 2u * (e % (kD / 2u));
      vec2 kk = vec2(0.0), vv = vec2(0.0);
      if (k0 + r < n_keys) {
        const uint base = (k0 + r) * kv_stride + kvh * kD + d;
        kk = kPair(base);
        vv = vPair(base);
      }
      s_k[r * kDp + d] = kk.x;
      s_k[r * kDp + d + 1u] = kk.y;
      s_v[r * kD + d] = vv.x;
      s_v[r * kD + d + 1u] = vv.y;
    }
    barrier();  // the tile's keys and values are in shared memory

    for (uint e = tid; e < kBQ * kBK; e += kWorkgroup) {
      const uint r = e / kBK, j = e % kBK;
      float s = -3.0e38;  // masked: a later position, or past the tile's keys
      const uint qpos = p.pos0 + q0 + r;
      if (r < n_rows && k0 + j <= qpos && (p.window == 0u || qpos - (k0 + j) < p.window)) {
        s = 0.0;
        for (uint d = 0u; d < kD; ++d) s += s_q[r * kD + d] * s_k[j * kDp + d];
        if (p.softcap > 0.0) s = p.softcap * tanh(clamp(s / p.softcap, -15.0, 15.0));
      }
      s_s[e] = s;
    }
    barrier();  // scores complete

    if (tid < kBQ) {  // online softmax, one query row per invocation
      const uint r = tid;
      float m = s_m[r];
      for (uint j = 0u; j < kBK; ++j) m = max(m, s_s[r * kBK + j]);
      const float alpha = exp(s_m[r] - m);
      float l = s_l[r] * alpha;
      for (uint j = 0u; j < kBK; ++j) {
        const float s = s_s[r * kBK + j];
        const float e = s > -1.0e38 ? exp(s - m) : 0.0;
        s_s[r * kBK + j] = e;
        l += e;
      }
      s_m[r] = m;
      s_l[r] = l;
      s_alpha[r] = alpha;
    }
    barrier();  // probabilities and rescale factors complete

    for (uint i = 0u; i < kPer; ++i) {
      const uint e = tid + i * kWorkgroup;
      if (e >= kBQ * kD) break;
      const uint r = e / kD, d = e % kD;
      float acc = o[i] * s_alpha[r];
      for (uint j = 0u; j < kBK; ++j) acc += s_s[r * kBK + j] * s_v[j * kD + d];
      o[i] = acc;
    }
  }
  barrier();  // the last tile's s_l is final
  for (uint i = 0u; i < kPer; ++i) {
    const uint e = tid + i * kWorkgroup;
    if (e >= kBQ * kD) break;
    const uint r = e / kD, d = e % kD;
    if (r < n_rows) dst[((q0 + r) * p.n_heads + h) * kD + d] = o[i] / s_l[r];
  }
}
