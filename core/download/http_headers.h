// Parsing of the HTTP response headers a hub download sees, across redirects.
// Hugging Face answers /resolve/ for an LFS file with a redirect whose headers carry
// X-Linked-Size (the file size) and X-Linked-Etag (its sha256); the CDN that serves the body
// may send unrelated ETags, so those facts are taken from the first response that has them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tokenfab::download {

class HubHeaders {
 public:
  // One raw header line as curl delivers it ("HTTP/1.1 200 OK\r\n", "ETag: \"...\"\r\n", "\r\n").
  void feedLine(std::string_view line);

  int status() const { return m_status; }                        // of the latest response
  const std::string& errorCode() const { return m_error_code; }  // X-Error-Code of the latest
  // Full size of the file: X-Linked-Size, else Content-Range's total, else Content-Length
  // (+ resume offset for a 206).
  std::optional<uint64_t> totalSize(uint64_t resumed_from) const;
  // The sha256 the hub announced (lower-case hex), or "" when none was.
  std::string sha256() const;

 private:
  int m_status = 0;
  int m_responses = 0;
  std::string m_error_code;
  std::optional<uint64_t> m_linked_size;
  std::string m_linked_etag;
  std::string m_first_etag;  // ETag of the first response only
  std::optional<uint64_t> m_content_length;
  std::optional<uint64_t> m_range_total;
};

bool isSha256Hex(std::string_view text);
bool equalsIgnoreCaseHex(std::string_view a, std::string_view b);
// "W/\"abc\"" -> "abc"
std::string stripEtag(std::string_view value);

}  // namespace tokenfab::download
