#version 450
// Soft-capping (gemma2's final logits): dst[i] = cap * tanh(x[i] / cap); dst may be x.
#extension GL_GOOGLE_include_directive : require
#include "tokenfab/shader_abi.h"

layout(constant_id = 0) const uint kWorkgroup = 256;
layout(local_size_x_id = 0) in;

layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) writeonly buffer Dst { float dst[]; };
layout(push_constant) uniform Push { SoftcapParams p; };

void main() {
  const uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * p.groups_x * kWorkgroup;
  if (i >= p.n) return;
  // tanh saturates long before |t| = 15; the clamp keeps a driver's exp-based tanh finite.
  dst[i] = p.cap * tanh(clamp(x[i] / p.cap, -15.0, 15.0));
}
