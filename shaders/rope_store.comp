#version 450
// bias + rope + kv_store fused: one workgroup per (head slot, token). Slot s < n_heads is q head
// s, then n_kv_heads k heads, then n_kv_heads v heads. The head row is read (plus its bias) into
// shared memory first, so rotated pairs can be written in place in any order; each invocation
// then writes output dims (2j, 2j+1) of the row, and for k and v the same pair into the cache
// (one packed uint in an f16 cache). The float operations are those of rope.comp, add.comp and
// kv_store.comp, so the results are bit-identical to that sequence. NEOX: pairs (i, i + n_rot/2)
// (qwen2); otherwise (2i, 2i+1) (llama).
#extension GL_GOOGLE_include_directive : require
#include "tokenfab/shader_abi.h"

layout(constant_id = 0) const uint kWorkgroup = 64;
layout(local_size_x_id = 0) in;

const uint kMaxHeadDim = 256;

layout(set = 0, binding = 0) buffer Q { float q[]; };  // (n_tokens, n_heads, head_dim)
layout(set = 0, binding = 1) buffer K { float k[]; };  // (n_tokens, n_kv_heads, head_dim)
layout(set = 0, binding = 2) buffer V { float v[]; };  // (n_tokens, n_kv_heads, head_dim_v)
layout(set = 0, binding = 3) readonly buffer Pos { uint pos[]; };  // (n_tokens)
layout(set = 0, binding = 4) readonly buffer Freq { float freq_factors[]; };  // (n_rot / 2)
layout(set = 0, binding = 5) readonly buffer Bias { float bias[]; };  // (q_dim + k_dim + v_dim)
#ifdef KV_F16
layout(set = 0, binding = 6) writeonly buffer KCache { uint k_cache[]; };  // (n_ctx, k_dim / 2)
layout(set = 0, binding = 7) writeonly buffer VCache { uint v_cache[]; };  // (n_ctx, v_dim / 2)
#else
layout(set = 0, binding = 6) writeonly buffer KCache { float k_cache[]; };  // (n_ctx, k_dim)
layout(set = 0, binding = 7) writeonly buffer VCache { float v_cache[]; };  // (n_ctx, v_dim)
#endif
layout(push_constant) uniform Push { RopeStoreParams p; };

shared float s_row[kMaxHeadDim];  // the (biased) input row of this head

// Same expression as rope.comp, term for term.
float ropeTheta(uint t, uint i) {
  float theta = float(pos[t]) * p.freq_scale * pow(p.freq_base, -2.0 * float(i) / float(p.n_rot));
  if (p.has_freq_factors != 0u) theta /= freq_factors[i];
  return theta;
}

#ifdef NEOX
// Output dim d < n_rot of pair (i, i + n_rot/2).
float rotatedDim(uint t, uint d) {
  const uint half_rot = p.n_rot / 2;
  const uint i = d < half_rot ? d : d - half_rot;
  const float theta = ropeTheta(t, i);
  const float c = cos(theta), s = sin(theta);
  const float x0 = s_row[i], x1 = s_row[i + half_rot];
  return d < half_rot ? x0 * c - x1 * s : x0 * s + x1 * c;
}
#endif

// Rotated output dims (2j, 2j + 1) of the row in s_row.
vec2 rotatedPair(uint t, uint j) {
  if (2 * j >= p.n_rot) return vec2(s_row[2 * j], s_row[2 * j + 1]);
#ifdef NEOX
  return vec2(rotatedDim(t, 2 * j), rotatedDim(t, 2 * j + 1));
#else
  const float theta = ropeTheta(t, j);
  const float c = cos(theta), s = sin(theta);
  const float x0 = s_row[2 * j], x1 = s_row[2 * j + 1];
  return vec2(x0 * c - x1 * s, x0 * s + x1 * c);
#endif
}

void storeCache(bool is_k, uint index, vec2 val) {
#ifdef KV_F16
  if (is_k) k_cache[index / 2] = packHalf2x16(val);
  else v_cache[index / 2] = packHalf2x16(val);
#else
  if (is_k) {
    k_cache[index] = val.x;
    k_cache[index + 1] = val.y;
  } else {
    v_cache[index] = val.x;
    v_cache[index + 1] = val.y;
  }
#endif
}

void main() {
  const uint slot = gl_WorkGroupID.x;
  const uint t = gl_WorkGroupID.y;
  const uint lid = gl_LocalInvocationID.x;
  const uint q_dim = p.n_heads * p.head_dim, k_dim = p.n_kv_heads * p.head_dim;
  const uint v_dim = p.n_kv_heads * p.head_dim_v;
  // 0 = q, 1 = k, 2 = v; uniform over the workgroup.
  const uint which = slot < p.n_heads ? 0u : (slot < p.n_heads + p.n_kv_heads ? 1u : 2u);
  const uint h = which == 0u ? slot : (which == 1u ? slot - p.n_heads : slot - p.n_heads - p.n_kv_heads);
  const uint dim = which == 2u ? p.head_dim_v : p.head_dim;
  const uint heads = which == 0u ? p.n_heads : p.n_kv_heads;
  const uint base = (t * heads + h) * dim;  // first element of this head row in q / k / v
  const uint bias_base = which == 0u ? h * p.head_dim : (which == 1u ? q_dim + h * p.head_dim : q_dim + k_dim + h * p.head_dim_v);

  for (uint d = lid; d < dim; d += kWorkgroup) {
    float x = which == 0u ? q[base + d] : (which == 1u ? k[base + d] : v[base + d]);
    // Branch rather than add 0: x + 0.0 would turn -0.0 into +0.0.
    if (p.has_bias != 0u) x = x + bias[bias_base + d];
    s_row[d] = x;
  }
  memoryBarrierShared();
  barrier();  // s_row complete before any pair reads its partner

  const uint row = which == 2u ? v_dim : k_dim;  // cache row length
  const uint cache_base = (p.pos0 + t) * row + h * dim;
  for (uint j = lid; 2 * j < dim; j += kWorkgroup) {
    const uint d = 2 * j;
    if (which == 0u) {
      const vec2 o = rotatedPair(t, j);
      q[base + d] = o.x;
      q[base + d + 1] = o.y;
    } else if (which == 1u) {
      const vec2 o = rotatedPair(t, j);
      k[base + d] = o.x;
      k[base + d + 1] = o.y;
      storeCache(true, cache_base + d, o);
    } else {
      const vec2 o = vec2(s_row[d], s_row[d + 1]);
      v[base + d] = o.x;
      v[base + d + 1] = o.y;
      storeCache(false, cache_base + d, o);
    }
  }
}
