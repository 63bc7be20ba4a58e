// Uploads and downloads through one reusable host-visible staging buffer.
#include <algorithm>
#include <cstring>

#include "vk/internal.h"

namespace tokenfab::vk {

Status StagingPath::ensure() {
  if (!m_buffer.handle()) {
    TF_ASSIGN_OR_RETURN(m_buffer, m_device.createBuffer(kChunkBytes, Device::MemoryKind::kHostVisible));
    if (!m_buffer.mapped()) return Status(Code::kInternal, "staging buffer is not host-mapped");
  }
  if (!m_recorder) {
    TF_ASSIGN_OR_RETURN(Recorder rec, m_device.newRecorder());
    m_recorder = std::make_unique<Recorder>(std::move(rec));
  } else {
    TF_RETURN_IF_ERROR(m_recorder->reset());
  }
  return Status::ok();
}

Status StagingPath::upload(const BufferView& dst, const void* data, uint64_t bytes) {
  if (bytes > dst.size) return Status(Code::kOutOfRange, "upload: " + std::to_string(bytes) + " bytes into a view of " + std::to_string(dst.size));
  const auto* src = static_cast<const char*>(data);
  for (uint64_t done = 0; done < bytes;) {
    const uint64_t n = std::min<uint64_t>(kChunkBytes, bytes - done);
    TF_RETURN_IF_ERROR(ensure());
    std::memcpy(m_buffer.mapped(), src + done, n);
    TF_RETURN_IF_ERROR(m_recorder->copy(m_buffer.view(0, n), dst.sub(done, n)));
    TF_RETURN_IF_ERROR(m_recorder->submitAndWait());
    done += n;
  }
  return Status::ok();
}

Status StagingPath::download(const BufferView& src, void* data, uint64_t bytes) {
  if (bytes > src.size) return Status(Code::kOutOfRange, "download: " + std::to_string(bytes) + " bytes from a view of " + std::to_string(src.size));
  auto* out = static_cast<char*>(data);
  for (uint64_t done = 0; done < bytes;) {
    const uint64_t n = std::min<uint64_t>(kChunkBytes, bytes - done);
    TF_RETURN_IF_ERROR(ensure());
    TF_RETURN_IF_ERROR(m_recorder->copy(src.sub(done, n), m_buffer.view(0, n)));
    m_recorder->barrier();  // the copy's writes must be visible to the host read below
    TF_RETURN_IF_ERROR(m_recorder->submitAndWait());
    std::memcpy(out + done, m_buffer.mapped(), n);
    done += n;
  }
  return Status::ok();
}

}  // namespace tokenfab::vk
