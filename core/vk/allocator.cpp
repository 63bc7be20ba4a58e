#include "vk/allocator.h"

#include <algorithm>
#include <cassert>
#include <string>

namespace tokenfab::vk {
namespace {
constexpr uint64_t kDefaultBlockSize = 256ull << 20;
uint64_t alignUp(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }
}  // namespace

BufferView BufferView::sub(uint64_t byte_offset, uint64_t bytes) const {
  assert(byte_offset + bytes <= size);
  return {buffer, offset + byte_offset, bytes};
}

Buffer::Buffer(Buffer&& other) noexcept { *this = std::move(other); }

Buffer& Buffer::operator=(Buffer&& other) noexcept {
  if (this != &other) {
    reset();
    m_allocator = other.m_allocator;
    m_buffer = other.m_buffer;
    m_size = other.m_size;
    m_block = other.m_block;
    m_block_offset = other.m_block_offset;
    m_block_bytes = other.m_block_bytes;
    m_mapped = other.m_mapped;
    other.m_allocator = nullptr;
    other.m_buffer = VK_NULL_HANDLE;
    other.m_size = 0;
    other.m_mapped = nullptr;
  }
  return *this;
}

Buffer::~Buffer() { reset(); }

void Buffer::reset() {
  if (m_allocator && m_buffer != VK_NULL_HANDLE) m_allocator->release(*this);
  m_allocator = nullptr;
  m_buffer = VK_NULL_HANDLE;
  m_size = 0;
  m_mapped = nullptr;
}

Result<std::vector<BufferPiece>> splitRows(const BufferView& view, uint64_t row_bytes, uint64_t total_rows,
                                           uint64_t max_range, uint64_t alignment) {
  if (row_bytes == 0 || alignment == 0) return Status(Code::kInvalidArgument, "splitRows: zero row size or alignment");
  if (total_rows > view.size / row_bytes)
    return Status(Code::kOutOfRange, "splitRows: " + std::to_string(total_rows) + " rows of " +
                                         std::to_string(row_bytes) + " bytes exceed the view");
  if (view.offset % alignment != 0) return Status(Code::kInvalidArgument, "splitRows: view offset is not aligned");
  // Rows per piece: as many as fit, rounded down so each piece's byte size keeps the next piece
  // aligned (a multiple of lcm(row_bytes, alignment) when more than one piece is needed).
  std::vector<BufferPiece> out;
  if (total_rows * row_bytes <= max_range) {
    out.push_back({view.sub(0, total_rows * row_bytes), 0, total_rows});
    return out;
  }
  uint64_t step_rows = 1;
  while ((step_rows * row_bytes) % alignment != 0) ++step_rows;  // alignment is small (<= 256)
  const uint64_t fit_rows = max_range / row_bytes;
  const uint64_t rows_per_piece = fit_rows / step_rows * step_rows;
  if (rows_per_piece == 0)
    return Status(Code::kLimitExceeded, "splitRows: a row of " + std::to_string(row_bytes) +
                                            " bytes (times alignment step) exceeds maxStorageBufferRange " +
                                            std::to_string(max_range));
  for (uint64_t r = 0; r < total_rows; r += rows_per_piece) {
    const uint64_t n = std::min(rows_per_piece, total_rows - r);
    out.push_back({view.sub(r * row_bytes, n * row_bytes), r, n});
  }
  return out;
}

Allocator::Allocator(VkDevice device, VkPhysicalDevice physical, const DeviceReport& report) : m_device(device) {
  vkGetPhysicalDeviceMemoryProperties(physical, &m_props);
  m_max_allocation = report.max_memory_allocation_size ? report.max_memory_allocation_size : (1ull << 30);
  m_block_size = std::min(kDefaultBlockSize, m_max_allocation);
  m_alignment = std::max<uint64_t>(report.min_storage_buffer_offset_alignment, 16);
}

Allocator::~Allocator() {
  for (Block& b : m_blocks) {
    if (b.memory == VK_NULL_HANDLE) continue;
    if (b.mapped) vkUnmapMemory(m_device, b.memory);
    vkFreeMemory(m_device, b.memory, nullptr);
  }
}

Result<uint32_t> Allocator::findMemoryType(uint32_t type_bits, Device::MemoryKind kind) const {
  const VkMemoryPropertyFlags want = kind == Device::MemoryKind::kDeviceLocal
                                         ? VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT
                                         : (VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
  // Host-visible: prefer cached memory (downloads read it); device-local: prefer not host-visible.
  int best = -1;
  int best_score = -1;
  for (uint32_t i = 0; i < m_props.memoryTypeCount; ++i) {
    if (!(type_bits & (1u << i))) continue;
    const VkMemoryPropertyFlags f = m_props.memoryTypes[i].propertyFlags;
    if ((f & want) != want) continue;
    int score = 1;
    if (kind == Device::MemoryKind::kHostVisible && (f & VK_MEMORY_PROPERTY_HOST_CACHED_BIT)) score += 1;
    if (kind == Device::MemoryKind::kDeviceLocal && !(f & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT)) score += 1;
    if (score > best_score) best = static_cast<int>(i), best_score = score;
  }
  if (best < 0 && kind == Device::MemoryKind::kDeviceLocal) {
    // Some devices (software rasterisers) expose no DEVICE_LOCAL type for some buffers: any type.
    for (uint32_t i = 0; i < m_props.memoryTypeCount; ++i)
      if (type_bits & (1u << i)) return i;
  }
  if (best < 0) return Status(Code::kVkMissingFeature, "no suitable memory type");
  return static_cast<uint32_t>(best);
}

Result<uint32_t> Allocator::newBlock(uint32_t type_index, uint64_t size, bool host_visible, bool dedicated) {
  VkMemoryAllocateInfo info{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
  info.allocationSize = size;
  info.memoryTypeIndex = type_index;
  Block block;
  TF_VK_CHECK(vkAllocateMemory(m_device, &info, nullptr, &block.memory));
  block.type_index = type_index;
  block.size = size;
  block.dedicated = dedicated;
  block.free[0] = size;
  if (host_visible) {
    VkResult r = vkMapMemory(m_device, block.memory, 0, VK_WHOLE_SIZE, 0, &block.mapped);
    if (r != VK_SUCCESS) {
      vkFreeMemory(m_device, block.memory, nullptr);
      return vkStatus(r, "vkMapMemory");
    }
  }
  m_allocated += size;
  for (uint32_t i = 0; i < m_blocks.size(); ++i) {
    if (m_blocks[i].memory == VK_NULL_HANDLE) {
      m_blocks[i] = std::move(block);
      return i;
    }
  }
  m_blocks.push_back(std::move(block));
  return static_cast<uint32_t>(m_blocks.size() - 1);
}

Result<Buffer> Allocator::createBuffer(uint64_t bytes, Device::MemoryKind kind) {
  if (bytes == 0) return Status(Code::kInvalidArgument, "createBuffer: zero bytes");
  if (bytes > m_max_allocation)
    return Status(Code::kLimitExceeded, "createBuffer: " + std::to_string(bytes) +
                                            " bytes exceed maxMemoryAllocationSize " + std::to_string(m_max_allocation));
  VkBufferCreateInfo bci{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  bci.size = bytes;
  // INDIRECT: a replayed decode step takes its attention dispatch sizes from a buffer.
  bci.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT |
              VK_BUFFER_USAGE_INDIRECT_BUFFER_BIT;
  bci.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  Buffer out;
  TF_VK_CHECK(vkCreateBuffer(m_device, &bci, nullptr, &out.m_buffer));
  out.m_allocator = this;  // from here on, `out` destroys the VkBuffer on any error return
  out.m_size = bytes;
  out.m_block = UINT32_MAX;
  VkMemoryRequirements req;
  vkGetBufferMemoryRequirements(m_device, out.m_buffer, &req);
  const uint64_t align = std::max<uint64_t>(req.alignment, m_alignment);
  const uint64_t need = alignUp(req.size, align);
  TF_ASSIGN_OR_RETURN(uint32_t type_index, findMemoryType(req.memoryTypeBits, kind));
  const bool host = kind == Device::MemoryKind::kHostVisible;

  uint32_t block_index = UINT32_MAX;
  uint64_t offset = 0;
  if (need <= m_block_size / 2) {
    for (uint32_t i = 0; i < m_blocks.size() && block_index == UINT32_MAX; ++i) {
      Block& b = m_blocks[i];
      if (b.memory == VK_NULL_HANDLE || b.dedicated || b.type_index != type_index || (host && !b.mapped)) continue;
      for (auto& [off, size] : b.free) {
        const uint64_t start = alignUp(off, align);
        if (start + need <= off + size) {
          block_index = i;
          offset = start;
          break;
        }
      }
    }
    if (block_index == UINT32_MAX) {
      TF_ASSIGN_OR_RETURN(block_index, newBlock(type_index, m_block_size, host, false));
      offset = 0;
    }
  } else {
    TF_ASSIGN_OR_RETURN(block_index, newBlock(type_index, need, host, true));
    offset = 0;
  }
  // Carve [offset, offset + need) out of the free range that holds it.
  Block& b = m_blocks[block_index];
  auto it = b.free.upper_bound(offset);
  --it;
  const uint64_t range_start = it->first, range_size = it->second;
  b.free.erase(it);
  if (offset > range_start) b.free[range_start] = offset - range_start;
  if (offset + need < range_start + range_size) b.free[offset + need] = range_start + range_size - offset - need;

  out.m_block = block_index;
  out.m_block_offset = offset;
  out.m_block_bytes = need;
  TF_VK_CHECK(vkBindBufferMemory(m_device, out.m_buffer, b.memory, offset));
  if (b.mapped) out.m_mapped = static_cast<char*>(b.mapped) + offset;
  return out;
}

void Allocator::release(Buffer& buffer) {
  vkDestroyBuffer(m_device, buffer.m_buffer, nullptr);
  if (buffer.m_block >= m_blocks.size()) return;
  Block& b = m_blocks[buffer.m_block];
  uint64_t off = buffer.m_block_offset, size = buffer.m_block_bytes;
  auto next = b.free.lower_bound(off);
  if (next != b.free.end() && off + size == next->first) {
    size += next->second;
    next = b.free.erase(next);
  }
  if (next != b.free.begin()) {
    auto prev = std::prev(next);
    if (prev->first + prev->second == off) {
      off = prev->first;
      size += prev->second;
      b.free.erase(prev);
    }
  }
  b.free[off] = size;
  // Dedicated blocks go back at once; shared blocks stay for reuse.
  if (b.dedicated && size == b.size) {
    if (b.mapped) vkUnmapMemory(m_device, b.memory);
    vkFreeMemory(m_device, b.memory, nullptr);
    m_allocated -= b.size;
    b = Block{};
  }
}

}  // namespace tokenfab::vk
