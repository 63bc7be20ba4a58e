#version 450
// Decode products of several matrices in one dispatch (see MatVecGroupParams):
//   GROUP: up to three matrices (q, k, v) stored in one binding, each row to its own output;
//   GLU:   gate and up rows r together, y0[r] = silu(gate . x) * (up . x) (SwiGLU).
// Same scheme as matvec_sg.comp (matvec_core.glsl); fewer dispatches and barriers per token,
// and for GLU no gate/up round trip through memory. NORM: the RMS norm of x (weight nw) folded
// in, applied as x is staged, so the norm before the products needs no dispatch of its own.
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#include "tokenfab/shader_abi_matmul.h"

layout(constant_id = 0) const uint kWorkgroup = 128;
layout(constant_id = 1) const uint kRowsPerGroup = 8;
layout(constant_id = 2) const uint kRowsPerSubgroup = 2;  // <= 4
layout(constant_id = 3) const uint kXChunk = 4096;
layout(local_size_x_id = 0) in;
#ifdef GLU
const uint kDots = 2u * kRowsPerSubgroup;  // gate and up of each row
#else
const uint kDots = kRowsPerSubgroup;
#endif
#define MV_DOTS 8

layout(set = 0, binding = 0) readonly buffer Weights { uint wq[]; };
layout(set = 0, binding = 0) readonly buffer Weights2 { uvec2 wq2[]; };
layout(set = 0, binding = 0) readonly buffer Weights4 { uvec4 wq4[]; };
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

#define DQ_COLS p.cols
#include "tokenfab/dequant.glsl"
#include "tokenfab/matvec_unit.glsl"

#ifdef NORM
// The RMS-normalised x as rms_norm.comp writes it, x * (1 / rms) * weight.
float g_norm_inv = 1.0;
shared float norm_partial[kWorkgroup];
float xAt(uint k) { return x[k] * g_norm_inv * nw[k]; }
#else
float xAt(uint k) { return x[k]; }
#endif

#include "tokenfab/matvec_core.glsl"

// Row `row` of the group as (matrix m, row within it, its byte offset).
uint rowBytes(uint row, out uint m, out uint local) {
#ifdef GLU
  m = 0u;
  local = row;
  return row * p.row_bytes;
#else
  m = row < p.part_row1 ? 0u : (row < p.part_row2 ? 1u : 2u);
  local = row - (m == 0u ? 0u : (m == 1u ? p.part_row1 : p.part_row2));
  const uint base = m == 0u ? 0u : (m == 1u ? p.part_byte1 : p.part_byte2);
  return base + local * p.row_bytes;
#endif
}

void main() {
  const uint group = gl_WorkGroupID.y * p.groups_x + gl_WorkGroupID.x;
  const uint first = group * kRowsPerGroup;
  if (first >= p.rows) return;  // uniform per workgroup
#ifdef NORM
  // 1 / rms(x) as rms_norm.comp computes it, inversesqrt(mean(x^2) + eps), by each workgroup.
  float ss = 0.0;
  for (uint k = gl_LocalInvocationID.x; k < p.cols; k += kWorkgroup) ss += x[k] * x[k];
  ss = subgroupAdd(ss);
  if (subgroupElect()) norm_partial[gl_SubgroupID] = ss;
  barrier();  // norm_partial: every subgroup's sum is written before they are added
  float total = 0.0;
  for (uint i = 0u; i < gl_NumSubgroups; ++i) total += norm_partial[i];
  g_norm_inv = inversesqrt(total / float(p.cols) + p.eps);
#endif
  bool staged = false;
  for (uint pass0 = 0u; pass0 < kRowsPerGroup; pass0 += gl_NumSubgroups * kRowsPerSubgroup) {
    uint m, local;
    for (uint r = 0u; r < kRowsPerSubgroup; ++r) {
      const uint lr = pass0 + gl_SubgroupID * kRowsPerSubgroup + r;
      const uint row = lr < kRowsPerGroup && first + lr < p.rows ? first + lr : first;
#ifdef GLU
      g_rb[2u * r] = row * p.row_bytes;
      g_rb[2u * r + 1u] = p.part_byte1 + row * p.row_bytes;
#else
      g_rb[r] = rowBytes(row, m, local);
#endif
    }
    runRows(staged);
    for (uint r = 0u; r < kRowsPerSubgroup; ++r) {
      const uint lr = pass0 + gl_SubgroupID * kRowsPerSubgroup + r;
      const uint row = first + lr;
      const bool valid = lr < kRowsPerGroup && row < p.rows;
#ifdef GLU
      const float g = subgroupAdd(g_acc[2u * r]);
      const float u = subgroupAdd(g_acc[2u * r + 1u]);
      if (valid && subgroupElect()) y0[row] = g / (1.0 + exp(-g)) * u;
#else
      const float acc = subgroupAdd(g_acc[r]);
      if (valid && subgroupElect()) {
        rowBytes(row, m, local);
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
}
