// Internal: sub-allocation of a few large VkDeviceMemory blocks (first fit, coalescing free list).
#pragma once

#include <vulkan/vulkan.h>

#include <cstdint>
#include <map>
#include <vector>

#include "tokenfab/vk_buffer.h"
#include "tokenfab/vk_device.h"

namespace tokenfab::vk {

class Allocator {
 public:
  Allocator(VkDevice device, VkPhysicalDevice physical, const DeviceReport& report);
  ~Allocator();
  Allocator(const Allocator&) = delete;
  Allocator& operator=(const Allocator&) = delete;

  Result<Buffer> createBuffer(uint64_t bytes, Device::MemoryKind kind);
  void release(Buffer& buffer);
  uint64_t allocatedBytes() const { return m_allocated; }

 private:
  struct Block {
    VkDeviceMemory memory = VK_NULL_HANDLE;
    uint32_t type_index = 0;
    uint64_t size = 0;
    void* mapped = nullptr;
    bool dedicated = false;
    std::map<uint64_t, uint64_t> free;  // offset -> size
  };
  Result<uint32_t> findMemoryType(uint32_t type_bits, Device::MemoryKind kind) const;
  Result<uint32_t> newBlock(uint32_t type_index, uint64_t size, bool host_visible, bool dedicated);

  VkDevice m_device;
  VkPhysicalDeviceMemoryProperties m_props{};
  uint64_t m_block_size = 0;
  uint64_t m_max_allocation = 0;
  uint64_t m_alignment = 16;
  uint64_t m_allocated = 0;
  std::vector<Block> m_blocks;  // a freed block keeps its slot (memory == VK_NULL_HANDLE)
};

}  // namespace tokenfab::vk
