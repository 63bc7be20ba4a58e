#version 450
// Decode attention for GPUs: one query per head (the newest token, position n_keys - 1) over the
// KV cache, split along the keys. Workgroup (chunk c, kv head g) serves the kGroup query heads
// g * kGroup .. that share kv head g (grouped-query attention), so every key and value row is
// read once for all of them:
//   scores  teams of 8 invocations per key, each taking dims 4(l + 8m)..+3 (m = 0..D/32-1): a
//           team reads the key's row as consecutive 8- or 16-byte words (coalesced), and the
//           team's partial dots are summed by subgroup shuffles;
//   softmax each head by one subgroup (max, exp, sum);
//   values  invocations over dim pairs x key slices read value rows as consecutive words.
// With a window only the last `window` keys are read (their start follows n_keys on the GPU); a
// soft-cap bounds each scaled score.
// The number of keys, the chunk and the chunk count come from the DecodeStep buffer (written by
// the host before each submission; the dispatch is indirect from it), so one recorded command
// buffer serves every position. One chunk: the normalised output goes to `dst`; else partials
// for attention_combine.comp. Needs head_dim % 32 == 0, kGroup <= 8, subgroups of a multiple
// of 8 with shuffle and arithmetic (attention_split.comp is the general path).
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#extension GL_KHR_shader_subgroup_shuffle : require
#include "tokenfab/shader_abi.h"

layout(constant_id = 0) const uint kWorkgroup = 128;  // >= 128 (head_dim / 2 dim pairs)
layout(constant_id = 1) const uint kChunkMax = 256;   // the largest chunk the host sends
layout(constant_id = 2) const uint kGroup = 4;        // query heads per kv head, <= 8
layout(local_size_x_id = 0) in;

layout(set = 0, binding = 0) readonly buffer Q { float q[]; };  // (n_heads, head_dim)
#ifdef KV_F16
layout(set = 0, binding = 1) readonly buffer K { uvec2 k4[]; };  // four halves a word
layout(set = 0, binding = 2) readonly buffer V { uint v2[]; };   // two halves a word
vec4 key4(uint e) { const uvec2 w = k4[e >> 2]; return vec4(unpackHalf2x16(w.x), unpackHalf2x16(w.y)); }
vec2 value2(uint e) { return unpackHalf2x16(v2[e >> 1]); }
#else
layout(set = 0, binding = 1) readonly buffer K { vec4 k4[]; };
layout(set = 0, binding = 2) readonly buffer V { vec2 v2[]; };
vec4 key4(uint e) { return k4[e >> 2]; }
vec2 value2(uint e) { return v2[e >> 1]; }
#endif
layout(set = 0, binding = 3) writeonly buffer Partial { float partial[]; };
layout(set = 0, binding = 4) writeonly buffer Out { float dst[]; };  // (n_heads, head_dim)
layout(set = 0, binding = 5) readonly buffer Step { DecodeStep st; };
layout(push_constant) uniform Push { AttentionDecodeParams p; };

const uint kTeam = 8u;
shared float s_q[kGroup * 256u];         // (kGroup, head_dim) scaled queries
shared float s_p[kGroup * kChunkMax];    // (kGroup, chunk) scores, then exp(score - max)
shared float s_m[kGroup], s_l[kGroup];   // per head: max score, sum of exps
shared float s_o[2u * kWorkgroup * kGroup];  // (slices, kGroup, head_dim) partial outputs

