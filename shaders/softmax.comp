#version 450
// Row softmax, one workgroup per row. A row with NaN or +Inf, or whose max is -Inf, becomes
// all NaN; -Inf entries get probability 0.
#extension GL_GOOGLE_include_directive : require
#include "tokenfab/shader_abi.h"

layout(constant_id = 0) const uint kWorkgroup = 64;
layout(local_size_x_id = 0) in;

layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) writeonly buffer Dst { float dst[]; };
layout(push_constant) uniform Push { RowParams p; };

#include "tokenfab/reduce.glsl"

void main() {
  const uint base = gl_WorkGroupID.x * p.n_cols;
  const uint tid = gl_LocalInvocationID.x;
  float local_max = uintBitsToFloat(0xFF800000u);
  float bad = 0.0;
  for (uint c = tid; c < p.n_cols; c += kWorkgroup) {
    const float v = x[base + c];
    if (isNanBits(v) || isPosInfBits(v)) bad = 1.0;
    else local_max = max(local_max, v);
  }
  const float m = wgMax(local_max);
  const float any_bad = wgSum(bad);
  if (any_bad > 0.0 || isNegInfBits(m)) {
    for (uint c = tid; c < p.n_cols; c += kWorkgroup) dst[base + c] = uintBitsToFloat(0x7FC00000u);
    return;
  }
  float local_sum = 0.0;
  for (uint c = tid; c < p.n_cols; c += kWorkgroup) {
    const float v = x[base + c];
    local_sum += isNegInfBits(v) ? 0.0 : exp(v - m);
  }
  const float inv = 1.0 / wgSum(local_sum);
  for (uint c = tid; c < p.n_cols; c += kWorkgroup) {
    const float v = x[base + c];
    dst[base + c] = isNegInfBits(v) ? 0.0 : exp(v - m) * inv;
  }
}
