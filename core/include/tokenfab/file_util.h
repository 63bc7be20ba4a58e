// Files: read-only memory mapping (RAII) and atomic writes (temp file, fsync, rename).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string_view>

#include "tokenfab/status.h"

namespace tokenfab {

// A whole file mapped read-only. Move-only; unmaps on destruction. An empty file maps to an
// empty span (mmap cannot map zero bytes).
class MappedFile {
 public:
  // kNotFound when the path does not exist, kIoError when it cannot be opened or mapped
  // (including directories).
  static Result<MappedFile> open(const std::filesystem::path& path);

  MappedFile() = default;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  std::span<const uint8_t> bytes() const { return {m_data, m_size}; }
  const uint8_t* data() const { return m_data; }
  uint64_t size() const { return m_size; }

 private:
  void reset();
  const uint8_t* m_data = nullptr;
  size_t m_size = 0;
};

// The built-in demo model, for the CLI and the GUI alike: $TOKENFAB_DEMO_MODEL, else the first
// .gguf (by name) in <exe_dir>/../share/tokenfab/models (installed), in resources/models of any
// folder above exe_dir (a build tree inside the source tree), or in source_models_dir.
std::optional<std::filesystem::path> findDemoModel(const std::filesystem::path& exe_dir,
                                                   const std::filesystem::path& source_models_dir = {});

// Writes `bytes` to a temporary file in the same folder, fsyncs it, then renames it over `path`
// (and fsyncs the folder): readers see either the old file or the complete new one.
Status writeFileAtomic(const std::filesystem::path& path, std::span<const uint8_t> bytes);
Status writeFileAtomic(const std::filesystem::path& path, std::string_view text);

}  // namespace tokenfab
