// PartLock and the validator sidecar (part_file.h).
#ifndef _WIN32
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>
#endif

#include <cerrno>
#include <cstring>
#include <fstream>

#include "download/part_file.h"
#include "tokenfab/file_util.h"

namespace tokenfab::download {
namespace {

constexpr std::string_view kEtagLine = "etag ";
constexpr std::string_view kLastModifiedLine = "last-modified ";

}  // namespace

PartLock::~PartLock() {
#ifndef _WIN32
  if (m_fd >= 0) ::close(m_fd);  // releases the lock
#endif
}

Status PartLock::acquire(const std::filesystem::path& part) {
#ifndef _WIN32
  m_fd = ::open(part.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (m_fd < 0) {
    return Status(Code::kIoError, "cannot create " + part.string() + ": " + std::strerror(errno));
  }
  if (::flock(m_fd, LOCK_EX | LOCK_NB) != 0) {
    return Status(Code::kAlreadyExists, "another download of " + part.filename().string() + " is running");
  }
#else
  (void)part;
#endif
  return Status::ok();
}

void PartLock::startWriteback(uint64_t from, uint64_t length) {
#ifdef __linux__
  if (m_fd >= 0) ::sync_file_range(m_fd, off64_t(from), off64_t(length), SYNC_FILE_RANGE_WRITE);
#else
  (void)from;
  (void)length;
#endif
}

Status PartLock::sync() {
#ifndef _WIN32
  if (m_fd >= 0 && ::fsync(m_fd) != 0) {
    return Status(Code::kIoError, std::string("fsync failed: ") + std::strerror(errno));
  }
#endif
  return Status::ok();
}

std::filesystem::path validatorPath(const std::filesystem::path& part) {
  std::filesystem::path path = part;
  path += ".validator";
  return path;
}

Validator readValidator(const std::filesystem::path& part) {
  std::ifstream in(validatorPath(part), std::ios::binary);
  std::string line;
  if (!in || !std::getline(in, line) || line.size() > 4096) return {};
  if (line.starts_with(kEtagLine) && line.size() > kEtagLine.size()) {
    return {Validator::Kind::kEtag, line.substr(kEtagLine.size())};
  }
  if (line.starts_with(kLastModifiedLine) && line.size() > kLastModifiedLine.size()) {
    return {Validator::Kind::kLastModified, line.substr(kLastModifiedLine.size())};
  }
  return {};
}

Status writeValidator(const std::filesystem::path& part, const Validator& validator) {
  const std::filesystem::path path = validatorPath(part);
  if (validator.kind == Validator::Kind::kNone || validator.value.find('\n') != std::string::npos) {
    removeQuietly(path);
    return Status::ok();
  }
  const std::string_view kind = validator.kind == Validator::Kind::kEtag ? kEtagLine : kLastModifiedLine;
  return writeFileAtomic(path, std::string(kind) + validator.value + "\n");
}

void removeQuietly(const std::filesystem::path& path) {
  std::error_code ec;
  std::filesystem::remove(path, ec);
}

}  // namespace tokenfab::download
