#version 450
// Quantized matrix x matrix (prefill) on cooperative matrices (tensor cores):
// y[n][r] (+)= sum_k W[r][k] * x[n][k], with W and x rounded to f16 and the sums kept in f32.
// A workgroup of kSubgroupsR x kSubgroupsN subgroups computes a tile of kTileR weight rows x
// kTileN batch rows; each subgroup owns kMatsR x kMatsN accumulators of lM x lN (a shape the
// device lists for f16 x f16 + f32, VK_NV_cooperative_matrix). The tiles are staged in shared
// memory as f16, 32 columns at a time, in two buffers: while the subgroups multiply one chunk,
// the invocations decode the next one (its global loads issued before the multiplications) into
// the other, so one barrier per chunk suffices. Weights are decoded half a unit at a time from
// the planar layout (matmul_tile.glsl). Results go through shared memory to y, so any row count,
// batch, stride and offset works and `accumulate` adds to y.
// -DCOOP_EMULATE (matmul_coop_emu_*): the matrix operations emulated (matmul_coop_ops.glsl), for
// testing on devices without cooperative matrices.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#extension GL_KHR_shader_subgroup_basic : require
#ifndef COOP_EMULATE
#extension GL_KHR_memory_scope_semantics : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_NV_cooperative_matrix : require
#endif
#include "tokenfab/shader_abi_matmul.h"
// The accumulator loops are unrolled so the matrices stay in registers (not when emulating: the
// unrolled emulation takes lavapipe minutes to compile).
#ifdef COOP_EMULATE
#define COOP_UNROLL
#define COOP_LANES kEmuLanes
#else
#define COOP_UNROLL [[unroll]]
#define COOP_LANES gl_SubgroupSize
#endif

layout(constant_id = 0) const uint kWorkgroup = 256;  // kSubgroupsR * kSubgroupsN * subgroup size
layout(constant_id = 1) const uint kSubgroupsR = 4;
layout(constant_id = 2) const uint kSubgroupsN = 2;
layout(constant_id = 3) const uint kMatsR = 2;  // accumulators per subgroup along rows
// constant_id 4: kBitsToFloat (matvec_unit.glsl)
layout(constant_id = 5) const uint kMatsN = 4;  // ... along the batch
layout(constant_id = 6) const uint lM = 16;     // the cooperative matrix shape M x N x K
layout(constant_id = 7) const uint lN = 16;
layout(constant_id = 8) const uint lK = 16;     // divides 32, a multiple of 8
layout(local_size_x_id = 0) in;

layout(set = 0, binding = 0) readonly buffer Weights { uint wq[]; };
layout(set = 0, binding = 0) readonly buffer Weights2 { uvec2 wq2[]; };
layout(set = 0, binding = 0) readonly buffer Weights4 { uvec4 wq4[]; };
layout(set = 0, binding = 1) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) readonly buffer X4 { vec4 x4[]; };
layout(set = 0, binding = 2) buffer Y { float y[]; };
layout(push_constant) uniform Push { MatMulParams p; };

#define DQ_COLS p.cols
#include "tokenfab/dequant.glsl"
#include "tokenfab/matvec_unit.glsl"
#include "tokenfab/matmul_tile.glsl"

const uint kTileK = 32u;
const uint kTileR = kSubgroupsR * kMatsR * lM;
const uint kTileN = kSubgroupsN * kMatsN * lN;
// A staged row: kTileK halves plus 8 of padding (16 bytes, so rows start on other banks), in
// uvec4s of 8 halves. Matrix loads need 16-byte aligned starts and strides: both hold.
const uint kRowVec = (kTileK + 8u) / 8u;
const uint kBufVec = (kTileR + kTileN) * kRowVec;  // one buffer: weights (kTileR rows), then x (kTileN rows)
// Two buffers; after the last chunk the space holds each subgroup's lM x lN f32 staging.
shared uvec4 sh[2u * kBufVec];

#include "tokenfab/matmul_coop_ops.glsl"

// Half rows (16 elements) of weights and activations each invocation loads per chunk.
const uint kItemsW = (2u * kTileR + kWorkgroup - 1u) / kWorkgroup;
const uint kItemsX = (2u * kTileN + kWorkgroup - 1u) / kWorkgroup;
HalfRaw g_w[kItemsW];
vec4 g_x[kItemsX][4];

// Item i of a chunk: row (or batch row) i / 2, half i % 2; the two halves of a unit go to
// neighbouring invocations, which read the same aligned words.
void fetchChunk(uint r0, uint n0, uint k0) {
  for (uint m = 0u; m < kItemsW; ++m) {
    const uint i = gl_LocalInvocationID.x + m * kWorkgroup;
    const uint row = r0 + (i >> 1), k = k0 + 16u * (i & 1u);
    g_w[m] = i < 2u * kTileR && row < p.rows && k < DQ_COLS ? fetchHalf(row * p.row_bytes, k) : zeroHalf();
  }
  for (uint m = 0u; m < kItemsX; ++m) {
    const uint i = gl_LocalInvocationID.x + m * kWorkgroup;
    fetchX(i < 2u * kTileN ? n0 + (i >> 1) : p.batch, k0 + 16u * (i & 1u), g_x[m]);
  }
}

