#version 450
// SwiGLU gate: dst[i] = silu(gate[i]) * up[i], silu(x) = x / (1 + exp(-x)).
#extension GL_GOOGLE_include_directive : require
#include "tokenfab/shader_abi.h"

layout(constant_id = 0) const uint kWorkgroup = 256;
layout(local_size_x_id = 0) in;

layout(set = 0, binding = 0) readonly buffer Gate { float gate[]; };
layout(set = 0, binding = 1) readonly buffer Up { float up[]; };
layout(set = 0, binding = 2) writeonly buffer Dst { float dst[]; };
layout(push_constant) uniform Push { SiluMulParams p; };

void main() {
  const uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * p.groups_x * kWorkgroup;
  if (i >= p.n) return;
  const float g = gate[i];
  dst[i] = g / (1.0 + exp(-g)) * up[i];
}
