// Parsing of the HTTP response headers a hub download sees, across redirects.
// Hugging Face answers /resolve/ for an LFS file with a redirect whose headers carry
// X-Linked-Size (the file size) and X-Linked-Etag (its sha256); the CDN that serves the body
// sends its own ETag. The size and checksum are taken only from the hub's own answers (hops
// whose origin is the endpoint's, see beginHop): a hop on another host, which could be anyone
// the hub or a redirect chain points at, cannot choose the hash the download is checked against.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tokenfab::download {

// What identifies one version of a resource (RFC 9110 8.8): a strong ETag, else Last-Modified.
// `value` is the header value as sent (an ETag keeps its quotes), ready for If-Range.
struct Validator {
  enum class Kind { kNone, kEtag, kLastModified } kind = Kind::kNone;
  std::string value;
  bool operator==(const Validator&) const = default;
};

class HubHeaders {
 public:
  // Called before each request of a redirect chain; `trusted`: the hop is the hub's own (same
  // scheme, host and port as the endpoint).
  void beginHop(bool trusted) { m_trusted_hop = trusted; }
  // One raw header line as curl delivers it ("HTTP/1.1 200 OK\r\n", "ETag: \"...\"\r\n", "\r\n").
  void feedLine(std::string_view line);

  int status() const { return m_status; }                        // of the latest response
  const std::string& errorCode() const { return m_error_code; }  // X-Error-Code of the latest
  // Full size of the file: the hub's X-Linked-Size, else the latest Content-Range's total, else
  // its Content-Length (+ resume offset for a 206).
  std::optional<uint64_t> totalSize(uint64_t resumed_from) const;
  // The sha256 the hub announced (lower-case hex), or "" when none was.
  std::string sha256() const;
  // First byte of the latest response's Content-Range ("bytes 100-199/200" -> 100).
  std::optional<uint64_t> rangeStart() const { return m_range_start; }
  // The latest response's validator (weak ETags do not count: If-Range needs a strong one).
  Validator validator() const;

 private:
  bool m_trusted_hop = true;
  int m_status = 0;
  int m_responses = 0;
  std::string m_error_code;
  std::optional<uint64_t> m_linked_size;
  std::string m_linked_etag;
  std::string m_first_etag;  // ETag of the first response only (the hub's answer to our URL)
  std::optional<uint64_t> m_content_length;
  std::optional<uint64_t> m_range_start;
  std::optional<uint64_t> m_range_total;
  std::string m_etag;           // raw, latest response
  std::string m_last_modified;  // raw, latest response
};

bool isSha256Hex(std::string_view text);
bool equalsIgnoreCaseHex(std::string_view a, std::string_view b);
// "W/\"abc\"" -> "abc"
std::string stripEtag(std::string_view value);

}  // namespace tokenfab::download
