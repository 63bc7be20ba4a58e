// Helpers shared by the GGUF tests: small writer-made files with known contents.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "tokenfab/gguf.h"

namespace tokenfab::gguf::test {

inline std::vector<uint8_t> f32Bytes(const std::vector<float>& v) {
  std::vector<uint8_t> out(v.size() * 4);
  std::memcpy(out.data(), v.data(), out.size());
  return out;
}

// Deterministic filler bytes (a simple LCG seeded by `seed`).
inline std::vector<uint8_t> fillerBytes(size_t n, uint32_t seed) {
  std::vector<uint8_t> out(n);
  uint32_t s = seed;
  for (auto& b : out) {
    s = s * 1664525u + 1013904223u;
    b = static_cast<uint8_t>(s >> 24);
  }
  return out;
}

}  // namespace tokenfab::gguf::test
