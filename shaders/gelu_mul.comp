#version 450
// GELU-gated FFN (gemma): dst[i] = gelu_tanh(gate[i]) * up[i],
// gelu_tanh(x) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
#extension GL_GOOGLE_include_directive : require
#include "tokenfab/shader_abi.h"

layout(constant_id = 0) const uint kWorkgroup = 256;
layout(local_size_x_id = 0) in;

layout(set = 0, binding = 0) readonly buffer Gate { float gate[]; };
layout(set = 0, binding = 1) readonly buffer Up { float up[]; };
layout(set = 0, binding = 2) writeonly buffer Dst { float dst[]; };
layout(push_constant) uniform Push { GeluMulParams p; };

void main() {
  const uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * p.groups_x * kWorkgroup;
  if (i >= p.n) return;
  const float g = gate[i];
  // tanh saturates long before |t| = 15; the clamp keeps a driver's exp-based tanh finite.
  const float t = clamp(0.7978845608 * (g + 0.044715 * g * g * g), -15.0, 15.0);
  dst[i] = 0.5 * g * (1.0 + tanh(t)) * up[i];
}
