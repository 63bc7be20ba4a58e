#version 450
// Row top-k by repeated selection (k passes over the row; k is small, e.g. <= 256), one
// workgroup per row. Pass r picks the best element ranked after pass r-1's pick (rank.glsl),
// so no scratch memory is needed. Outputs idx (n_rows, k) uint and val (n_rows, k) f32.
#extension GL_GOOGLE_include_directive : require
#include "tokenfab/shader_abi.h"
#include "tokenfab/rank.glsl"

layout(constant_id = 0) const uint kWorkgroup = 64;
layout(local_size_x_id = 0) in;

layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) writeonly buffer Idx { uint out_idx[]; };
layout(set = 0, binding = 2) writeonly buffer Val { float out_val[]; };
layout(push_constant) uniform Push { RowParams p; };

shared float s_v[kWorkgroup];
shared uint s_i[kWorkgroup];

void main() {
  const uint row = gl_WorkGroupID.x;
  const uint base = row * p.n_cols;
  const uint tid = gl_LocalInvocationID.x;
  float prev_v = 0.0;
  uint prev_i = 0xFFFFFFFFu;  // none picked yet
  for (uint r = 0; r < p.k; ++r) {
    float bv = 0.0;
    uint bi = 0xFFFFFFFFu;
    for (uint c = tid; c < p.n_cols; c += kWorkgroup) {
      const float v = x[base + c];
      if (prev_i != 0xFFFFFFFFu && !rankBefore(prev_v, prev_i, v, c)) continue;  // already picked
      if (bi == 0xFFFFFFFFu || rankBefore(v, c, bv, bi)) bv = v, bi = c;
    }
    barrier();  // the previous pass's readers of s_v/s_i are done
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
    prev_v = s_v[0];
    prev_i = s_i[0];
    if (tid == 0) {
      out_idx[row * p.k + r] = prev_i;
      out_val[row * p.k + r] = prev_v;
    }
  }
}
