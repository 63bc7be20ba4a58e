// A tiny HTTP/1.1 server on 127.0.0.1 (ephemeral port) that serves files under the hub's URL
// layout /{owner}/{repo}/resolve/{revision}/{file}, for the downloader tests. HEAD and GET,
// single "bytes=N-" / "bytes=N-M" ranges with If-Range, ETag or X-Linked-Etag/X-Linked-Size, a
// validator that changes with the file (ETag or Last-Modified), an optional redirect hop (like
// the hub's redirect to its CDN, on this server or another), and faults: cut the connection after
// N body bytes, flip one byte, send slowly, answer a range from the wrong offset, ignore If-Range,
// forge headers on the CDN hop, stall before answering. One connection at a time,
// "Connection: close".
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace tokenfab::test {

class TestHubServer {
 public:
  struct Options {
    bool linked_headers = true;          // X-Linked-Etag + X-Linked-Size (else a plain ETag)
    bool send_checksum = true;           // send any sha256 at all
    bool redirect = false;               // answer /resolve/ with 302 to /cdn/...
    bool honour_range = true;            // false: ignore Range and send 200 with the whole file
    std::optional<uint64_t> cut_after;   // close after this many body bytes (next GET only)
    std::optional<uint64_t> corrupt_at;  // flip the byte at this file offset
    uint32_t slow_chunk_delay_ms = 0;    // pause between 4 KiB chunks
    // What identifies the file's version in every answer: an ETag ("\"<sha256>\"" on the hub
    // when send_checksum, else "\"rev-<n>\""; on the CDN the sha256 reversed: 64 hex digits that
    // are not the checksum), a Last-Modified date, or nothing. It changes when addFile replaces
    // the file.
    enum class Validator { kEtag, kLastModified, kNone } validator = Validator::kEtag;
    bool honour_if_range = true;         // false: serve the range even when If-Range does not match
    std::optional<uint64_t> serve_from;  // answer any range request with bytes from this offset
    std::string redirect_to;             // endpoint the hub's 302 points at ("": this server's /cdn/)
    std::string cdn_headers;             // raw header lines added to /cdn/ answers (forgeries)
    uint32_t stall_ms = 0;               // wait this long (or until shutdown) before answering
  };
  struct Request {
    std::string method;
    std::string path;
    std::string range;          // the Range header, "" when none
    std::string if_range;       // the If-Range header, "" when none
    std::string authorization;  // the Authorization header, "" when none
  };

  TestHubServer();
  ~TestHubServer();
  TestHubServer(const TestHubServer&) = delete;
  TestHubServer& operator=(const TestHubServer&) = delete;

  bool started() const { return m_listen_fd >= 0; }
  uint16_t port() const { return m_port; }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(m_port); }

  // Serves `bytes` at /{repo}/resolve/{revision}/{file}; `sha256` is what the headers announce.
  // Adding a file again replaces it with a new version (a new validator).
  void addFile(const std::string& repo, const std::string& revision, const std::string& file,
               std::string bytes, std::string sha256);
  void setOptions(const Options& options);
  std::vector<Request> requests() const;

 private:
  void serve();
  void handle(int fd);

  struct Entry {
    std::string bytes;
    std::string sha256;
    uint32_t version = 0;
  };
  int m_listen_fd = -1;
  uint16_t m_port = 0;
  std::atomic<bool> m_stop{false};
  mutable std::mutex m_mutex;
  std::map<std::string, Entry> m_files;  // by URL path after /resolve/ is normalised
  Options m_options;
  std::vector<Request> m_requests;
  uint32_t m_versions = 0;
  std::thread m_thread;
};

// A port on 127.0.0.1 that nothing listens on (bound, then closed).
uint16_t closedLoopbackPort();

}  // namespace tokenfab::test
