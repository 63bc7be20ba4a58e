// Shared by C++ and GLSL: push constants and tile constants of the quantized-weight shaders
// (matvec_*.comp, matmul_*.comp, matmul_coop_*.comp, get_rows_*.comp). Every member is 4 bytes.
#ifndef TOKENFAB_SHADER_ABI_MATMUL_H
#define TOKENFAB_SHADER_ABI_MATMUL_H

#ifdef __cplusplus
#include <cstdint>
namespace tokenfab::abi {
using uint = uint32_t;
#endif

// Bindings: 0 = weights (packed u32 words, ggml block layout, rows of row_bytes bytes),
// 1 = activations x (batch, cols) f32, 2 = output y (batch, out_rows) f32.
// y[y_offset + n * y_stride + row_offset + r] (+)= sum_k W[r][k] * x[x_offset + n * x_stride + k]
// for r < rows (the rows bound in this dispatch: one piece of a larger matrix) and n < batch.
struct MatMulParams {
  uint rows;        // weight rows in this binding
  uint cols;        // K, a multiple of the type's block size
  uint batch;       // N
  uint row_bytes;   // bytes per weight row
  uint x_offset;    // elements
  uint x_stride;    // elements between two activation rows
  uint y_offset;    // elements
  uint y_stride;    // elements between two output rows
  uint row_offset;  // index of this binding's first weight row in the output row
  uint groups_x;    // matvec: workgroups along x in the 2-D grid of row groups
  uint accumulate;  // 1: y += product (a residual add fused into the product); 0: y = product
};

// Grouped decode products (matvec_group_*, matvec_glu_*), batch 1: up to three matrices of one
// type and column count stored in one binding, matrix m starting at byte part_byte[m] (0 for the
// first). Bindings: 0 = weights, 1 = x (cols) f32, 2.. = outputs.
// group: rows [0, part_row[1]) are matrix 0 -> y0, [part_row[1], part_row[2]) matrix 1 -> y1,
//        [part_row[2], rows) matrix 2 -> y2 (y_m[r] = W_m[r] . x).
// glu:   y0[r] = silu(W_0[r] . x) * (W_1[r] . x) for r < rows (gate and up of a SwiGLU FFN).
// *_norm variants replace x by rms_norm(x) * nw (nw bound after the outputs), computed on the
// fly: the norm before the products folded into them.
struct MatVecGroupParams {
  uint rows;        // group: rows of all matrices; glu: rows of one matrix
  uint cols;
  uint row_bytes;
  uint part_row1;
  uint part_row2;
  uint part_byte1;
  uint part_byte2;
  uint groups_x;
  float eps;        // *_norm variants: x is first RMS-normalised with this eps and weight nw
};

// Bindings: 0 = weights as above, 1 = row ids (uint32), 2 = output (n_ids, cols) f32.
// out[out_offset + i * out_stride + k] = W[ids[ids_offset + i]][k] for ids inside this piece
// [first_row, first_row + rows); ids >= total_rows give zeros (written by the first piece).
struct GetRowsParams {
  uint rows;
  uint cols;
  uint n_ids;
  uint row_bytes;
  uint first_row;
  uint total_rows;
  uint ids_offset;
  uint out_offset;
  uint out_stride;
};

// Weight rows each matvec workgroup reduces.
#define TF_MATVEC_ROWS 4

#ifdef __cplusplus
}  // namespace tokenfab::abi
#endif
#endif  // TOKENFAB_SHADER_ABI_MATMUL_H
