#version 450
// Quantized matrix x matrix (prefill) on the scalar units: y[n][r] (+)= sum_k W[r][k] * x[n][k]
// for a batch of activation rows. A workgroup of kThreadsR x kThreadsN invocations computes a
// tile of kTileR = kThreadsR * kRM weight rows x kTileN = kThreadsN * kRN batch rows; each
// invocation keeps a kRM x kRN block of outputs in registers and reads its weights and
// activations from shared memory as vec4s. The tiles are staged kTileK columns at a time:
// weights decoded half a unit (16 elements) at a time from the planar layout (matmul_tile.glsl),
// activations as vec4s. The global loads of the next chunk are issued before the current one is
// multiplied (register prefetch), so their latency hides behind the arithmetic.
// The host sizes the tiles from the device limits (shared memory, invocations).
#extension GL_GOOGLE_include_directive : require
#include "tokenfab/shader_abi_matmul.h"

layout(constant_id = 0) const uint kWorkgroup = 256;  // kThreadsR * kThreadsN
layout(constant_id = 1) const uint kThreadsR = 16;
layout(constant_id = 2) const uint kThreadsN = 16;
layout(constant_id = 3) const uint kTileK = 32;  // a multiple of 16
// constant_id 4: kBitsToFloat (matvec_unit.glsl)
layout(constant_id = 5) const uint kRM = 8;  // outputs per invocation along rows, a multiple of 4
layout(constant_id = 6) const uint kRN = 4;  // ... along the batch
// 1: round weights and activations to f16 before multiplying, as the cooperative-matrix path
// (matmul_coop.comp) does; lets any device measure what that rounding costs (TOKENFAB_MATMUL).
layout(constant_id = 7) const uint kRoundF16 = 0;
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

const uint kTileR = kThreadsR * kRM;
const uint kTileN = kThreadsN * kRN;
const uint kHalves = kTileK / 16u;  // half units per row and chunk
// Half units of weights and of activations each invocation loads per chunk.
const uint kItemsW = (kTileR * kHalves + kWorkgroup - 1u) / kWorkgroup;
const uint kItemsX = (kTileN * kHalves + kWorkgroup - 1u) / kWorkgroup;
shared vec4 w_tile[kTileK * kTileR / 4u];  // (kTileK, kTileR) decoded weights, k-major
shared vec4 x_tile[kTileK * kTileN / 4u];  // (kTileK, kTileN) activations, k-major

HalfRaw g_w[kItemsW];
vec4 g_x[kItemsX][4];

vec4 roundF16(vec4 v) {
  return kRoundF16 != 0u ? vec4(unpackHalf2x16(packHalf2x16(v.xy)), unpackHalf2x16(packHalf2x16(v.zw))) : v;
}

// Item i of a chunk: row (or batch row) i % tile, half (i / tile) of the chunk.
void fetchChunk(uint r0, uint n0, uint k0) {
  for (uint m = 0u; m < kItemsW; ++m) {
    const uint i = gl_LocalInvocationID.x + m * kWorkgroup;
    const uint row = r0 + i % kTileR, k = k0 + 16u * (i / kTileR);
    g_w[m] = i < kTileR * kHalves && row < p.rows && k < DQ_COLS ? fetchHalf(row * p.row_bytes, k) : zeroHalf();
  }
  for (uint m = 0u; m < kItemsX; ++m) {
    const uint i = gl_LocalInvocationID.x + m * kWorkgroup;
    fetchX(i < kTileN * kHalves ? n0 + i % kTileN : p.batch, k0 + 16u * (i / kTileN), g_x[m]);
  }
}

void storeChunk(uint k0) {
  for (uint m = 0u; m < kItemsW; ++m) {
    const uint i = gl_LocalInvocationID.x + m * kWorkgroup;
    if (i >= kTileR * kHalves) break;
    const uint r = i % kTileR, kk = 16u * (i / kTileR);
    vec4 v[4];
    unpackHalf(g_w[m], k0 + kk, v);
    for (uint e = 0u; e < 16u; ++e) w_tile[((kk + e) * kTileR + r) >> 2][r & 3u] = roundF16(v[e >> 2])[e & 3u];
  }
  for (uint m = 0u; m < kItemsX; ++m) {
    const uint i = gl_LocalInvocationID.x + m * kWorkgroup;
    if (i >= kTileN * kHalves) break;
    const uint c = i % kTileN, kk = 16u * (i / kTileN);
    for (uint e = 0u; e < 16u; ++e) x_tile[((kk + e) * kTileN + c) >> 2][c & 3u] = roundF16(g_x[m][e >> 2])[e & 3u];
  }
}

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint tr = tid % kThreadsR;
  const uint tn = tid / kThreadsR;
  const uint r0 = gl_WorkGroupID.x * kTileR;
  const uint n0 = gl_WorkGroupID.y * kTileN;

  // acc[j][i]: rows r0 + kRM * tr + 4i .. +3 of batch row n0 + kRN * tn + j.
  vec4 acc[kRN][kRM / 4u];
  for (uint j = 0u; j < kRN; ++j)
    for (uint i = 0u; i < kRM / 4u; ++i) acc[j][i] = vec4(0.0);

  fetchChunk(r0, n0, 0u);
  for (uint k0 = 0u; k0 < DQ_COLS; k0 += kTileK) {
    // Protects the tiles: every invocation is done multiplying the previous chunk.
    barrier();
    storeChunk(k0);
    // Protects the tiles: fully written before any invocation multiplies them.
    barrier();
    if (k0 + kTileK < DQ_COLS) fetchChunk(r0, n0, k0 + kTileK);
    for (uint kk = 0u; kk < kTileK; ++kk) {
      vec4 a[kRM / 4u];
      for (uint i = 0u; i < kRM / 4u; ++i) a[i] = w_tile[(kk * kTileR) / 4u + (kRM / 4u) * tr + i];
      for (uint jb = 0u; jb < kRN / 4u; ++jb) {
        const vec4 b = x_tile[(kk * kTileN) / 4u + (kRN / 4u) * tn + jb];
        for (uint c = 0u; c < 4u; ++c)
          for (uint i = 0u; i < kRM / 4u; ++i) acc[4u * jb + c][i] += a[i] * b[c];
      }
    }
  }

  for (uint j = 0u; j < kRN; ++j) {
    const uint n = n0 + kRN * tn + j;
    if (n >= p.batch) break;
    for (uint i = 0u; i < kRM / 4u; ++i) {
      for (uint c = 0u; c < 4u; ++c) {
        const uint row = r0 + kRM * tr + 4u * i + c;
        const uint yi = p.y_offset + n * p.y_stride + p.row_offset + row;
        if (row < p.rows) y[yi] = p.accumulate != 0u ? y[yi] + acc[j][i][c] : acc[j][i][c];
      }
    }
  }
}
