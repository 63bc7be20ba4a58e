#version 450
// Quantized matrix x vector (decode): y[n][r] (+)= sum_k W[r][k] * x[n][k] (+ when p.accumulate).
// One workgroup reduces TF_MATVEC_ROWS weight rows for one activation row n (z of the grid).
// Threads stride over k so neighbours read neighbouring weight bytes; partial sums are reduced
// with subgroupAdd (USE_SUBGROUP) or, without subgroup ops, a shared-memory tree.
#extension GL_GOOGLE_include_directive : require
#ifdef USE_SUBGROUP
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#endif
#include "tokenfab/shader_abi_matmul.h"

// Workgroup size: a power of two, a multiple of the device's subgroup size (set by the host).
layout(constant_id = 0) const uint kWorkgroup = 64;
layout(local_size_x_id = 0) in;

layout(set = 0, binding = 0) readonly buffer Weights { uint wq[]; };
layout(set = 0, binding = 1) readonly buffer X { float x[]; };
layout(set = 0, binding = 2) buffer Y { float y[]; };
layout(push_constant) uniform Push { MatMulParams p; };

#define DQ_COLS p.cols
#include "tokenfab/dequant.glsl"

shared float red[kWorkgroup * TF_MATVEC_ROWS];

void main() {
  const uint group = gl_WorkGroupID.y * p.groups_x + gl_WorkGroupID.x;
  const uint row0 = group * TF_MATVEC_ROWS;
  const uint n = gl_WorkGroupID.z;
  const uint tid = gl_LocalInvocationID.x;
  // Uniform per workgroup: every thread leaves together, before any barrier.
  if (row0 >= p.rows || n >= p.batch) return;

  float acc[TF_MATVEC_ROWS];
  for (uint r = 0; r < TF_MATVEC_ROWS; ++r) acc[r] = 0.0;
  const uint xb = p.x_offset + n * p.x_stride;
  for (uint k = tid; k < p.cols; k += kWorkgroup) {
    const float xv = x[xb + k];
    for (uint r = 0; r < TF_MATVEC_ROWS; ++r) {
      // A row past the end (odd row count) decodes row0 again; its sum is never written.
      const uint row = min(row0 + r, p.rows - 1u);
      acc[r] += dq(row * p.row_bytes, k) * xv;
    }
  }

#ifdef USE_SUBGROUP
  for (uint r = 0; r < TF_MATVEC_ROWS; ++r) {
    const float s = subgroupAdd(acc[r]);
    if (subgroupElect()) red[r * kWorkgroup + gl_SubgroupID] = s;
  }
  // Protects red[]: every subgroup's partial sum is written before thread 0 adds them.
  barrier();
  if (tid == 0u) {
    for (uint r = 0; r < TF_MATVEC_ROWS; ++r) {
      float s = 0.0;
      for (uint i = 0; i < gl_NumSubgroups; ++i) s += red[r * kWorkgroup + i];
      const uint yi = p.y_offset + n * p.y_stride + p.row_offset + row0 + r;
      if (row0 + r < p.rows) y[yi] = p.accumulate != 0u ? y[yi] + s : s;
    }
  }
#else
  for (uint r = 0; r < TF_MATVEC_ROWS; ++r) red[r * kWorkgroup + tid] = acc[r];
  for (uint half_width = kWorkgroup / 2u; half_width > 0u; half_width >>= 1) {
    // Protects red[]: the previous level's sums are complete before they are read.
    barrier();
    if (tid < half_width) {
      for (uint r = 0; r < TF_MATVEC_ROWS; ++r) {
        red[r * kWorkgroup + tid] += red[r * kWorkgroup + tid + half_width];
      }
    }
  }
  if (tid == 0u) {
    for (uint r = 0; r < TF_MATVEC_ROWS; ++r) {
      const uint yi = p.y_offset + n * p.y_stride + p.row_offset + row0 + r;
      if (row0 + r < p.rows) y[yi] = p.accumulate != 0u ? y[yi] + red[r * kWorkgroup] : red[r * kWorkgroup];
    }
  }
#endif
}
