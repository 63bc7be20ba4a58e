// Embedded SPIR-V of every compute shader, compiled and validated at build time.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace tokenfab::shaders {
// The SPIR-V words of a shader variant by its name in shaders/shaders.cmake; empty if unknown.
std::span<const uint32_t> find(std::string_view name);
std::vector<std::string_view> names();
}  // namespace tokenfab::shaders
