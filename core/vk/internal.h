// Internal pieces of the Device: the staging path and the pipeline cache.
#pragma once

#include <vulkan/vulkan.h>

#include <map>
#include <memory>
#include <string>

#include "tokenfab/vk.h"

namespace tokenfab::vk {

class PipelineCache {
 public:
  explicit PipelineCache(Device& device) : m_device(device) {}
  ~PipelineCache();
  Result<const Pipeline*> get(const PipelineDesc& desc);

 private:
  Device& m_device;
  std::map<std::string, std::unique_ptr<Pipeline>> m_pipelines;
};

// One host-visible buffer reused for every upload and download, in chunks of its size.
class StagingPath {
 public:
  static constexpr uint64_t kChunkBytes = 32ull << 20;
  explicit StagingPath(Device& device) : m_device(device) {}
  Status upload(const BufferView& dst, const void* data, uint64_t bytes);
  Status download(const BufferView& src, void* data, uint64_t bytes);

 private:
  Status ensure();
  Device& m_device;
  Buffer m_buffer;
  std::unique_ptr<Recorder> m_recorder;
};

bool envFlag(const char* name);

}  // namespace tokenfab::vk
