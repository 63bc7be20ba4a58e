// Workgroup reductions for one-workgroup-per-row shaders. Include after declaring the
// specialization constant kWorkgroup (a power of two) and local_size_x_id = 0.
// With USE_SUBGROUP (devices with subgroup arithmetic) the subgroup does the first level;
// otherwise a shared-memory tree. Every call starts with a barrier so s_red may be reused.
#ifdef USE_SUBGROUP
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#endif

shared float s_red[kWorkgroup];

float wgSum(float v) {
#ifdef USE_SUBGROUP
  v = subgroupAdd(v);
  barrier();  // earlier readers of s_red are done
  if (subgroupElect()) s_red[gl_SubgroupID] = v;
  barrier();  // every subgroup's partial is in s_red
  float t = 0.0;
  for (uint i = 0; i < gl_NumSubgroups; ++i) t += s_red[i];
  return t;
#else
  const uint tid = gl_LocalInvocationID.x;
  barrier();  // earlier readers of s_red are done
  s_red[tid] = v;
  barrier();  // all values stored
  for (uint s = kWorkgroup / 2; s > 0; s >>= 1) {
    if (tid < s) s_red[tid] += s_red[tid + s];
    barrier();  // this level complete before the next reads it
  }
  return s_red[0];
#endif
}

float wgMax(float v) {
#ifdef USE_SUBGROUP
  v = subgroupMax(v);
  barrier();  // earlier readers of s_red are done
  if (subgroupElect()) s_red[gl_SubgroupID] = v;
  barrier();  // every subgroup's partial is in s_red
  float t = s_red[0];
  for (uint i = 1; i < gl_NumSubgroups; ++i) t = max(t, s_red[i]);
  return t;
#else
  const uint tid = gl_LocalInvocationID.x;
  barrier();  // earlier readers of s_red are done
  s_red[tid] = v;
  barrier();  // all values stored
  for (uint s = kWorkgroup / 2; s > 0; s >>= 1) {
    if (tid < s) s_red[tid] = max(s_red[tid], s_red[tid + s]);
    barrier();  // this level complete before the next reads it
  }
  return s_red[0];
#endif
}

// NaN / Inf tests on the bits: immune to fast-math assumptions of the compiler.
bool isNanBits(float x) { return (floatBitsToUint(x) & 0x7FFFFFFFu) > 0x7F800000u; }
bool isPosInfBits(float x) { return floatBitsToUint(x) == 0x7F800000u; }
bool isNegInfBits(float x) { return floatBitsToUint(x) == 0xFF800000u; }
