// Vulkan instance + logical device: enumeration, choice, the device report, validation capture.
#pragma once

#include <vulkan/vulkan.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tokenfab/status.h"
#include "tokenfab/vk_check.h"

namespace tokenfab::vk {

struct DeviceOptions {
  // VK_LAYER_KHRONOS_validation; also turned on by env TOKENFAB_VALIDATION=1.
  bool validation = false;
  // Pick by index into the enumeration, or by a case-insensitive substring of the name.
  // Unset: env TOKENFAB_DEVICE (a number = index, else a substring), else the best by type.
  std::optional<uint32_t> index;
  std::string name_contains;
  // The one reading of a user's device choice (--device, TOKENFAB_DEVICE, the GUI): a number of
  // up to 8 digits is an index, anything else a name substring; empty leaves both unset.
  void setChoice(std::string_view choice);
  // Turn every optional feature off (push descriptors, 16/8-bit storage, fp16/int8 arithmetic,
  // subgroup arithmetic, integer dot product, cooperative matrices); also env
  // TOKENFAB_DISABLE_OPTIONAL=1. Env TOKENFAB_COOPMAT=0 turns off cooperative matrices alone.
  bool disable_optional = false;
};

// A cooperative-matrix multiply shape M x N x K the device runs for f16 A and B with f32 C and D
// at subgroup scope (VK_NV_cooperative_matrix).
struct CoopMatrixShape {
  uint32_t m = 0, n = 0, k = 0;
};

struct MemoryHeapInfo {
  uint64_t size = 0;
  bool device_local = false;
};

// Everything a user (CLI `devices`, the GUI) or a kernel author wants to know about a device.
struct DeviceReport {
  uint32_t index = 0;
  std::string name;
  std::string type;  // "discrete", "integrated", "virtual", "cpu", "other"
  std::string driver_name;
  std::string driver_info;
  uint32_t api_version = 0;
  uint32_t driver_version = 0;
  uint32_t vendor_id = 0;
  uint32_t device_id = 0;
  std::vector<MemoryHeapInfo> heaps;
  // The largest device-local heap in bytes (0 when none is reported).
  uint64_t deviceLocalBytes() const {
    uint64_t most = 0;
    for (const MemoryHeapInfo& h : heaps)
      if (h.device_local && h.size > most) most = h.size;
    return most;
  }
  uint64_t max_storage_buffer_range = 0;
  uint64_t max_memory_allocation_size = 0;
  uint64_t min_storage_buffer_offset_alignment = 0;
  uint32_t max_compute_shared_memory = 0;
  uint32_t max_workgroup_invocations = 0;
  uint32_t max_workgroup_size[3] = {0, 0, 0};
  uint32_t max_workgroup_count[3] = {0, 0, 0};
  uint32_t max_push_constants_size = 0;
  double timestamp_period_ns = 0;
  bool timestamps = false;
  uint32_t subgroup_size = 0;
  std::vector<std::string> subgroup_operations;  // "basic", "arithmetic", "shuffle", ...
  bool subgroup_in_compute = false;
  // Optional capabilities (what the device offers, not what is enabled).
  bool fp16_arithmetic = false;
  bool int8_arithmetic = false;
  bool storage_16bit = false;
  bool storage_8bit = false;
  bool integer_dot_product = false;
  bool cooperative_matrix = false;  // VK_KHR_cooperative_matrix or VK_NV_cooperative_matrix
  // The f16 x f16 + f32 subgroup shapes of VK_NV_cooperative_matrix usable from compute shaders
  // (the extension, its feature and compute stage present), in the device's order of preference.
  std::vector<CoopMatrixShape> coop_matrix_shapes;
  bool vulkan_memory_model = false;  // the SPIR-V memory model the cooperative-matrix shaders use
  bool push_descriptors = false;

