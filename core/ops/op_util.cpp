#include "ops/op_util.h"

#include <algorithm>

namespace tokenfab::ops::detail {

uint32_t rowWorkgroup(const vk::Device& device) {
  const vk::DeviceReport& r = device.report();
  uint32_t wg = 64;
  while (wg < r.subgroup_size && wg < 1024) wg *= 2;
  const uint32_t limit = std::min(r.max_workgroup_invocations, r.max_workgroup_size[0]);
  while (wg > limit && wg > 1) wg /= 2;
  return wg;
}

uint32_t flatWorkgroup(const vk::Device& device) {
  const vk::DeviceReport& r = device.report();
  uint32_t wg = 256;
  const uint32_t limit = std::min(r.max_workgroup_invocations, r.max_workgroup_size[0]);
  while (wg > limit && wg > 1) wg /= 2;
  return wg;
}

Status needBytes(const char* op, const char* name, const vk::BufferView& view, uint64_t bytes) {
  if (!view.valid() || view.size < bytes)
    return Status(Code::kOutOfRange, std::string(op) + ": " + name + " view holds " + std::to_string(view.size) +
                                         " bytes, needs " + std::to_string(bytes));
  return Status::ok();
}

Status fitsBinding(const char* op, const char* name, const vk::Device& device, uint64_t bytes) {
  if (bytes > device.report().max_storage_buffer_range)
    return Status(Code::kLimitExceeded, std::string(op) + ": " + name + " needs " + std::to_string(bytes) +
                                            " bytes in one binding; maxStorageBufferRange is " +
                                            std::to_string(device.report().max_storage_buffer_range));
  return Status::ok();
}

Result<FlatGrid> flatGrid(const vk::Device& device, uint64_t n, uint32_t wg) {
  const uint64_t groups = (n + wg - 1) / wg;
  const uint64_t max_x = device.report().max_workgroup_count[0];
  const uint64_t max_y = device.report().max_workgroup_count[1];
  FlatGrid g;
  g.groups_x = static_cast<uint32_t>(std::min<uint64_t>(std::max<uint64_t>(groups, 1), max_x));
  const uint64_t gy = (groups + g.groups_x - 1) / g.groups_x;
  if (gy > max_y) return Status(Code::kLimitExceeded, "flat grid too large for maxComputeWorkGroupCount");
  g.groups_y = static_cast<uint32_t>(std::max<uint64_t>(gy, 1));
  return g;
}

Result<std::vector<RowRange>> rowRanges(const vk::Device& device, uint64_t rows, std::initializer_list<uint64_t> row_bytes,
                                        uint64_t max_binding_bytes) {
  uint64_t limit = device.report().max_storage_buffer_range;
  if (max_binding_bytes) limit = std::min(limit, max_binding_bytes);
  const uint64_t align = std::max<uint64_t>(device.report().min_storage_buffer_offset_alignment, 1);
  uint64_t widest = 1, step = 1;
  for (uint64_t rb : row_bytes) {
    widest = std::max(widest, rb);
    while ((step * rb) % align != 0) ++step;  // align is a small power of two: terminates fast
  }
  std::vector<RowRange> out;
  if (rows * widest <= limit) {
    out.push_back({0, rows});
    return out;
  }
  const uint64_t per = limit / widest / step * step;
  if (per == 0)
    return Status(Code::kLimitExceeded, "a row of " + std::to_string(widest) + " bytes does not fit one binding of " +
                                            std::to_string(limit) + " bytes");
  for (uint64_t r = 0; r < rows; r += per) out.push_back({r, std::min(per, rows - r)});
  return out;
}

bool useSubgroups(const vk::Device& device) {
  return device.features().subgroup_arithmetic && device.report().subgroup_size > 0 &&
         device.report().subgroup_size <= rowWorkgroup(device);
}

}  // namespace tokenfab::ops::detail
