// Model downloads from a Hugging Face style hub: {endpoint}/{owner}/{repo}/resolve/{revision}/{file}.
// A download goes to "<file>.part" under a folder named by the revision. It resumes with an HTTP
// Range request guarded by If-Range (the validator the server gave, kept in "<file>.part.validator"):
// a file that changed upstream starts over from byte 0, never an old prefix with a new suffix. It
// is checked against the size and SHA-256 the hub itself announces (X-Linked-Size, X-Linked-Etag /
// ETag; never a CDN's or another host's headers), then opened with the GGUF reader, and only then
// renamed to its final name. A file under its final name is complete. Redirects never go from
// https to http.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tokenfab/status.h"

namespace tokenfab::download {

struct PullRequest {
  std::string repo;               // "owner/name"
  std::string file;               // path inside the repo, e.g. "model-Q4_K_M.gguf"
  std::string revision = "main";  // branch, tag or commit
  // Empty: $TOKENFAB_HF_ENDPOINT, else https://huggingface.co.
  std::string endpoint;
  // Empty: modelsDir(). The file lands in <dest_dir>/<owner>/<name>/<file>.
  std::filesystem::path dest_dir;
  // Expected SHA-256 (64 hex digits) when the caller knows it; otherwise the hub's is used. An
  // existing complete file is checked against it too.
  std::string expected_sha256;
  // Bytes free in a folder. Empty: the file system's answer (statvfs: blocks available to
  // unprivileged users). Tests put a small number here to stand in for a full disk.
  std::function<Result<uint64_t>(const std::filesystem::path& dir)> free_space;
};

struct Progress {
  uint64_t received = 0;          // bytes on disk so far (resumed bytes included)
  std::optional<uint64_t> total;  // full size when known
  uint64_t resumed_from = 0;      // bytes that were already in the .part file
  double bytes_per_second = 0;    // over this run only
  // kRehashing: hashing the bytes a previous run left in the .part (received counts them);
  // kVerifying: size, checksum and GGUF checks, or hashing an existing file for expected_sha256.
  enum class Phase { kRehashing, kConnecting, kDownloading, kVerifying, kDone } phase = Phase::kConnecting;
};
// Called from the downloading thread, at most ten times a second per phase.
using ProgressFn = std::function<void(const Progress&)>;

// Downloads (or resumes) the file and returns its final path. When the final file already exists
// it is returned as is (after hashing it when expected_sha256 is set: a mismatch is
// kChecksumMismatch and the file is left alone). `cancel` may be null; setting it stops the pull
// with kCancelled within about 100 ms in every phase (connecting, transferring, hashing between
// 1 MiB chunks) and keeps the .part file for a later resume. Errors: kNotFound (no such
// repo/file), kNetworkError (refused connection, DNS, TLS, HTTP errors, a redirect to http),
// kIoError (not enough free space, checked before the first byte is written; disk full,
// permissions), kChecksumMismatch (a bad download is deleted), kCancelled, GGUF codes for a
// non-GGUF file.
Result<std::filesystem::path> pull(const PullRequest& request, const ProgressFn& progress = {},
                                   const std::atomic<bool>* cancel = nullptr);

// The URL pull() fetches.
std::string resolveUrl(const PullRequest& request);
// The hub endpoint in effect: request value, $TOKENFAB_HF_ENDPOINT, or https://huggingface.co.
std::string hubEndpoint(std::string_view requested = {});
// Where downloads go: $TOKENFAB_MODELS_DIR, else the platform data directory + "tokenfab/models".
std::filesystem::path modelsDir();
// The final path pull() would use: <dest_dir or modelsDir()>/<owner>/<name>/<revision>/<file>.
std::filesystem::path destinationPath(const PullRequest& request);
// Checks "owner/name" and a relative file path without "..", "\" or control characters.
Status validateRequest(const PullRequest& request);

// The curated catalogue of small chat models (docs/models.md lists the same entries).
struct CatalogueEntry {
  std::string_view name;     // "qwen2.5-0.5b-instruct:q4_k_m"
  std::string_view repo;     // "Qwen/Qwen2.5-0.5B-Instruct-GGUF"
  std::string_view file;     // "qwen2.5-0.5b-instruct-q4_k_m.gguf"
  uint64_t approx_bytes;     // approximate, as listed by the hub
  std::string_view license;  // "apache-2.0"
};
std::span<const CatalogueEntry> catalogue();
const CatalogueEntry* findCatalogueEntry(std::string_view name);  // case-insensitive; null if none

// SHA-256 (FIPS 180-4), streaming.
class Sha256 {
 public:
  Sha256();
  void update(std::span<const uint8_t> bytes);
  void update(std::string_view text);
  std::array<uint8_t, 32> finish();  // the object is reset afterwards
  static std::string toHex(const std::array<uint8_t, 32>& digest);

 private:
  void compress(const uint8_t* block);
  std::array<uint32_t, 8> m_state;
  std::array<uint8_t, 64> m_buffer;
  size_t m_buffer_len = 0;
  uint64_t m_total_bytes = 0;
};
// Hex digest of a whole file (streamed).
Result<std::string> sha256File(const std::filesystem::path& path);

}  // namespace tokenfab::download