  std::string toText() const;
  std::string toJson(int indent = 2) const;
};

// What this Device has switched on; shaders and ops choose variants from it.
struct EnabledFeatures {
  bool push_descriptors = false;
  bool storage_16bit = false;
  bool storage_8bit = false;
  bool fp16_arithmetic = false;
  bool int8_arithmetic = false;
  bool subgroup_arithmetic = false;
  bool subgroup_shuffle = false;  // subgroupShuffle* in compute shaders
  bool integer_dot_product = false;
  // VK_NV_cooperative_matrix with shaderFloat16 and vulkanMemoryModel: the matmul_coop shaders run.
  bool cooperative_matrix = false;
};

// Figures from the vendor's datasheet for a known device (Vulkan reports no bus width or clocks).
struct Datasheet {
  double memory_gbps = 0;        // physical memory bandwidth
  double matrix_f16_tflops = 0;  // dense f16 on matrix units (tensor cores), f32 accumulate
  double f32_tflops = 0;         // plain f32 arithmetic
};
// The datasheet of the device called `device_name` (its report name), if tokenfab knows it.
std::optional<Datasheet> datasheetFor(const std::string& device_name);

class Allocator;
class PipelineCache;
class StagingPath;
struct Buffer;
struct BufferView;
class Recorder;
struct Pipeline;
struct PipelineDesc;

class Device {
 public:
  // Reports of every physical device, in enumeration order (the index DeviceOptions::index uses).
  static Result<std::vector<DeviceReport>> enumerate();
  // Index the default choice would take (discrete > integrated > virtual > cpu), honouring env.
  static Result<uint32_t> choose(const std::vector<DeviceReport>& devices, const DeviceOptions& options);
  static Result<std::unique_ptr<Device>> create(const DeviceOptions& options = {});

  ~Device();
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  const DeviceReport& report() const { return m_report; }
  const EnabledFeatures& features() const { return m_features; }
  bool validationEnabled() const { return m_validation; }

  // Validation messages (warnings and errors) seen since creation / the last clear.
  size_t validationMessageCount() const;
  std::vector<std::string> validationMessages() const;
  void clearValidationMessages();

  // Memory (see vk_buffer.h).
  enum class MemoryKind { kDeviceLocal, kHostVisible };
  Result<Buffer> createBuffer(uint64_t bytes, MemoryKind kind = MemoryKind::kDeviceLocal);
  // Upload/download through the reusable staging buffer; blocks until done.
  Status upload(const BufferView& dst, const void* data, uint64_t bytes);
  Status download(const BufferView& src, void* data, uint64_t bytes);
  // Bytes currently held in device memory blocks (for reports and leak tests).
  uint64_t allocatedBytes() const;

  // Pipelines from embedded SPIR-V, created once per (shader, spec constants) and cached.
  Result<const Pipeline*> pipeline(const PipelineDesc& desc);

  Result<Recorder> newRecorder();

  VkInstance instance() const { return m_instance; }
  VkPhysicalDevice physicalDevice() const { return m_physical; }
  VkDevice handle() const { return m_device; }
  VkQueue queue() const { return m_queue; }
  uint32_t queueFamily() const { return m_queue_family; }
  VkCommandPool commandPool() const { return m_command_pool; }
  PFN_vkCmdPushDescriptorSetKHR pushDescriptorFn() const { return m_push_descriptor_fn; }
  Allocator& allocator() { return *m_allocator; }

  // The validation capture (public so the C callback can reach it).
  struct ValidationSink {
    mutable std::mutex mutex;
    std::vector<std::string> messages;
  };

 private:
  Device() = default;

  VkInstance m_instance = VK_NULL_HANDLE;
  VkDebugUtilsMessengerEXT m_messenger = VK_NULL_HANDLE;
  VkPhysicalDevice m_physical = VK_NULL_HANDLE;
  VkDevice m_device = VK_NULL_HANDLE;
  VkQueue m_queue = VK_NULL_HANDLE;
  uint32_t m_queue_family = 0;
  VkCommandPool m_command_pool = VK_NULL_HANDLE;
  PFN_vkCmdPushDescriptorSetKHR m_push_descriptor_fn = nullptr;
  bool m_validation = false;
  DeviceReport m_report;
  EnabledFeatures m_features;
  std::unique_ptr<ValidationSink> m_sink;
  std::unique_ptr<Allocator> m_allocator;
  std::unique_ptr<PipelineCache> m_pipelines;
  std::unique_ptr<StagingPath> m_staging;
};

}  // namespace tokenfab::vk
