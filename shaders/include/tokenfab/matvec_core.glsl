// The loop shared by the decode products (matvec_sg.comp, matvec_group.comp): a subgroup
// computes the dot products of MV_DOTS weight rows with x at once. x is staged in shared
// memory (kXChunk floats at a time) by the whole workgroup with coalesced loads, so each unit of
// x is read from shared memory once and used for every row; the lanes of a subgroup take
// consecutive units of the rows (matvec_unit.glsl), so their weight loads coalesce.
//
// The includer defines kWorkgroup, kXChunk (a multiple of 32), kDots (<= MV_DOTS, the dots a
// subgroup computes together), `float xAt(uint k)` (element k of x, after any folded norm) and
// includes dequant.glsl and matvec_unit.glsl. It sets g_rb[d] (the byte offset of row d of the
// subgroup's pass) and calls runRows().

// x staged as vec4s. Unit u reads vec4s 8u..8u+7, lane by lane 128 bytes apart; storing vec4 n
// at n ^ ((n / 8) % 8) spreads those reads over all banks (no conflicts).
shared vec4 xs[kXChunk / 4u];
uint swz(uint n) { return n ^ ((n >> 3) & 7u); }

uint g_rb[MV_DOTS];
float g_acc[MV_DOTS];

// x elements [c0, c0 + len) into xs; zeros past len.
void stageX(uint c0, uint len) {
  for (uint v = gl_LocalInvocationID.x; 4u * v < len; v += kWorkgroup) {
    const uint k = 4u * v;
    vec4 val = vec4(0.0);
    for (uint i = 0u; i < 4u; ++i)
      if (k + i < len) val[i] = xAt(c0 + k + i);
    xs[swz(v)] = val;
  }
}

void accumulateChunk(uint c0, uint len) {
  const uint units = len >> 5;
  for (uint uu = gl_SubgroupInvocationID; uu < units; uu += gl_SubgroupSize) {
    vec4 xv[8];
    for (uint i = 0u; i < 8u; ++i) xv[i] = xs[8u * uu + (i ^ (uu & 7u))];
    for (uint d = 0u; d < kDots; ++d) g_acc[d] += unitDot(g_rb[d], (c0 >> 5) + uu, xv);
  }
#ifdef FLOAT_ROW
  // The tail of a float row whose length is not a multiple of 32 (in the last chunk only).
  for (uint k = units * 32u + gl_SubgroupInvocationID; k < len; k += gl_SubgroupSize) {
    const float xk = xs[swz(k >> 2)][k & 3u];
    for (uint d = 0u; d < kDots; ++d) g_acc[d] += dq(g_rb[d], c0 + k) * xk;
  }
#endif
}

// The lane partial sums of the rows in g_rb over all of x, in g_acc. Called by the whole
// workgroup together (it holds barriers). x is staged once when it fits one chunk (`staged`
// then stays true for the next pass), else chunk by chunk.
void runRows(inout bool staged) {
  for (uint d = 0u; d < kDots; ++d) g_acc[d] = 0.0;
  for (uint c0 = 0u; c0 < DQ_COLS; c0 += kXChunk) {
    const uint len = min(kXChunk, DQ_COLS - c0);
    if (!staged) {
      barrier();  // xs: every subgroup is done with the previous chunk
      stageX(c0, len);
      barrier();  // xs: the chunk is complete before any subgroup reads it
      staged = DQ_COLS <= kXChunk;
    }
    accumulateChunk(c0, len);
  }
}
