#version 450
// Quantized matrix x vector for decode, one subgroup per weight row: y[n][r] = sum_k W[r][k] x[n][k]
// (+ y[n][r] when p.accumulate: the residual add fused into the product).
// A workgroup owns kRows consecutive rows; its subgroups take them in turn, and the lanes of a
// subgroup stride over the row's units (dequant_unit.glsl: whole blocks read as 32-bit words,
// scales once per block), so neighbouring lanes read neighbouring blocks. The lane sums are
// reduced with subgroupAdd: no shared memory and no barrier. Needs subgroup arithmetic; the
// element-wise matvec.comp (_nosg variants) is the fallback.
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#include "tokenfab/shader_abi_matmul.h"

layout(constant_id = 0) const uint kWorkgroup = 64;
layout(constant_id = 1) const uint kRows = 16;  // weight rows per workgroup
layout(local_size_x_id = 0) in;

layout(set = 0, binding = 0) readonly buffer Weights { uint wq[]; };
layout(set = 0, binding = 1) readonly buffer X { float x[]; };
layout(set = 0, binding = 2) buffer Y { float y[]; };
layout(push_constant) uniform Push { MatMulParams p; };

#include "tokenfab/dequant.glsl"
#include "tokenfab/dequant_unit.glsl"

void main() {
  const uint group = gl_WorkGroupID.y * p.groups_x + gl_WorkGroupID.x;
  const uint n = gl_WorkGroupID.z;
  if (n >= p.batch) return;
  const uint xb = p.x_offset + n * p.x_stride;
  const uint units = p.cols / UNIT;
  const uint lane = gl_SubgroupInvocationID;
  // Each iteration is uniform within a subgroup: the whole subgroup works on row `row`.
  for (uint rr = gl_SubgroupID; rr < kRows; rr += gl_NumSubgroups) {
    const uint row = group * kRows + rr;
    if (row >= p.rows) break;
    const uint rb = row * p.row_bytes;
    float acc = 0.0;
    for (uint u = lane; u < units; u += gl_SubgroupSize) acc += unitDot(rb, u, xb + u * UNIT);
    for (uint k = units * UNIT + lane; k < p.cols; k += gl_SubgroupSize) acc += dq(rb, k) * x[xb + k];
    acc = subgroupAdd(acc);
    if (subgroupElect()) {
      const uint yi = p.y_offset + n * p.y_stride + p.row_offset + row;
      y[yi] = p.accumulate != 0u ? y[yi] + acc : acc;
    }
  }
}
