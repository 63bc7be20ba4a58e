// The cooperative-matrix operations of matmul_coop.comp, under names of its own:
//   CoopAcc (lM x lN, f32), CoopA (lM x lK, f16), CoopB (lK x lN, f16), coopZero(),
//   coopLoad(m, element, stride, col_major), coopMulAdd(a, b, c), coopStore(m, element, stride)
// loading from and storing to the shader's `shared uvec4 sh[]` (element and stride in uvec4s;
// stores are column-major). Normally GL_NV_cooperative_matrix itself. With -DCOOP_EMULATE, plain
// arithmetic with the extension's semantics instead, so the shader's tiling, staging, double
// buffering and output run, and are tested, on devices without cooperative matrices (lavapipe).

#ifndef COOP_EMULATE
#define CoopAcc fcoopmatNV<32, gl_ScopeSubgroup, lM, lN>
#define CoopA fcoopmatNV<16, gl_ScopeSubgroup, lM, lK>
#define CoopB fcoopmatNV<16, gl_ScopeSubgroup, lK, lN>
#define coopZero() CoopAcc(0.0)
#define coopLoad(m, element, stride, col_major) coopMatLoadNV(m, sh, element, stride, col_major)
#define coopMulAdd(a, b, c) coopMatMulAddNV(a, b, c)
#define coopStore(m, element, stride) coopMatStoreNV(m, sh, element, stride, true)

#else
// A matrix lives across the subgroup: lane l holds elements l, l + S, l + 2S, ... (row-major
// index r * columns + c, S = kEmuLanes, the subgroup size). The extension leaves that
// distribution to the implementation; any one gives the same results.
layout(constant_id = 9) const uint kEmuLanes = 32;
const uint kEmuMaxPerLane = 32u;  // lM * lN / kEmuLanes may not exceed it (the host checks)
struct CoopAcc {
  float v[kEmuMaxPerLane];
};
// A and B are only loaded from sh and multiplied right after, with no write to sh in between,
// so they are kept as where they lie and read by the multiplication.
struct CoopOperand {
  uint element;
  uint stride;
  bool col_major;
};
#define CoopA CoopOperand
#define CoopB CoopOperand

CoopAcc coopZero() {
  CoopAcc m;
  for (uint t = 0u; t < kEmuMaxPerLane; ++t) m.v[t] = 0.0;
  return m;
}

void coopLoad(out CoopOperand m, uint element, uint stride, bool col_major) { m = CoopOperand(element, stride, col_major); }

// Element (r, c) of an f16 operand: row r starts at sh[element + r * stride] (row-major), or
// column c at sh[element + c * stride] (column-major), 8 halves per uvec4.
float operandAt(CoopOperand m, uint r, uint c) {
  const uint h = m.col_major ? (m.element + c * m.stride) * 8u + r : (m.element + r * m.stride) * 8u + c;
  return unpackHalf2x16(sh[h >> 3][(h >> 1) & 3u])[h & 1u];
}

CoopAcc coopMulAdd(CoopOperand a, CoopOperand b, CoopAcc acc) {
  [[dont_unroll]] for (uint t = 0u; t < lM * lN / kEmuLanes; ++t) {
    const uint e = gl_SubgroupInvocationID + t * kEmuLanes, r = e / lN, c = e % lN;
    float s = 0.0;
    for (uint k = 0u; k < lK; ++k) s += operandAt(a, r, k) * operandAt(b, k, c);
    acc.v[t] += s;
  }
  return acc;
}

// Column-major: column c of lM floats starts at sh[element + c * stride], 4 floats per uvec4.
void coopStore(CoopAcc m, uint element, uint stride) {
  for (uint t = 0u; t < lM * lN / kEmuLanes; ++t) {
    const uint e = gl_SubgroupInvocationID + t * kEmuLanes, r = e / lN, c = e % lN;
    const uint f = (element + c * stride) * 4u + r;
    sh[f >> 2][f & 3u] = floatBitsToUint(m.v[t]);
  }
}
#endif
