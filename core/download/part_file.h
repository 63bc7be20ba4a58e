// The .part file of a download: an exclusive lock that keeps two pulls from appending to it at
// once, and the sidecar "<part>.validator" that remembers which version of the remote file the
// .part holds the beginning of (the strong ETag or Last-Modified of the response that started
// it), so a resume can send If-Range and never splice two versions.
#pragma once

#include <filesystem>

#include "download/http_headers.h"
#include "tokenfab/status.h"

namespace tokenfab::download {

// An exclusive advisory lock on the .part file, so two pulls of the same file (the GUI and the
// CLI, say) cannot append to it at once. The .part keeps its inode while locked (it is truncated,
// never replaced), so the lock stays meaningful until the rename.
class PartLock {
 public:
  PartLock() = default;
  PartLock(const PartLock&) = delete;
  PartLock& operator=(const PartLock&) = delete;
  ~PartLock();

  Status acquire(const std::filesystem::path& part);
  // Starts writing back [from, from + length) of the file without waiting (Linux), so the
  // final sync() has little left to do and a cancel is not stuck behind gigabytes of it.
  void startWriteback(uint64_t from, uint64_t length);
  // Flushes the file's data to disk (fsync acts on the file, whichever descriptor wrote it), so a
  // crash after the rename cannot leave a short file under the final name.
  Status sync();

 private:
  int m_fd = -1;
};

std::filesystem::path validatorPath(const std::filesystem::path& part);
// Kind::kNone when there is no sidecar or it does not parse.
Validator readValidator(const std::filesystem::path& part);
// Written atomically; Kind::kNone removes the sidecar.
Status writeValidator(const std::filesystem::path& part, const Validator& validator);
void removeQuietly(const std::filesystem::path& path);

}  // namespace tokenfab::download
