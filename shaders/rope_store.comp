#version 450
// bias + rope + kv_store fused. Grid: x = unit of a head row, y = head slot, z = token. Slot
// s < n_heads is q head s, then n_kv_heads k heads, then n_kv_heads v heads. Every unit reads,
// rotates and writes back whole rope pairs, so in-place writes race with no other invocation
// and no barrier is needed; and it writes whole adjacent dim pairs (2j, 2j+1), i.e. whole words
// of an f16 cache. Adjacent layout (llama): unit j = pair (2j, 2j+1). NEOX (qwen2): unit
// j < n_rot/4 = pairs (2j, 2j + n_rot/2) and (2j+1, 2j+1 + n_rot/2); later units copy the
// unrotated dims two at a time. v: unit j = dims (2j, 2j+1). The float operations are those
// of add.comp, rope.comp and kv_store.comp, so results are bit-identical to that sequence.
#extension GL_GOOGLE_include_directive : require
#include "tokenfab/shader_abi.h"

layout(constant_id = 0) const uint kWorkgroup = 64;
layout(local_size_x_id = 0) in;

layout(set = 0, binding = 0) buffer Q { float q[]; };  // (n_tokens, n_heads, head_dim)
layout(set = 0, binding = 1) buffer K { float k[]; };  // (n_tokens, n_kv_heads, head_dim)
layout(set = 0, binding = 2) buffer V { float v[]; };  // (n_tokens, n_kv_heads, head_dim_v)
layout(set = 0, binding = 3) readonly buffer Pos { uint pos[]; };             // (n_tokens)
layout(set = 0, binding = 4) readonly buffer Freq { float freq_factors[]; };  // (n_rot / 2)
layout(set = 0, binding = 5) readonly buffer Bias { float bias[]; };          // (q_dim + k_dim + v_dim)
#ifdef KV_F16
layout(set = 0, binding = 6) writeonly buffer KCache { uint k_cache[]; };  // (n_ctx, k_dim / 2) half pairs
layout(set = 0, binding = 7) writeonly buffer VCache { uint v_cache[]; };  // (n_ctx, v_dim / 2)
#else
layout(set = 0, binding = 6) writeonly buffer KCache { float k_cache[]; };  // (n_ctx, k_dim)
layout(set = 0, binding = 7) writeonly buffer VCache { float v_cache[]; };  // (n_ctx, v_dim)
#endif
layout(push_constant) uniform Push { RopeStoreParams p; };

const uint kQ = 0u, kK = 1u, kV = 2u;

// This workgroup's head row: which tensor, its first element, its bias and cache offsets.
uint g_which, g_base, g_bias_base, g_cache_base;

// Dims (d, d + 1) of the row, plus their bias (as add.comp: one f32 add; none without bias,
// since x + 0.0 would turn -0.0 into +0.0).
vec2 loadPair(uint d) {
  const uint i = g_base + d;
  vec2 x = g_which == kQ ? vec2(q[i], q[i + 1]) : (g_which == kK ? vec2(k[i], k[i + 1]) : vec2(v[i], v[i + 1]));
  if (p.has_bias != 0u) {
    x.x = x.x + bias[g_bias_base + d];
    x.y = x.y + bias[g_bias_base + d + 1];
  }
  return x;
}

// Writes dims (d, d + 1) back in place and, for k and v, into the cache row (kv_store.comp).
// A row past the bound cache (a position the host should never send) is not written.
void storePair(uint d, vec2 x) {
  const uint i = g_base + d, c = g_cache_base + d;
#ifdef KV_F16
  const bool in_cache = c / 2u < (g_which == kK ? uint(k_cache.length()) : uint(v_cache.length()));
#else
  const bool in_cache = c < (g_which == kK ? uint(k_cache.length()) : uint(v_cache.length()));
#endif
  if (g_which == kQ) {
    q[i] = x.x;
    q[i + 1] = x.y;
  } else if (g_which == kK) {
    k[i] = x.x;
    k[i + 1] = x.y;
    if (!in_cache) return;
#ifdef KV_F16
    k_cache[c / 2] = packHalf2x16(x);
#else
    k_cache[c] = x.x;
    k_cache[c + 1] = x.y;
#endif
  } else {
    v[i] = x.x;
    v[i + 1] = x.y;
    if (!in_cache) return;
#ifdef KV_F16
    v_cache[c / 2] = packHalf2x16(x);
#else
    v_cache[c] = x.x;
    v_cache[c + 1] = x.y;
#endif
  }
}

// Same expression as rope.comp, term for term.
float ropeTheta(uint t, uint i) {
  float theta = float(pos[t]) * p.freq_scale * pow(p.freq_base, -2.0 * float(i) / float(p.n_rot));
  if (p.has_freq_factors != 0u) theta /= freq_factors[i];
  return theta;
}

void main() {
  const uint u = gl_GlobalInvocationID.x;
  const uint slot = gl_WorkGroupID.y;
  const uint t = gl_WorkGroupID.z;
  const uint q_dim = p.n_heads * p.head_dim, k_dim = p.n_kv_heads * p.head_dim;
  g_which = slot < p.n_heads ? kQ : (slot < p.n_heads + p.n_kv_heads ? kK : kV);
  const uint h = g_which == kQ ? slot : (g_which == kK ? slot - p.n_heads : slot - p.n_heads - p.n_kv_heads);
  const uint dim = g_which == kV ? p.head_dim_v : p.head_dim;
  g_base = (t * (g_which == kQ ? p.n_heads : p.n_kv_heads) + h) * dim;
  g_bias_base = (g_which == kQ ? 0u : (g_which == kK ? q_dim : q_dim + k_dim)) + h * dim;
  // Cache row pos[t] of (n_ctx, n_kv_heads, dim).
  g_cache_base = (pos[t] * p.n_kv_heads + h) * dim;

  if (g_which == kV) {
    if (2 * u >= dim) return;
    storePair(2 * u, loadPair(2 * u));
    return;
  }
#ifdef NEOX
  const uint half_rot = p.n_rot / 2;
  if (u < p.n_rot / 4) {
    const uint d = 2 * u;
    const vec2 lo = loadPair(d), hi = loadPair(d + half_rot);  // x0 of pairs d, d+1; their x1
    const float theta0 = ropeTheta(t, d), theta1 = ropeTheta(t, d + 1);
    const float c0 = cos(theta0), s0 = sin(theta0);
    const float c1 = cos(theta1), s1 = sin(theta1);
    storePair(d, vec2(lo.x * c0 - hi.x * s0, lo.y * c1 - hi.y * s1));
    storePair(d + half_rot, vec2(lo.x * s0 + hi.x * c0, lo.y * s1 + hi.y * c1));
    return;
  }
  const uint d = p.n_rot + 2 * (u - p.n_rot / 4);  // unrotated dims
  if (d >= dim) return;
  storePair(d, loadPair(d));
#else
  const uint d = 2 * u;
  if (d >= dim) return;
  vec2 x = loadPair(d);
  if (d < p.n_rot) {
    const float theta = ropeTheta(t, u);
    const float c = cos(theta), s = sin(theta);
    const float x0 = x.x, x1 = x.y;
    x = vec2(x0 * c - x1 * s, x0 * s + x1 * c);
  }
  storePair(d, x);
#endif
}
