#version 450
// Merges the split-K chunks of attention_split.comp: workgroup (head h, query t), invocations
// over head dims. Chunks with l == 0 (no visible key) are skipped. DECODE_STEP: the chunks of
// attention_decode.comp, their count read from the DecodeStep buffer (a replayed decode step).
#extension GL_GOOGLE_include_directive : require
#include "tokenfab/shader_abi.h"

layout(constant_id = 0) const uint kWorkgroup = 64;
layout(local_size_x_id = 0) in;

layout(set = 0, binding = 0) readonly buffer Partial { float partial[]; };
layout(set = 0, binding = 1) writeonly buffer Out { float dst[]; };
layout(push_constant) uniform Push { AttentionCombineParams p; };
#ifdef DECODE_STEP
layout(set = 0, binding = 2) readonly buffer Step { DecodeStep st; };
uint chunkCount() { return st.n_chunks; }
#else
uint chunkCount() { return p.n_chunks; }
#endif

void main() {
  const uint h = gl_WorkGroupID.x;
  const uint t = gl_WorkGroupID.y;
  const uint D = p.head_dim;
  const uint n_chunks = chunkCount();
  const uint base = (t * p.n_heads + h) * n_chunks * (D + 2);
  float m = -3.0e38;
  for (uint c = 0; c < n_chunks; ++c) {
    const uint cb = base + c * (D + 2);
    if (partial[cb + D + 1] > 0.0) m = max(m, partial[cb + D]);
  }
  float l = 0.0;
  for (uint c = 0; c < n_chunks; ++c) {
    const uint cb = base + c * (D + 2);
    const float lc = partial[cb + D + 1];
    if (lc > 0.0) l += lc * exp(partial[cb + D] - m);
  }
  for (uint d = gl_LocalInvocationID.x; d < D; d += kWorkgroup) {
    float acc = 0.0;
    for (uint c = 0; c < n_chunks; ++c) {
      const uint cb = base + c * (D + 2);
      if (partial[cb + D + 1] > 0.0) acc += partial[cb + d] * exp(partial[cb + D] - m);
    }
    dst[(t * p.n_heads + h) * D + d] = acc / l;
  }
}
