// GPU buffers: each Buffer is a VkBuffer bound into a large sub-allocated memory block.
// A BufferView is a (buffer, byte offset, byte size) window: what an op binds.
#pragma once

#include <vulkan/vulkan.h>

#include <cstdint>
#include <vector>

#include "tokenfab/status.h"

namespace tokenfab::vk {

class Allocator;

struct BufferView {
  VkBuffer buffer = VK_NULL_HANDLE;
  uint64_t offset = 0;  // bytes from the start of the VkBuffer
  uint64_t size = 0;    // bytes

  bool valid() const { return buffer != VK_NULL_HANDLE; }
  // A sub-window; the caller guarantees offset + size <= this->size (asserted in debug builds).
  BufferView sub(uint64_t byte_offset, uint64_t bytes) const;
};

// Move-only RAII owner of one VkBuffer and its slice of a memory block.
struct Buffer {
  Buffer() = default;
  Buffer(Buffer&& other) noexcept;
  Buffer& operator=(Buffer&& other) noexcept;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer();

  BufferView view() const { return {m_buffer, 0, m_size}; }
  BufferView view(uint64_t offset, uint64_t bytes) const { return view().sub(offset, bytes); }
  uint64_t size() const { return m_size; }
  VkBuffer handle() const { return m_buffer; }
  // Host pointer for host-visible buffers (persistently mapped), nullptr otherwise.
  void* mapped() const { return m_mapped; }
  void reset();

  // Set by Allocator only.
  Allocator* m_allocator = nullptr;
  VkBuffer m_buffer = VK_NULL_HANDLE;
  uint64_t m_size = 0;
  uint32_t m_block = 0;
  uint64_t m_block_offset = 0;
  uint64_t m_block_bytes = 0;
  void* m_mapped = nullptr;
};

// A piece of a large tensor that fits one binding: rows [first_row, first_row + rows).
struct BufferPiece {
  BufferView view;
  uint64_t first_row = 0;
  uint64_t rows = 0;
};

// Splits a view of `total_rows` rows of `row_bytes` each into pieces no larger than
// `max_range` bytes, each starting at an offset that is a multiple of `alignment`
// (minStorageBufferOffsetAlignment). Fails with kLimitExceeded when one row cannot fit or no
// aligned split exists.
Result<std::vector<BufferPiece>> splitRows(const BufferView& view, uint64_t row_bytes, uint64_t total_rows,
                                           uint64_t max_range, uint64_t alignment);

}  // namespace tokenfab::vk
