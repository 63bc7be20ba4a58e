// Pipelines from embedded SPIR-V and the command recorder: a sequence of dispatches with
// barriers, submitted once and waited on with a fence; timestamps for benchmarks.
#pragma once

#include <vulkan/vulkan.h>

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "tokenfab/status.h"
#include "tokenfab/vk_buffer.h"

namespace tokenfab::vk {

class Device;

// Whether thread `id` has ever waited for GPU work in this process (every wait goes through a
// Recorder's fence): lets a test check that a UI thread never blocks on the GPU.
bool threadHasWaitedForGpu(std::thread::id id);
// How many threads have (threads that ended included).
size_t threadsThatWaitedForGpu();

// A shader variant (its name in shaders/lists/*.cmake) with specialization constants
// (constant_id = position in `spec`; by convention id 0 is the workgroup size x).
struct PipelineDesc {
  std::string shader;
  uint32_t bindings = 1;    // storage buffers at set 0, bindings 0..n-1
  uint32_t push_bytes = 0;  // size of the push-constant struct from shader_abi.h
  std::vector<uint32_t> spec;
  std::string key() const;
};

struct Pipeline {
  VkPipeline pipeline = VK_NULL_HANDLE;
  VkPipelineLayout layout = VK_NULL_HANDLE;
  VkDescriptorSetLayout set_layout = VK_NULL_HANDLE;
  uint32_t bindings = 0;
  uint32_t push_bytes = 0;
  std::string name;
};

// Records dispatches into one command buffer. Descriptors are pushed (VK_KHR_push_descriptor)
// when enabled, else allocated from the recorder's own pool. Move-only.
class Recorder {
 public:
  Recorder() = default;
  Recorder(Recorder&& other) noexcept;
  Recorder& operator=(Recorder&& other) noexcept;
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;
  ~Recorder();

  // Binds `views` to bindings 0..n-1, pushes `push` and dispatches groups (x, y, z). Checks the
  // binding count, that no view exceeds maxStorageBufferRange, offsets are aligned, and group
  // counts fit the device limits.
  Status dispatch(const Pipeline& pipe, std::initializer_list<BufferView> views, const void* push,
                  uint32_t push_bytes, uint32_t gx, uint32_t gy = 1, uint32_t gz = 1);
  Status dispatch(const Pipeline& pipe, std::span<const BufferView> views, const void* push,
                  uint32_t push_bytes, uint32_t gx, uint32_t gy = 1, uint32_t gz = 1);
  template <typename P>
  Status dispatch(const Pipeline& pipe, std::initializer_list<BufferView> views, const P& push, uint32_t gx,
                  uint32_t gy = 1, uint32_t gz = 1) {
    return dispatch(pipe, views, &push, sizeof(P), gx, gy, gz);
  }

  // The same with the group counts read on the GPU from `args` (three uint32: x, y, z) when the
  // command buffer runs, so a replayed recording can change them. Counts of 0 do nothing.
  Status dispatchIndirect(const Pipeline& pipe, std::span<const BufferView> views, const void* push,
                          uint32_t push_bytes, const BufferView& args);
  template <typename P>
  Status dispatchIndirect(const Pipeline& pipe, std::initializer_list<BufferView> views, const P& push,
                          const BufferView& args) {
    return dispatchIndirect(pipe, std::span<const BufferView>(views.begin(), views.size()), &push, sizeof(P), args);
  }

  // Makes every earlier shader/transfer write visible to later shader/transfer/host reads and writes.
  void barrier();
  Status copy(const BufferView& src, const BufferView& dst);
  // Fills `view` (size multiple of 4) with a 32-bit pattern.
  Status fill(const BufferView& view, uint32_t pattern);
  // Writes a timestamp after all earlier work; returns its slot (0, 1, ...).
  Result<uint32_t> timestamp();

  // Ends, submits, waits on the fence. The recorder can be reused after reset().
  Status submitAndWait();
  // Submits the finished recording again and waits: the same commands, reading whatever the
  // buffers hold now (a decode step recorded once and replayed for every token).
  Status replay();
  // Timestamps of the last submission in nanoseconds (slot order).
  Result<std::vector<double>> timestampsNs() const;
  // Clears the command buffer, descriptor pool and timestamps for a new recording.
  Status reset();

  Device* device() const { return m_device; }
  uint32_t dispatchCount() const { return m_dispatches; }

 private:
  friend class Device;

// Whether thread `id` has ever waited for GPU work in this process (every wait goes through a
// Recorder's fence): lets a test check that a UI thread never blocks on the GPU.
bool threadHasWaitedForGpu(std::thread::id id);
// How many threads have (threads that ended included).
size_t threadsThatWaitedForGpu();
  Status begin();
  Status allocateDescriptorPool();
  Status checkBindings(const Pipeline& pipe, std::span<const BufferView> views, uint32_t push_bytes) const;
  // Binds the pipeline, its buffers and push constants for the next dispatch.
  Status bind(const Pipeline& pipe, std::span<const BufferView> views, const void* push, uint32_t push_bytes);
  Status submitRecorded();
  void release();  // destroys the Vulkan objects; leaves the recorder empty

  Device* m_device = nullptr;
  VkCommandBuffer m_cmd = VK_NULL_HANDLE;
  VkFence m_fence = VK_NULL_HANDLE;
  std::vector<VkDescriptorPool> m_pools;
  VkQueryPool m_queries = VK_NULL_HANDLE;
  uint32_t m_query_count = 0;
  uint32_t m_dispatches = 0;
  uint32_t m_sets_in_pool = 0;
  bool m_recording = false;
  bool m_submitted = false;  // ended and submitted at least once: replay() may submit it again
};

}  // namespace tokenfab::vk
