#include "test_hub_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstring>

namespace tokenfab::test {
namespace {

bool sendAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n <= 0) return false;
    data += n;
    size -= size_t(n);
  }
  return true;
}

bool sendAll(int fd, const std::string& text) { return sendAll(fd, text.data(), text.size()); }

std::string headerValue(const std::string& head, const std::string& name) {
  // Case-insensitive search for "\r\nname:".
  std::string lower_head = head;
  for (char& c : lower_head) c = char(std::tolower(static_cast<unsigned char>(c)));
  const std::string key = "\r\n" + name + ":";
  const size_t at = lower_head.find(key);
  if (at == std::string::npos) return {};
  size_t start = at + key.size();
  const size_t end = head.find("\r\n", start);
  while (start < end && head[start] == ' ') ++start;
  return head.substr(start, end - start);
}

}  // namespace

TestHubServer::TestHubServer() {
  m_listen_fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (m_listen_fd < 0) return;
  int one = 1;
  ::setsockopt(m_listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(m_listen_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(m_listen_fd, 8) != 0 ||
      ::getsockname(m_listen_fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(m_listen_fd);
    m_listen_fd = -1;
    return;
  }
  m_port = ntohs(addr.sin_port);
  m_thread = std::thread([this] { serve(); });
}

TestHubServer::~TestHubServer() {
  m_stop = true;
  if (m_thread.joinable()) m_thread.join();
  if (m_listen_fd >= 0) ::close(m_listen_fd);
}

void TestHubServer::addFile(const std::string& repo, const std::string& revision, const std::string& file,
                            std::string bytes, std::string sha256) {
  std::lock_guard lock(m_mutex);
  m_files["/" + repo + "/resolve/" + revision + "/" + file] = {std::move(bytes), std::move(sha256), ++m_versions};
}

void TestHubServer::setOptions(const Options& options) {
  std::lock_guard lock(m_mutex);
  m_options = options;
}

std::vector<TestHubServer::Request> TestHubServer::requests() const {
  std::lock_guard lock(m_mutex);
  return m_requests;
}

void TestHubServer::serve() {
  while (!m_stop) {
    pollfd pfd{m_listen_fd, POLLIN, 0};
    if (::poll(&pfd, 1, 50) <= 0) continue;
    const int fd = ::accept(m_listen_fd, nullptr, nullptr);
    if (fd < 0) continue;
    handle(fd);
    ::close(fd);
  }
}

void TestHubServer::handle(int fd) {
  // Read the request head (bounded; the client sends no body).
  std::string head;
  char buf[4096];
  while (head.find("\r\n\r\n") == std::string::npos && head.size() < 65536) {
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, 5000) <= 0) return;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return;
    head.append(buf, size_t(n));
    if (!std::isupper(static_cast<unsigned char>(head[0]))) return;  // not HTTP (a TLS hello)
  }
  const size_t sp1 = head.find(' ');
  const size_t sp2 = head.find(' ', sp1 + 1);
  if (sp1 == std::string::npos || sp2 == std::string::npos) return;
  Request request{head.substr(0, sp1), head.substr(sp1 + 1, sp2 - sp1 - 1), headerValue(head, "range"),
                  headerValue(head, "if-range"), headerValue(head, "authorization")};

  Options options;
  std::optional<Entry> entry;
  {
    std::lock_guard lock(m_mutex);
    m_requests.push_back(request);
    options = m_options;
    std::string lookup = request.path;
    if (lookup.starts_with("/cdn/")) lookup = lookup.substr(4);
    if (auto it = m_files.find(lookup); it != m_files.end()) entry = it->second;
  }
  for (uint32_t waited = 0; waited < options.stall_ms && !m_stop; waited += 10) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }

  const bool is_cdn = request.path.starts_with("/cdn/");
  if (!entry || (is_cdn && !options.redirect)) {
    const std::string body = "Entry not found";
    sendAll(fd,
            "HTTP/1.1 404 Not Found\r\nX-Error-Code: EntryNotFound\r\nContent-Type: text/plain\r\n"
            "Content-Length: " +
                std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
    return;
  }
  const std::string& bytes = entry->bytes;
  std::string checksum_headers;
  if (options.send_checksum && !is_cdn && options.linked_headers) {
    checksum_headers = "X-Linked-Etag: \"" + entry->sha256 + "\"\r\nX-Linked-Size: " + std::to_string(bytes.size()) + "\r\n";
  }
  // The validator of this answer. A CDN's ETag is 64 hex digits that are NOT the file's sha256,
  // so a client that trusted the last response's ETag instead of the hub's would reject a good
  // file.
  std::string validator;
  std::string validator_header;
  if (options.validator == Options::Validator::kEtag) {
    if (is_cdn) {
      validator = "\"" + std::string(entry->sha256.rbegin(), entry->sha256.rend()) + "\"";
    } else {
      validator = "\"" + (options.send_checksum ? entry->sha256 : "rev-" + std::to_string(entry->version)) + "\"";
    }
    validator_header = "ETag: " + validator + "\r\n";
  } else if (options.validator == Options::Validator::kLastModified) {
    char date[64];
    std::snprintf(date, sizeof date, "Mon, 01 Jan 2024 00:%02u:%02u GMT", (entry->version / 60) % 60, entry->version % 60);
    validator = date;
    validator_header = "Last-Modified: " + validator + "\r\n";
  }
  checksum_headers += validator_header;
  if (is_cdn) checksum_headers += options.cdn_headers;
  if (options.redirect && !is_cdn) {
    sendAll(fd, "HTTP/1.1 302 Found\r\nLocation: " + options.redirect_to + "/cdn" + request.path + "\r\n" +
                    checksum_headers + "Content-Length: 0\r\nConnection: close\r\n\r\n");
    return;
  }

  uint64_t first = 0, last = bytes.size() ? bytes.size() - 1 : 0;
  bool partial = false;
  // If-Range (RFC 9110 13.1.5): a range only when the validator still matches, else the whole file.
  const bool range_allowed = request.if_range.empty() || !options.honour_if_range || request.if_range == validator;
  if (options.honour_range && range_allowed && request.range.starts_with("bytes=")) {
    const std::string spec = request.range.substr(6);
    const size_t dash = spec.find('-');
    first = std::stoull(spec.substr(0, dash));
    if (dash + 1 < spec.size()) last = std::min<uint64_t>(std::stoull(spec.substr(dash + 1)), last);
    if (first >= bytes.size()) {
      sendAll(fd, "HTTP/1.1 416 Range Not Satisfiable\r\n" + validator_header + "Content-Range: bytes */" +
                      std::to_string(bytes.size()) + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
      return;
    }
    if (options.serve_from) first = std::min<uint64_t>(*options.serve_from, last);
    partial = true;
  }
  const uint64_t length = bytes.empty() ? 0 : last - first + 1;
  std::string response = partial ? "HTTP/1.1 206 Partial Content\r\n" : "HTTP/1.1 200 OK\r\n";
  response += checksum_headers + "Accept-Ranges: bytes\r\nContent-Type: application/octet-stream\r\n";
  response += "Content-Length: " + std::to_string(length) + "\r\n";
  if (partial) {
    response += "Content-Range: bytes " + std::to_string(first) + "-" + std::to_string(last) + "/" +
                std::to_string(bytes.size()) + "\r\n";
  }
  response += "Connection: close\r\n\r\n";
  if (!sendAll(fd, response) || request.method == "HEAD") return;

  std::string body = bytes.substr(first, length);
  if (options.corrupt_at && *options.corrupt_at >= first && *options.corrupt_at < first + length) {
    body[*options.corrupt_at - first] ^= 0x5a;
  }
  std::optional<uint64_t> cut;
  {
    std::lock_guard lock(m_mutex);
    cut = m_options.cut_after;
    m_options.cut_after.reset();  // a cut applies to one body transfer only
  }
  uint64_t limit = body.size();
  if (cut) limit = std::min<uint64_t>(limit, *cut);
  constexpr size_t kChunk = 4096;
  for (uint64_t pos = 0; pos < limit && !m_stop; pos += kChunk) {
    if (!sendAll(fd, body.data() + pos, std::min<uint64_t>(kChunk, limit - pos))) return;
    if (options.slow_chunk_delay_ms) {
      std::this_thread::sleep_for(std::chrono::milliseconds(options.slow_chunk_delay_ms));
    }
  }
  // Returning closes the socket; with a cut, the client sees fewer bytes than Content-Length.
}

uint16_t closedLoopbackPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace tokenfab::test
