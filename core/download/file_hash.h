// Hashing a file in chunks that a cancel flag can stop between (the .part a previous run left,
// an existing download checked against --sha256): a multi-gigabyte file takes seconds.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>

#include "tokenfab/download.h"

namespace tokenfab::download {

inline constexpr size_t kHashChunkBytes = size_t{1} << 20;

// Feeds the file to `hasher` kHashChunkBytes at a time. `cancel` is read before every chunk
// (kCancelled: nothing more is read); `on_chunk(bytes_so_far)` is called after every chunk.
// Returns the number of bytes hashed.
Result<uint64_t> hashFileInto(const std::filesystem::path& path, Sha256& hasher, const std::atomic<bool>* cancel,
                              const std::function<void(uint64_t)>& on_chunk = {});

}  // namespace tokenfab::download
