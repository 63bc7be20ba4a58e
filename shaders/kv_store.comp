#version 450
// Writes new K or V rows into the cache: cache[(pos0 + t) * row + j] = src[t * row + j].
// KV_F16: the cache holds halves packed two per uint; each invocation writes one pair.
#extension GL_GOOGLE_include_directive : require
#include "tokenfab/shader_abi.h"

layout(constant_id = 0) const uint kWorkgroup = 64;
layout(local_size_x_id = 0) in;

layout(set = 0, binding = 0) readonly buffer Src { float src[]; };
#ifdef KV_F16
layout(set = 0, binding = 1) writeonly buffer Cache { uint cache[]; };
#else
layout(set = 0, binding = 1) writeonly buffer Cache { float cache[]; };
#endif
layout(push_constant) uniform Push { KvStoreParams p; };

void main() {
  const uint t = gl_WorkGroupID.y;
#ifdef KV_F16
  const uint j = gl_GlobalInvocationID.x * 2;
  if (j >= p.row) return;
  const uint s = t * p.row + j;
  cache[((p.pos0 + t) * p.row + j) / 2] = packHalf2x16(vec2(src[s], src[s + 1]));
#else
  const uint j = gl_GlobalInvocationID.x;
  if (j >= p.row) return;
  cache[(p.pos0 + t) * p.row + j] = src[t * p.row + j];
#endif
}
