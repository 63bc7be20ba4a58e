#version 450
// Rotary position embedding, in place on x (n_tokens, n_heads, head_dim). NEOX rotates pairs
// (i, i + n_rot/2) (qwen2); otherwise adjacent pairs (2i, 2i+1) (llama). Grid: x = pair index,
// y = head, z = token.
#extension GL_GOOGLE_include_directive : require
#include "tokenfab/shader_abi.h"

layout(constant_id = 0) const uint kWorkgroup = 64;
layout(local_size_x_id = 0) in;

layout(set = 0, binding = 0) buffer X { float x[]; };
layout(set = 0, binding = 1) readonly buffer Pos { uint pos[]; };
layout(set = 0, binding = 2) readonly buffer Freq { float freq_factors[]; };
layout(push_constant) uniform Push { RopeParams p; };

void main() {
  const uint i = gl_GlobalInvocationID.x;
  const uint h = gl_WorkGroupID.y;
  const uint t = gl_WorkGroupID.z;
  const uint half_rot = p.n_rot / 2;
  if (i >= half_rot) return;
  float theta = float(pos[t]) * p.freq_scale * pow(p.freq_base, -2.0 * float(i) / float(p.n_rot));
  if (p.has_freq_factors != 0u) theta /= freq_factors[i];
  const uint base = (t * p.n_heads + h) * p.head_dim;
#ifdef NEOX
  const uint i0 = base + i, i1 = base + i + half_rot;
#else
  const uint i0 = base + 2 * i, i1 = base + 2 * i + 1;
#endif
  const float c = cos(theta), s = sin(theta);
  const float x0 = x[i0], x1 = x[i1];
  x[i0] = x0 * c - x1 * s;
  x[i1] = x0 * s + x1 * c;
}
