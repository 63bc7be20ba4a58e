#version 450
// Decode products of several matrices in one dispatch (see MatVecGroupParams):
//   GROUP: up to three matrices (q, k, v) stored in one binding, each row to its own output;
//   GLU:   gate and up rows r together, y0[r] = silu(gate . x) * (up . x) (SwiGLU).
// Same row-per-subgroup scheme and unit decoding as matvec_sg.comp; fewer dispatches and
// barriers per token, and for GLU no gate/up round trip through memory. NORM: the RMS norm of
// x (weight nw) folded in, so the norm before the products needs no dispatch of its own.
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#include "tokenfab/shader_abi_matmul.h"

layout(constant_id = 0) const uint kWorkgroup = 64;
layout(constant_id = 1) const uint kRows = 16;  // rows per workgroup
layout(local_size_x_id = 0) in;

layout(set = 0, binding = 0) readonly buffer Weights { uint wq[]; };
layout(set = 0, binding = 1) readonly buffer X { float x[]; };
layout(set = 0, binding = 2) writeonly buffer Y0 { float y0[]; };
#ifdef GROUP
layout(set = 0, binding = 3) writeonly buffer Y1 { float y1[]; };
layout(set = 0, binding = 4) writeonly buffer Y2 { float y2[]; };
#define NORM_BINDING 5
#else
#define NORM_BINDING 3
#endif
#ifdef NORM
layout(set = 0, binding = NORM_BINDING) readonly buffer NormWeight { float nw[]; };
#endif
layout(push_constant) uniform Push { MatVecGroupParams p; };

#include "tokenfab/dequant.glsl"
#include "tokenfab/dequant_unit.glsl"

float rowDot(uint rb) {
  const uint units = p.cols / UNIT;
  float acc = 0.0;
  for (uint u = gl_SubgroupInvocationID; u < units; u += gl_SubgroupSize) acc += unitDot(rb, u, u * UNIT);
  for (uint k = units * UNIT + gl_SubgroupInvocationID; k < p.cols; k += gl_SubgroupSize) acc += dq(rb, k) * xAt(k);
  return subgroupAdd(acc);
}

void main() {
  const uint group = gl_WorkGroupID.y * p.groups_x + gl_WorkGroupID.x;
  if (group * kRows >= p.rows) return;
#ifdef NORM
  // 1 / rms(x) as rms_norm.comp computes it, inversesqrt(mean(x^2) + eps), by every subgroup for
  // itself: no shared memory, no barrier.
  float ss = 0.0;
  for (uint k = gl_SubgroupInvocationID; k < p.cols; k += gl_SubgroupSize) ss += x[k] * x[k];
  g_norm_inv = inversesqrt(subgroupAdd(ss) / float(p.cols) + p.eps);
#endif
  // Each iteration is uniform within a subgroup: the whole subgroup works on row `row`.
  for (uint rr = gl_SubgroupID; rr < kRows; rr += gl_NumSubgroups) {
    const uint row = group * kRows + rr;
    if (row >= p.rows) break;
#ifdef GLU
    const float g = rowDot(row * p.row_bytes);
    const float u = rowDot(p.part_byte1 + row * p.row_bytes);
    if (subgroupElect()) y0[row] = g / (1.0 + exp(-g)) * u;
#else
    const uint m = row < p.part_row1 ? 0u : (row < p.part_row2 ? 1u : 2u);
    const uint local = row - (m == 0u ? 0u : (m == 1u ? p.part_row1 : p.part_row2));
    const uint base = m == 0u ? 0u : (m == 1u ? p.part_byte1 : p.part_byte2);
    const float acc = rowDot(base + local * p.row_bytes);
    if (subgroupElect()) {
      if (m == 0u) {
        y0[local] = acc;
      } else if (m == 1u) {
        y1[local] = acc;
      } else {
        y2[local] = acc;
      }
    }
#endif
  }
}
