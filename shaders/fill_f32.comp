#version 450
// Writes one value into every element of a buffer. The smallest shader that proves the
// compile -> validate -> embed -> dispatch path; also used by tests to poison outputs.
#extension GL_GOOGLE_include_directive : require
#include "tokenfab/shader_abi.h"

layout(local_size_x_id = 0) in;

layout(set = 0, binding = 0) writeonly buffer Dst { float dst[]; };
layout(push_constant) uniform Push { FillParams p; };

void main() {
  const uint i = gl_GlobalInvocationID.x;
  if (i >= p.n) return;
  dst[p.offset + i] = p.value;
}
