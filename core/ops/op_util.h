// Internal helpers shared by the op recorders: workgroup sizes from the device, view checks.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "tokenfab/vk.h"

namespace tokenfab::ops::detail {

// A power of two >= max(64, subgroup size), <= 256 and the device's invocation limit: the
// subgroup-reduction variants need whole subgroups.
uint32_t rowWorkgroup(const vk::Device& device);
// Workgroup size for flat elementwise grids.
uint32_t flatWorkgroup(const vk::Device& device);
// Status when `view` is smaller than `bytes` or empty.
Status needBytes(const char* op, const char* name, const vk::BufferView& view, uint64_t bytes);
// Status when `bytes` exceed one binding.
Status fitsBinding(const char* op, const char* name, const vk::Device& device, uint64_t bytes);
// Grid for n flat elements: groups_x * gy >= ceil(n / wg), each <= the device limit.
struct FlatGrid {
  uint32_t groups_x = 1;
  uint32_t groups_y = 1;
};
Result<FlatGrid> flatGrid(const vk::Device& device, uint64_t n, uint32_t wg);
// Row ranges [first, first + count) such that `count` rows of each listed row size fit one
// binding (maxStorageBufferRange, or max_binding_bytes when non-zero and smaller) and every
// range starts at a byte offset aligned to minStorageBufferOffsetAlignment for every size.
struct RowRange {
  uint64_t first = 0;
  uint64_t count = 0;
};
Result<std::vector<RowRange>> rowRanges(const vk::Device& device, uint64_t rows, std::initializer_list<uint64_t> row_bytes,
                                        uint64_t max_binding_bytes);
// Whether the device uses the subgroup-arithmetic shader variants.
bool useSubgroups(const vk::Device& device);

}  // namespace tokenfab::ops::detail
