#include "download/http_headers.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace tokenfab::download {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::optional<uint64_t> parseUint(std::string_view s) {
  s = trim(s);
  uint64_t value = 0;
  auto [end, err] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (err != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return value;
}

}  // namespace

std::string stripEtag(std::string_view value) {
  value = trim(value);
  if (value.starts_with("W/")) value.remove_prefix(2);
  if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
    value = value.substr(1, value.size() - 2);
  }
  return std::string(value);
}

bool isSha256Hex(std::string_view text) {
  return text.size() == 64 && std::all_of(text.begin(), text.end(), [](char c) {
           return std::isxdigit(static_cast<unsigned char>(c)) != 0;
         });
}

bool equalsIgnoreCaseHex(std::string_view a, std::string_view b) { return lower(a) == lower(b); }

void HubHeaders::feedLine(std::string_view line) {
  line = trim(line);
  if (line.starts_with("HTTP/")) {
    // A new response (the first, or one after a redirect): per-response fields start over.
    ++m_responses;
    m_status = 0;
    m_error_code.clear();
    m_content_length.reset();
    m_range_start.reset();
    m_range_total.reset();
    m_etag.clear();
    m_last_modified.clear();
    const size_t space = line.find(' ');
    if (space != std::string_view::npos) {
      const std::string_view rest = line.substr(space + 1);
      m_status = int(parseUint(rest.substr(0, rest.find(' '))).value_or(0));
    }
    return;
  }
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return;
  const std::string name = lower(trim(line.substr(0, colon)));
  const std::string_view value = trim(line.substr(colon + 1));
  if (name == "x-linked-size") {
    if (m_trusted_hop && !m_linked_size) m_linked_size = parseUint(value);
  } else if (name == "x-linked-etag") {
    if (m_trusted_hop && m_linked_etag.empty()) m_linked_etag = stripEtag(value);
  } else if (name == "etag") {
    m_etag = std::string(value);
    if (m_trusted_hop && m_responses == 1 && m_first_etag.empty()) m_first_etag = stripEtag(value);
  } else if (name == "last-modified") {
    m_last_modified = std::string(value);
  } else if (name == "x-error-code") {
    m_error_code = std::string(value);
  } else if (name == "content-length") {
    m_content_length = parseUint(value);
  } else if (name == "content-range") {
    // "bytes 100-199/200" or "bytes */200"
    const size_t slash = value.rfind('/');
    if (slash != std::string_view::npos) m_range_total = parseUint(value.substr(slash + 1));
    if (value.starts_with("bytes ")) {
      const std::string_view range = value.substr(6, slash == std::string_view::npos ? slash : slash - 6);
      const size_t dash = range.find('-');
      if (dash != std::string_view::npos) m_range_start = parseUint(range.substr(0, dash));
    }
  }
}

Validator HubHeaders::validator() const {
  // It is sent back in If-Range and kept on disk: printable ASCII of sane length only.
  auto usable = [](const std::string& v) {
    return !v.empty() && v.size() <= 1024 &&
           std::all_of(v.begin(), v.end(), [](char c) { return c >= 0x20 && c <= 0x7e; });
  };
  if (usable(m_etag) && !m_etag.starts_with("W/")) return {Validator::Kind::kEtag, m_etag};
  if (usable(m_last_modified)) return {Validator::Kind::kLastModified, m_last_modified};
  return {};
}

std::optional<uint64_t> HubHeaders::totalSize(uint64_t resumed_from) const {
  if (m_linked_size) return m_linked_size;
  if (m_range_total) return m_range_total;
  if (m_content_length) return *m_content_length + (m_status == 206 ? resumed_from : 0);
  return std::nullopt;
}

std::string HubHeaders::sha256() const {
  if (isSha256Hex(m_linked_etag)) return lower(m_linked_etag);
  if (isSha256Hex(m_first_etag)) return lower(m_first_etag);
  return {};
}

}  // namespace tokenfab::download
