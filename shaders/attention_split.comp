#version 450
// Attention over the KV cache, split along the key axis (split-K): workgroup (chunk c, head h,
// query t) scores the chunk's keys, softmaxes them locally and writes the unnormalised output
// with its max and exp-sum; attention_combine.comp merges the chunks (with a single chunk the
// output is written normalised, and there is no combine pass). Causal: query t (position
// pos0 + t) sees keys 0..pos0+t, with a window only the last `window` of them (the others are
// not read); a soft-cap bounds each scaled score. Grouped-query: head h reads kv head h / (n_heads / n_kv_heads).
// q (n_q, n_heads, head_dim) f32; k, v caches (n_ctx, n_kv_heads, head_dim), f32 or (KV_F16)
// halves packed two per uint; head_dim even and <= 256.
#extension GL_GOOGLE_include_directive : require
#include "tokenfab/shader_abi.h"

layout(constant_id = 0) const uint kWorkgroup = 64;
layout(constant_id = 1) const uint kChunk = 256;
layout(local_size_x_id = 0) in;

layout(set = 0, binding = 0) readonly buffer Q { float q[]; };
#ifdef KV_F16
layout(set = 0, binding = 1) readonly buffer K { uint k_cache[]; };
layout(set = 0, binding = 2) readonly buffer V { uint v_cache[]; };
vec2 kPair(uint e) { return unpackHalf2x16(k_cache[e >> 1]); }
float vAt(uint e) { return unpackHalf2x16(v_cache[e >> 1])[e & 1u]; }
#else
layout(set = 0, binding = 1) readonly buffer K { float k_cache[]; };
layout(set = 0, binding = 2) readonly buffer V { float v_cache[]; };
vec2 kPair(uint e) { return vec2(k_cache[e], k_cache[e + 1]); }
float vAt(uint e) { return v_cache[e]; }
#endif
layout(set = 0, binding = 3) writeonly buffer Partial { float partial[]; };
layout(push_constant) uniform Push { AttentionParams p; };

#include "tokenfab/reduce.glsl"

shared float s_q[256];
shared float s_p[kChunk];

void main() {
  const uint c = gl_WorkGroupID.x;
  const uint h = gl_WorkGroupID.y;
  const uint t = gl_WorkGroupID.z;
  const uint tid = gl_LocalInvocationID.x;
  const uint D = p.head_dim;
  const uint kvh = h / (p.n_heads / p.n_kv_heads);
  const uint kv_stride = p.n_kv_heads * D;

  for (uint d = tid; d < D; d += kWorkgroup) s_q[d] = q[(t * p.n_heads + h) * D + d] * p.scale;
  barrier();  // s_q complete before scoring

  const uint k0 = c * kChunk;
  const uint end = p.pos0 + t + 1;  // causal: keys < end
  const uint start = p.window > 0u && end > p.window ? end - p.window : 0u;  // sliding window: keys >= start
  const uint n = end > k0 ? min(kChunk, end - k0) : 0u;
  const uint jb = start > k0 ? min(start - k0, n) : 0u;  // the chunk's keys before the window: skipped

  float local_max = -3.0e38;
  for (uint j = jb + tid; j < n; j += kWorkgroup) {
    const uint kb = (k0 + j) * kv_stride + kvh * D;
    float s = 0.0;
    for (uint d = 0; d < D; d += 2) {
      const vec2 kk = kPair(kb + d);
      s += s_q[d] * kk.x + s_q[d + 1] * kk.y;
    }
    if (p.softcap > 0.0) s = p.softcap * tanh(clamp(s / p.softcap, -15.0, 15.0));
    s_p[j] = s;
    local_max = max(local_max, s);
  }
  const float m = wgMax(local_max);  // its barriers also publish s_p

  float local_sum = 0.0;
  for (uint j = jb + tid; j < n; j += kWorkgroup) {
    const float e = exp(s_p[j] - m);
    s_p[j] = e;
    local_sum += e;
  }
  const float l = wgSum(local_sum);  // its barriers also publish the new s_p

  const uint out_base = ((t * p.n_heads + h) * p.n_chunks + c) * (D + 2);
  for (uint d = tid; d < D; d += kWorkgroup) {
    float acc = 0.0;
    for (uint j = jb; j < n; ++j) acc += s_p[j] * vAt((k0 + j) * kv_stride + kvh * D + d);
    if (p.n_chunks == 1u) {
      // One chunk holds every key: binding 3 is the output itself, normalised here exactly as
      // the combine pass would (its max is this chunk's, exp(0) = 1).
      partial[(t * p.n_heads + h) * D + d] = acc / l;
    } else {
      partial[out_base + d] = acc;
    }
  }
  if (tid == 0 && p.n_chunks > 1u) {
    partial[out_base + D] = m;
    partial[out_base + D + 1] = l;  // 0 for a chunk with no visible key
  }
}
