#version 450
// The device's streaming read bandwidth: every invocation reads 16-byte words in a grid-stride
// loop (neighbours read neighbouring words, as a well-made product reads weights) and folds
// them into one word, which one invocation per workgroup writes so the reads cannot be dropped.
// The host times it with GPU timestamps over a buffer far larger than the last-level cache.
#extension GL_GOOGLE_include_directive : require
#include "tokenfab/shader_abi.h"

layout(constant_id = 0) const uint kWorkgroup = 256;
layout(local_size_x_id = 0) in;

layout(set = 0, binding = 0) readonly buffer Src { uvec4 src[]; };
layout(set = 0, binding = 1) writeonly buffer Sink { uint sink[]; };
layout(push_constant) uniform Push { StreamParams p; };

shared uint folded[kWorkgroup];

void main() {
  const uint stride = gl_NumWorkGroups.x * kWorkgroup;
  uvec4 acc = uvec4(0u);
  for (uint i = gl_GlobalInvocationID.x; i < p.n_words; i += stride) acc ^= src[i];
  folded[gl_LocalInvocationID.x] = acc.x ^ acc.y ^ acc.z ^ acc.w;
  barrier();  // folded: every invocation's word is written before invocation 0 reads them
  if (gl_LocalInvocationID.x == 0u) {
    uint f = 0u;
    for (uint i = 0u; i < kWorkgroup; ++i) f ^= folded[i];
    sink[gl_WorkGroupID.x] = f;
  }
}
