// DeviceReport as text (CLI, logs) and JSON (CLI --json, GUI, bug reports).
#include <nlohmann/json.hpp>

#include <cstdio>
#include <string>

#include "tokenfab/vk_device.h"

namespace tokenfab::vk {
namespace {
std::string version(uint32_t v) {
  return std::to_string(VK_API_VERSION_MAJOR(v)) + "." + std::to_string(VK_API_VERSION_MINOR(v)) + "." +
         std::to_string(VK_API_VERSION_PATCH(v));
}
std::string mib(uint64_t bytes) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.1f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
  return buf;
}
const char* yes(bool b) { return b ? "yes" : "no"; }
}  // namespace

std::string DeviceReport::toText() const {
  std::string s;
  s += std::string("[") + std::to_string(index) + "] " + name + " (" + type + ")\n";
  s += std::string("    driver: ") + driver_name;
  if (!driver_info.empty()) s.append(" ").append(driver_info);
  s += std::string(", Vulkan ") + version(api_version) + "\n";
  for (size_t i = 0; i < heaps.size(); ++i)
    s += std::string("    heap ") + std::to_string(i) + ": " + mib(heaps[i].size) + (heaps[i].device_local ? " device-local" : "") + "\n";
  s += std::string("    maxStorageBufferRange: ") + mib(max_storage_buffer_range) + ", maxMemoryAllocationSize: " +
       mib(max_memory_allocation_size) + ", minStorageBufferOffsetAlignment: " +
       std::to_string(min_storage_buffer_offset_alignment) + "\n";
  s += std::string("    compute: shared memory ") + std::to_string(max_compute_shared_memory) + " B, workgroup invocations " +
       std::to_string(max_workgroup_invocations) + ", push constants " + std::to_string(max_push_constants_size) + " B\n";
  std::string ops;
  for (const auto& o : subgroup_operations) {
    if (!ops.empty()) ops.push_back(' ');
    ops += o;
  }
  s += std::string("    subgroup: size ") + std::to_string(subgroup_size) + ", operations: " + ops +
       (subgroup_in_compute ? "" : " (not in compute)") + "\n";
  s += std::string("    fp16 arithmetic: ") + yes(fp16_arithmetic) + ", int8 arithmetic: " + yes(int8_arithmetic) +
       ", 16-bit storage: " + yes(storage_16bit) + ", 8-bit storage: " + yes(storage_8bit) + "\n";
  s += std::string("    integer dot product: ") + yes(integer_dot_product) + ", cooperative matrix: " +
       yes(cooperative_matrix) + ", push descriptors: " + yes(push_descriptors) + ", timestamps: " + yes(timestamps) + "\n";
  if (!coop_matrix_shapes.empty()) {
    s += "    cooperative matrix f16 x f16 + f32 (NV), M x N x K:";
    for (const auto& c : coop_matrix_shapes) {
      char shape[48];
      std::snprintf(shape, sizeof shape, " %ux%ux%u", c.m, c.n, c.k);
      s += shape;
    }
    s += std::string(", Vulkan memory model: ") + yes(vulkan_memory_model) + "\n";
  }
  return s;
}

std::string DeviceReport::toJson(int indent) const {
  nlohmann::json j;
  j["index"] = index;
  j["name"] = name;
  j["type"] = type;
  j["driver_name"] = driver_name;
  j["driver_info"] = driver_info;
  j["api_version"] = version(api_version);
  j["driver_version"] = driver_version;
  j["vendor_id"] = vendor_id;
  j["device_id"] = device_id;
  j["heaps"] = nlohmann::json::array();
  for (const auto& h : heaps) j["heaps"].push_back({{"size", h.size}, {"device_local", h.device_local}});
  j["max_storage_buffer_range"] = max_storage_buffer_range;
  j["max_memory_allocation_size"] = max_memory_allocation_size;
  j["min_storage_buffer_offset_alignment"] = min_storage_buffer_offset_alignment;
  j["max_compute_shared_memory"] = max_compute_shared_memory;
  j["max_workgroup_invocations"] = max_workgroup_invocations;
  j["max_workgroup_count"] = {max_workgroup_count[0], max_workgroup_count[1], max_workgroup_count[2]};
  j["max_push_constants_size"] = max_push_constants_size;
  j["timestamp_period_ns"] = timestamp_period_ns;
  j["timestamps"] = timestamps;
  j["subgroup_size"] = subgroup_size;
  j["subgroup_operations"] = subgroup_operations;
  j["subgroup_in_compute"] = subgroup_in_compute;
  j["fp16_arithmetic"] = fp16_arithmetic;
  j["int8_arithmetic"] = int8_arithmetic;
  j["storage_16bit"] = storage_16bit;
  j["storage_8bit"] = storage_8bit;
  j["integer_dot_product"] = integer_dot_product;
  j["cooperative_matrix"] = cooperative_matrix;
  j["coop_matrix_shapes"] = nlohmann::json::array();
  for (const auto& c : coop_matrix_shapes) j["coop_matrix_shapes"].push_back({c.m, c.n, c.k});
  j["vulkan_memory_model"] = vulkan_memory_model;
  j["push_descriptors"] = push_descriptors;
  return j.dump(indent);
}

}  // namespace tokenfab::vk
