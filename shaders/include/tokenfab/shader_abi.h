// Shared by C++ and GLSL: push-constant structs, binding slots, specialization-constant ids.
// Written once; the host includes it through tokenfab/shader_abi.h, shaders through #include.
// Keep every member 4 bytes (uint/int/float) so std430/push-constant layout equals C++ layout.
#ifndef TOKENFAB_SHADER_ABI_H
#define TOKENFAB_SHADER_ABI_H

#ifdef __cplusplus
#include <cstdint>
namespace tokenfab::abi {
using uint = uint32_t;
#define TF_STRUCT(name) struct name
#else
#define TF_STRUCT(name) struct name
#endif

// fill_f32.comp: dst[offset + i] = value for i < n.
TF_STRUCT(FillParams) {
  uint n;
  uint offset;
  float value;
};

#ifdef __cplusplus
}  // namespace tokenfab::abi
#endif
#endif  // TOKENFAB_SHADER_ABI_H
