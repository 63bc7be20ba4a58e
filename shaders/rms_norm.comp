#version 450
// RMSNorm with weight, one workgroup per row: dst = x / sqrt(mean(x^2) + eps) * weight.
#extension GL_GOOGLE_include_directive : require
#include "tokenfab/shader_abi.h"

layout(constant_id = 0) const uint kWorkgroup = 64;
layout(local_size_x_id = 0) in;

layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) readonly buffer W { float weight[]; };
layout(set = 0, binding = 2) writeonly buffer Dst { float dst[]; };
layout(push_constant) uniform Push { RmsNormParams p; };

#include "tokenfab/reduce.glsl"

void main() {
  const uint row = gl_WorkGroupID.x;
  const uint tid = gl_LocalInvocationID.x;
  const uint base = row * p.n_cols;
  float ss = 0.0;
  for (uint c = tid; c < p.n_cols; c += kWorkgroup) ss += x[base + c] * x[base + c];
  const float total = wgSum(ss);
  const float inv = inversesqrt(total / float(p.n_cols) + p.eps);
  for (uint c = tid; c < p.n_cols; c += kWorkgroup) dst[base + c] = x[base + c] * inv * weight[c];
}
