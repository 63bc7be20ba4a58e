#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "tokenfab/file_util.h"

namespace tokenfab {

Result<MappedFile> MappedFile::open(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    const Code code = (err == ENOENT) ? Code::kNotFound : Code::kIoError;
    return Status(code, "cannot open '" + path.string() + "': " + std::strerror(err));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return Status(Code::kIoError, "cannot stat '" + path.string() + "': " + std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    std::string message = path.string();  // appended, not "'" + string: GCC 12 warns falsely (-Wrestrict)
    message.insert(message.begin(), '\'');
    message += "' is not a regular file";
    return Status(Code::kIoError, message);
  }
  MappedFile file;
  file.m_size = static_cast<size_t>(st.st_size);
  if (file.m_size > 0) {
    void* addr = ::mmap(nullptr, file.m_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (addr == MAP_FAILED) {
      const int err = errno;
      ::close(fd);
      return Status(Code::kIoError, "cannot map '" + path.string() + "': " + std::strerror(err));
    }
    file.m_data = static_cast<const uint8_t*>(addr);
  }
  ::close(fd);  // the mapping keeps the file alive
  return file;
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : m_data(std::exchange(other.m_data, nullptr)), m_size(std::exchange(other.m_size, 0)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    reset();
    m_data = std::exchange(other.m_data, nullptr);
    m_size = std::exchange(other.m_size, 0);
  }
  return *this;
}

MappedFile::~MappedFile() { reset(); }

void MappedFile::reset() {
  if (m_data != nullptr) ::munmap(const_cast<uint8_t*>(m_data), m_size);
  m_data = nullptr;
  m_size = 0;
}

}  // namespace tokenfab
