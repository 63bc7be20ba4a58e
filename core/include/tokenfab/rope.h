// The rope layout: one name for the one concept, shared by the model description (which
// layout an architecture uses) and the ops that rotate (rope.comp, rope_store.comp).
#pragma once

#include <cstdint>
#include <string_view>

namespace tokenfab {

// Which elements of a head rope rotates together (only the first n_rot of each head rotate).
enum class RopeLayout : uint8_t {
  kAdjacent,  // pairs (x[2i], x[2i+1]): llama ("normal" rope in ggml)
  kNeox,      // pairs (x[i], x[i + n_rot/2]): qwen2, gpt-neox (shaders: rope_neox, rope_store_neox_*)
};
// "adjacent" / "neox".
std::string_view ropeLayoutName(RopeLayout layout);

}  // namespace tokenfab