void main() {
  const uint c = gl_WorkGroupID.x;
  const uint g = gl_WorkGroupID.y;
  const uint tid = gl_LocalInvocationID.x;
  const uint D = p.head_dim;
  const uint kv_stride = p.n_kv_heads * D;
  // Chunk c covers keys [c * chunk, (c + 1) * chunk); of those it reads the ones from the
  // window's start (sliding window: the last `window` keys) up to n_keys, as keys k0 + j.
  const uint start = p.window > 0u && st.n_keys > p.window ? st.n_keys - p.window : 0u;
  const uint k0 = max(c * st.chunk, start);
  const uint k_end = min((c + 1u) * st.chunk, st.n_keys);
  const uint n = k0 < k_end ? k_end - k0 : 0u;
  const uint head0 = g * kGroup;

  for (uint e = tid; e < kGroup * D; e += kWorkgroup) s_q[e] = q[head0 * D + e] * p.scale;
  barrier();  // s_q complete before scoring

  // Scores: team `team` takes keys team, team + teams, ...
  const uint team = tid / kTeam, l8 = tid % kTeam, teams = kWorkgroup / kTeam;
  for (uint j = team; j < n; j += teams) {
    const uint kb = (k0 + j) * kv_stride + g * D;
    float s[kGroup];
    for (uint i = 0u; i < kGroup; ++i) s[i] = 0.0;
    for (uint d = 4u * l8; d < D; d += 4u * kTeam) {
      const vec4 kk = key4(kb + d);
      for (uint i = 0u; i < kGroup; ++i) {
        const uint qo = i * D + d;
        s[i] += dot(kk, vec4(s_q[qo], s_q[qo + 1u], s_q[qo + 2u], s_q[qo + 3u]));
      }
    }
    for (uint i = 0u; i < kGroup; ++i) {
      // The 8 invocations of a team are consecutive in one subgroup: xor 1, 2, 4 stays inside it.
      s[i] += subgroupShuffleXor(s[i], 1u);
      s[i] += subgroupShuffleXor(s[i], 2u);
      s[i] += subgroupShuffleXor(s[i], 4u);
    }
    if (p.softcap > 0.0)
      for (uint i = 0u; i < kGroup; ++i) s[i] = p.softcap * tanh(clamp(s[i] / p.softcap, -15.0, 15.0));
    if (l8 == 0u)
      for (uint i = 0u; i < kGroup; ++i) s_p[i * kChunkMax + j] = s[i];
  }
  barrier();  // s_p: every score written before the softmax reads it

  for (uint i = gl_SubgroupID; i < kGroup; i += gl_NumSubgroups) {
    float m = -3.0e38;
    for (uint j = gl_SubgroupInvocationID; j < n; j += gl_SubgroupSize) m = max(m, s_p[i * kChunkMax + j]);
    m = subgroupMax(m);
    float l = 0.0;
    for (uint j = gl_SubgroupInvocationID; j < n; j += gl_SubgroupSize) {
      const float e = exp(s_p[i * kChunkMax + j] - m);
      s_p[i * kChunkMax + j] = e;
      l += e;
    }
    l = subgroupAdd(l);
    if (subgroupElect()) {
      s_m[i] = m;
      s_l[i] = l;  // 0 for a chunk with no key
    }
  }
  barrier();  // s_p holds exps, s_m / s_l are set

  // Values: invocation (dim pair dp, key slice ks).
  const uint pairs = D / 2u, slices = kWorkgroup / pairs;
  const uint dp = tid % pairs, ks = tid / pairs;
  if (ks < slices) {
    vec2 acc[kGroup];
    for (uint i = 0u; i < kGroup; ++i) acc[i] = vec2(0.0);
    for (uint j = ks; j < n; j += slices) {
      const vec2 vv = value2((k0 + j) * kv_stride + g * D + 2u * dp);
      for (uint i = 0u; i < kGroup; ++i) acc[i] += s_p[i * kChunkMax + j] * vv;
    }
    for (uint i = 0u; i < kGroup; ++i) {
      const uint o = (ks * kGroup + i) * D + 2u * dp;
      s_o[o] = acc[i].x;
      s_o[o + 1u] = acc[i].y;
    }
  }
  barrier();  // s_o: every slice's sums written before they are added

  for (uint e = tid; e < kGroup * D; e += kWorkgroup) {
    const uint i = e / D, d = e % D;
    float o = 0.0;
    for (uint k = 0u; k < slices; ++k) o += s_o[(k * kGroup + i) * D + d];
    const uint h = head0 + i;
    if (st.n_chunks == 1u) {
      dst[h * D + d] = o / s_l[i];  // as the combine pass would: one chunk, exp(0) = 1
    } else {
      partial[(h * st.n_chunks + c) * (D + 2u) + d] = o;
    }
  }
  if (st.n_chunks > 1u && tid < kGroup) {
    const uint base = ((head0 + tid) * st.n_chunks + c) * (D + 2u);
    partial[base + D] = s_m[tid];
    partial[base + D + 1u] = s_l[tid];
  }
}
