#version 450
// Embedding gather for quantized tables: out[i][k] = W[ids[i]][k], decoded bit-exactly.
// x of the grid covers columns, y the ids. A table bound in row pieces is gathered with one
// dispatch per piece; each writes only the ids inside its rows.
#extension GL_GOOGLE_include_directive : require
#include "tokenfab/shader_abi_matmul.h"

layout(constant_id = 0) const uint kWorkgroup = 64;
layout(local_size_x_id = 0) in;

layout(set = 0, binding = 0) readonly buffer Weights { uint wq[]; };
layout(set = 0, binding = 1) readonly buffer Ids { uint ids[]; };
layout(set = 0, binding = 2) writeonly buffer Out { float dst[]; };
layout(push_constant) uniform Push { GetRowsParams p; };

#define DQ_COLS p.cols
#include "tokenfab/dequant.glsl"

void main() {
  const uint k = gl_GlobalInvocationID.x;
  const uint i = gl_WorkGroupID.y;
  if (k >= p.cols || i >= p.n_ids) return;
  const uint id = ids[p.ids_offset + i];
  const uint o = p.out_offset + i * p.out_stride + k;
  if (id >= p.total_rows) {
    // An id outside the table: zeros, written once (by the piece holding row 0).
    if (p.first_row == 0u) dst[o] = 0.0;
    return;
  }
  if (id < p.first_row || id - p.first_row >= p.rows) return;
  dst[o] = dq((id - p.first_row) * p.row_bytes, k);
}
