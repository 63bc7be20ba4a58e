#version 450
// Quantized matrix x matrix (prefill): y[n][r] (+)= sum_k W[r][k] * x[n][k] for a batch of
// activation rows. Tiled: a workgroup of kThreadsR x kThreadsN threads computes a tile of
// (kThreadsR * TF_MATMUL_RM) weight rows x (kThreadsN * TF_MATMUL_RN) batch rows; weights are
// decoded once per tile into shared memory, kTileK columns at a time. kTileK is chosen by the
// host so the two shared tiles fit maxComputeSharedMemorySize.
#extension GL_GOOGLE_include_directive : require
#include "tokenfab/shader_abi_matmul.h"

layout(constant_id = 0) const uint kWorkgroup = 256;  // kThreadsR * kThreadsN
layout(constant_id = 1) const uint kThreadsR = 16;
layout(constant_id = 2) const uint kThreadsN = 16;
layout(constant_id = 3) const uint kTileK = 16;
layout(local_size_x_id = 0) in;

layout(set = 0, binding = 0) readonly buffer Weights { uint wq[]; };
layout(set = 0, binding = 1) readonly buffer X { float x[]; };
layout(set = 0, binding = 2) buffer Y { float y[]; };
layout(push_constant) uniform Push { MatMulParams p; };

#define DQ_COLS p.cols
#include "tokenfab/dequant.glsl"

const uint kTileR = kThreadsR * TF_MATMUL_RM;
const uint kTileN = kThreadsN * TF_MATMUL_RN;
shared float w_tile[kTileK * kTileR];  // (kTileK, kTileR): decoded weights, k-major
shared float x_tile[kTileK * kTileN];  // (kTileK, kTileN): activations, k-major

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint tr = tid % kThreadsR;
  const uint tn = tid / kThreadsR;
  const uint r0 = gl_WorkGroupID.x * kTileR;
  const uint n0 = gl_WorkGroupID.y * kTileN;

  float acc[TF_MATMUL_RM][TF_MATMUL_RN];
  for (uint i = 0; i < TF_MATMUL_RM; ++i)
    for (uint j = 0; j < TF_MATMUL_RN; ++j) acc[i][j] = 0.0;

  for (uint k0 = 0; k0 < p.cols; k0 += kTileK) {
    for (uint e = tid; e < kTileK * kTileR; e += kWorkgroup) {
      const uint r = e / kTileK;
      const uint kk = e % kTileK;
      const uint row = r0 + r;
      const uint k = k0 + kk;
      w_tile[kk * kTileR + r] = (row < p.rows && k < p.cols) ? dq(row * p.row_bytes, k) : 0.0;
    }
    for (uint e = tid; e < kTileK * kTileN; e += kWorkgroup) {
      const uint c = e / kTileK;
      const uint kk = e % kTileK;
      const uint n = n0 + c;
      const uint k = k0 + kk;
      x_tile[kk * kTileN + c] = (n < p.batch && k < p.cols) ? x[p.x_offset + n * p.x_stride + k] : 0.0;
    }
    // Protects the tiles: fully written before any thread multiplies them.
    barrier();
    for (uint kk = 0; kk < kTileK; ++kk) {
      float a[TF_MATMUL_RM];
      float b[TF_MATMUL_RN];
      for (uint i = 0; i < TF_MATMUL_RM; ++i) a[i] = w_tile[kk * kTileR + tr + i * kThreadsR];
      for (uint j = 0; j < TF_MATMUL_RN; ++j) b[j] = x_tile[kk * kTileN + tn + j * kThreadsN];
      for (uint i = 0; i < TF_MATMUL_RM; ++i)
        for (uint j = 0; j < TF_MATMUL_RN; ++j) acc[i][j] += a[i] * b[j];
    }
    // Protects the tiles: every thread is done reading before the next chunk overwrites them.
    barrier();
  }

  for (uint i = 0; i < TF_MATMUL_RM; ++i) {
    const uint row = r0 + tr + i * kThreadsR;
    if (row >= p.rows) continue;
    for (uint j = 0; j < TF_MATMUL_RN; ++j) {
      const uint n = n0 + tn + j * kThreadsN;
      const uint yi = p.y_offset + n * p.y_stride + p.row_offset + row;
      if (n < p.batch) y[yi] = p.accumulate != 0u ? y[yi] + acc[i][j] : acc[i][j];
    }
  }
}