// 16 values as f16, two uvec4s at sh[at], sh[at + 1].
void storeHalves(uint at, vec4 v[4]) {
  sh[at] = uvec4(packHalf2x16(v[0].xy), packHalf2x16(v[0].zw), packHalf2x16(v[1].xy), packHalf2x16(v[1].zw));
  sh[at + 1u] = uvec4(packHalf2x16(v[2].xy), packHalf2x16(v[2].zw), packHalf2x16(v[3].xy), packHalf2x16(v[3].zw));
}

void storeChunk(uint buf, uint k0) {
  for (uint m = 0u; m < kItemsW; ++m) {
    const uint i = gl_LocalInvocationID.x + m * kWorkgroup;
    if (i >= 2u * kTileR) break;
    vec4 v[4];
    unpackHalf(g_w[m], k0 + 16u * (i & 1u), v);
    storeHalves(buf * kBufVec + (i >> 1) * kRowVec + 2u * (i & 1u), v);
  }
  for (uint m = 0u; m < kItemsX; ++m) {
    const uint i = gl_LocalInvocationID.x + m * kWorkgroup;
    if (i >= 2u * kTileN) break;
    storeHalves(buf * kBufVec + (kTileR + (i >> 1)) * kRowVec + 2u * (i & 1u), g_x[m]);
  }
}

void main() {
  const uint r0 = gl_WorkGroupID.x * kTileR;
  const uint n0 = gl_WorkGroupID.y * kTileN;
  // This subgroup's first row and batch row inside the tile.
  const uint sr = (gl_SubgroupID % kSubgroupsR) * kMatsR * lM;
  const uint sn = (gl_SubgroupID / kSubgroupsR) * kMatsN * lN;

  CoopAcc acc[kMatsR][kMatsN];
  COOP_UNROLL for (uint i = 0u; i < kMatsR; ++i)
    COOP_UNROLL for (uint j = 0u; j < kMatsN; ++j) acc[i][j] = coopZero();

  const uint chunks = (DQ_COLS + kTileK - 1u) / kTileK;
  fetchChunk(r0, n0, 0u);
  storeChunk(0u, 0u);
  // Protects buffer 0: the first chunk is complete before any subgroup multiplies it.
  barrier();
  for (uint c = 0u; c < chunks; ++c) {
    const uint cur = c & 1u;
    const bool more = c + 1u < chunks;
    if (more) fetchChunk(r0, n0, (c + 1u) * kTileK);
    const uint wa = cur * kBufVec, xa = wa + kTileR * kRowVec;
    COOP_UNROLL for (uint kk = 0u; kk < kTileK; kk += lK) {
      // A (lM x lK): rows of W, row-major. B (lK x lN): x rows are its columns, column-major.
      CoopA a[kMatsR];
      COOP_UNROLL for (uint i = 0u; i < kMatsR; ++i) coopLoad(a[i], wa + (sr + i * lM) * kRowVec + kk / 8u, kRowVec, false);
      COOP_UNROLL for (uint j = 0u; j < kMatsN; ++j) {
        CoopB b;
        coopLoad(b, xa + (sn + j * lN) * kRowVec + kk / 8u, kRowVec, true);
        COOP_UNROLL for (uint i = 0u; i < kMatsR; ++i) acc[i][j] = coopMulAdd(a[i], b, acc[i][j]);
      }
    }
    if (more) storeChunk(cur ^ 1u, (c + 1u) * kTileK);
    // Protects both buffers: the next chunk (just stored in the other buffer) is complete before
    // it is multiplied, and every subgroup is done reading this buffer before the next step
    // stores the chunk after into it. After the last chunk: all reads are done before the staging.
    barrier();
  }

  // Each accumulator through this subgroup's lM x lN staging area (column-major: batch row nn
  // at nn * lM), then to y with bounds checks.
  const uint stage = gl_SubgroupID * (lM * lN / 4u);
  COOP_UNROLL for (uint i = 0u; i < kMatsR; ++i) {
    COOP_UNROLL for (uint j = 0u; j < kMatsN; ++j) {
      coopStore(acc[i][j], stage, lM / 4u);
      // Protects the staging area: the matrix is stored before the invocations read it.
      barrier();
      for (uint e = gl_SubgroupInvocationID; e < lM * lN; e += COOP_LANES) {
        const uint row = r0 + sr + i * lM + e % lM;
        const uint n = n0 + sn + j * lN + e / lM;
        if (row < p.rows && n < p.batch) {
          const float v = uintBitsToFloat(sh[stage + e / 4u][e % 4u]);
          const uint yi = p.y_offset + n * p.y_stride + p.row_offset + row;
          y[yi] = p.accumulate != 0u ? y[yi] + v : v;
        }
      }
      // Protects the staging area: every invocation has read it before the next store.
      barrier();
    }
  }
}
