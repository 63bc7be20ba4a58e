#version 450
// Matrix x vector for decode: y[n][r] = sum_k W[r][k] x[n][k] (+ y[n][r] when p.accumulate: the
// residual add fused into the product). A workgroup owns kRowsPerGroup consecutive rows; each
// subgroup computes kRowsPerSubgroup of them at once (matvec_core.glsl: x staged in shared
// memory, lanes on consecutive 32-element units, coalesced weight loads), and the lane sums are
// reduced with subgroupAdd. Needs subgroup arithmetic; matvec.comp (_nosg variants) is the
// fallback.
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#include "tokenfab/shader_abi_matmul.h"

layout(constant_id = 0) const uint kWorkgroup = 128;
layout(constant_id = 1) const uint kRowsPerGroup = 8;    // the host's dispatch unit
layout(constant_id = 2) const uint kRowsPerSubgroup = 2;  // <= MV_DOTS
layout(constant_id = 3) const uint kXChunk = 4096;        // floats of x in shared memory, multiple of 32
layout(local_size_x_id = 0) in;
const uint kDots = kRowsPerSubgroup;
#define MV_DOTS 4

// One binding, read as words, 8-byte and 16-byte words (aligned loads of the planes).
layout(set = 0, binding = 0) readonly buffer Weights { uint wq[]; };
layout(set = 0, binding = 0) readonly buffer Weights2 { uvec2 wq2[]; };
layout(set = 0, binding = 0) readonly buffer Weights4 { uvec4 wq4[]; };
layout(set = 0, binding = 1) readonly buffer X { float x[]; };
layout(set = 0, binding = 2) buffer Y { float y[]; };
layout(push_constant) uniform Push { MatMulParams p; };

#define DQ_COLS p.cols
#include "tokenfab/dequant.glsl"
#include "tokenfab/matvec_unit.glsl"

uint g_xb = 0u;  // this activation row's first element
float xAt(uint k) { return x[g_xb + k]; }

#include "tokenfab/matvec_core.glsl"

void main() {
  const uint group = gl_WorkGroupID.y * p.groups_x + gl_WorkGroupID.x;
  const uint n = gl_WorkGroupID.z;
  const uint first = group * kRowsPerGroup;
  // Uniform per workgroup: every invocation leaves together, before any barrier.
  if (first >= p.rows || n >= p.batch) return;
  g_xb = p.x_offset + n * p.x_stride;
  bool staged = false;
  for (uint pass0 = 0u; pass0 < kRowsPerGroup; pass0 += gl_NumSubgroups * kRowsPerSubgroup) {
    // A row past the end computes the group's first row again; its sum is never written.
    for (uint d = 0u; d < kDots; ++d) {
      const uint local = pass0 + gl_SubgroupID * kRowsPerSubgroup + d;
      const uint row = first + local;
      g_rb[d] = (local < kRowsPerGroup && row < p.rows ? row : first) * p.row_bytes;
    }
    runRows(staged);
    for (uint d = 0u; d < kDots; ++d) {
      const float acc = subgroupAdd(g_acc[d]);
      const uint local = pass0 + gl_SubgroupID * kRowsPerSubgroup + d;
      const uint row = first + local;
      if (local < kRowsPerGroup && row < p.rows && subgroupElect()) {
        const uint yi = p.y_offset + n * p.y_stride + p.row_offset + row;
        y[yi] = p.accumulate != 0u ? y[yi] + acc : acc;
      }
    }
  }
}
