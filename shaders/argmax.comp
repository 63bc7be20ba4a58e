#version 450
// Row argmax (see rank.glsl for ties and NaN), one workgroup per row; dst holds uint indices.
#extension GL_GOOGLE_include_directive : require
#include "tokenfab/shader_abi.h"
#include "tokenfab/rank.glsl"

layout(constant_id = 0) const uint kWorkgroup = 64;
layout(local_size_x_id = 0) in;

layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) writeonly buffer Dst { uint dst[]; };
layout(push_constant) uniform Push { RowParams p; };

shared float s_v[kWorkgroup];
shared uint s_i[kWorkgroup];

void main() {
  const uint row = gl_WorkGroupID.x;
  const uint base = row * p.n_cols;
  const uint tid = gl_LocalInvocationID.x;
  float bv = 0.0;
  uint bi = 0xFFFFFFFFu;  // no candidate yet
  for (uint c = tid; c < p.n_cols; c += kWorkgroup) {
    const float v = x[base + c];
    if (bi == 0xFFFFFFFFu || rankBefore(v, c, bv, bi)) bv = v, bi = c;
  }
  s_v[tid] = bv;
  s_i[tid] = bi;
  barrier();  // all candidates stored
  for (uint s = kWorkgroup / 2; s > 0; s >>= 1) {
    if (tid < s && s_i[tid + s] != 0xFFFFFFFFu &&
        (s_i[tid] == 0xFFFFFFFFu || rankBefore(s_v[tid + s], s_i[tid + s], s_v[tid], s_i[tid]))) {
      s_v[tid] = s_v[tid + s];
      s_i[tid] = s_i[tid + s];
    }
    barrier();  // this level complete before the next reads it
  }
  if (tid == 0) dst[row] = s_i[0];
}
