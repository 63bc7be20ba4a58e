// GgufStreamWriter: the same header as GgufWriter (one encoder, gguf_encode.cpp), tensor data
// pulled from a callback one tensor at a time and written straight to a temporary file (fsync,
// rename). Memory stays at the size of the pieces the callback hands over, whatever the size of
// the model.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>

#include "gguf/gguf_encode.h"
#include "tokenfab/gguf.h"

namespace tokenfab::gguf {
namespace {

using detail::padded;

Status ioError(const std::string& what, const std::filesystem::path& path, int err) {
  return Status(Code::kIoError, what + " '" + path.string() + "': " + std::strerror(err));
}

// The temporary file: every write checked, removed unless commit() renamed it.
class TempFile final : public GgufStreamWriter::Sink {
 public:
  ~TempFile() {
    if (m_fd >= 0) ::close(m_fd);
    if (!m_committed && !m_path.empty()) ::unlink(m_path.c_str());
  }

  Status create(const std::filesystem::path& target) {
    static std::atomic<uint64_t> counter{0};
    m_path = target;
    m_path += ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter.fetch_add(1));
    m_fd = ::open(m_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (m_fd < 0) {
      const int err = errno;
      const std::filesystem::path failed = m_path;
      m_path.clear();  // nothing to remove
      return ioError("cannot create", failed, err);
    }
    return Status::ok();
  }

  // Counts the bytes of the current tensor so a fill that writes too much is caught at once.
  void beginTensor(uint64_t expected) {
    m_expected = expected;
    m_written = 0;
  }
  uint64_t writtenInTensor() const { return m_written; }

  Status write(std::span<const uint8_t> bytes) override {
    TF_RETURN_IF_ERROR(count(bytes.size()));
    return writeRaw(bytes);
  }

  Status writeZeros(uint64_t n) override {
    TF_RETURN_IF_ERROR(count(n));
    return skip(n);
  }

  // Leaves a hole; commit() sets the final length, so a hole at the end reads as zeros too.
  Status skip(uint64_t n) {
    if (n == 0) return Status::ok();
    if (::lseek(m_fd, static_cast<off_t>(n), SEEK_CUR) < 0) return ioError("cannot seek in", m_path, errno);
    m_size += n;
    return Status::ok();
  }

  Status writeRaw(std::span<const uint8_t> bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::write(m_fd, bytes.data() + done, bytes.size() - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        return ioError("cannot write", m_path, errno);
      }
      done += static_cast<size_t>(n);
    }
    m_size += bytes.size();
    return Status::ok();
  }

  Status commit(const std::filesystem::path& target) {
    if (::ftruncate(m_fd, static_cast<off_t>(m_size)) != 0)
      return ioError("cannot set the size of", m_path, errno);
    if (::fsync(m_fd) != 0) return ioError("cannot sync", m_path, errno);
    const int fd = m_fd;
    m_fd = -1;
    if (::close(fd) != 0) return ioError("cannot close", m_path, errno);
    if (::rename(m_path.c_str(), target.c_str()) != 0) return ioError("cannot rename onto", target, errno);
    m_committed = true;
    std::filesystem::path dir = target.parent_path();
    if (dir.empty()) dir = ".";
    // Make the rename durable; failure here is not fatal (the data is in place).
    const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd >= 0) {
      ::fsync(dir_fd);
      ::close(dir_fd);
    }
    return Status::ok();
  }

 private:
  std::filesystem::path m_path;
  int m_fd = -1;
  bool m_committed = false;
  uint64_t m_size = 0;  // bytes of the file so far (holes included)
  uint64_t m_expected = 0;
  uint64_t m_written = 0;

  Status count(uint64_t n) {
    if (n > m_expected - m_written)
      return Status(Code::kInvalidArgument, "the fill wrote more bytes than the tensor holds (" +
                                                std::to_string(m_written + n) + " > " +
                                                std::to_string(m_expected) + ")");
    m_written += n;
    return Status::ok();
  }
};

}  // namespace

GgufStreamWriter::GgufStreamWriter(uint32_t version) : m_version(version) {}

void GgufStreamWriter::setAlignment(uint64_t alignment) { m_alignment = alignment; }

void GgufStreamWriter::set(std::string key, Value value) {
  detail::setKey(m_kv, std::move(key), std::move(value));
}

Status GgufStreamWriter::addTensor(std::string name, TensorType type, std::vector<uint64_t> ne) {
  for (const Planned& p : m_tensors)
    if (p.name == name) return Status(Code::kAlreadyExists, "tensor '" + name + "' added twice");
  TF_ASSIGN_OR_RETURN(const uint64_t bytes, detail::tensorBytes(name, type, ne));
  m_tensors.push_back({std::move(name), type, std::move(ne), bytes});
  return Status::ok();
}

Result<std::vector<uint8_t>> GgufStreamWriter::headerBytes() const {
  std::vector<detail::TensorPlan> plans;
  plans.reserve(m_tensors.size());
  for (const Planned& t : m_tensors) plans.push_back({t.name, t.type, t.ne, t.n_bytes});
  detail::ByteSink sink;
  TF_RETURN_IF_ERROR(detail::encodeHeader(sink, m_version, m_alignment, m_kv, plans));
  return sink.take();
}

Result<uint64_t> GgufStreamWriter::fileSize() const {
  TF_ASSIGN_OR_RETURN(std::vector<uint8_t> header, headerBytes());
  uint64_t total = header.size();
  // Every tensor is padded to the alignment, the last one too (as GgufWriter and ggml write it).
  for (const Planned& t : m_tensors) total += padded(t.n_bytes, m_alignment);
  return total;
}

Status GgufStreamWriter::writeFile(const std::filesystem::path& path, const FillFn& fill) const {
  if (path.filename().empty())
    return Status(Code::kInvalidArgument, "no file name in '" + path.string() + "'");
  TF_ASSIGN_OR_RETURN(std::vector<uint8_t> header, headerBytes());
  uint64_t total = header.size();
  for (const Planned& t : m_tensors) total += padded(t.n_bytes, m_alignment);

  std::filesystem::path dir = path.parent_path();
  if (dir.empty()) dir = ".";
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec))
    return Status(Code::kIoError,
                  "cannot write '" + path.string() + "': folder '" + dir.string() + "' does not exist");
  const std::filesystem::space_info space = std::filesystem::space(dir, ec);
  if (!ec && space.available < total) {
    auto mib = [](uint64_t b) { return std::to_string((b + (1u << 20) - 1) >> 20); };
    return Status(Code::kIoError, "not enough disk space in '" + dir.string() + "': the file needs " +
                                      mib(total) + " MiB, " + mib(space.available) + " MiB are free");
  }

  TempFile file;
  TF_RETURN_IF_ERROR(file.create(path));
  TF_RETURN_IF_ERROR(file.writeRaw(header));
  for (size_t i = 0; i < m_tensors.size(); ++i) {
    const Planned& t = m_tensors[i];
    file.beginTensor(t.n_bytes);
    TF_RETURN_IF_ERROR(fill(i, file).withContext("tensor " + t.name));
    if (file.writtenInTensor() != t.n_bytes)
      return Status(Code::kInvalidArgument, "tensor " + t.name + ": the fill wrote " +
                                                std::to_string(file.writtenInTensor()) + " of " +
                                                std::to_string(t.n_bytes) + " bytes");
    TF_RETURN_IF_ERROR(file.skip(padded(t.n_bytes, m_alignment) - t.n_bytes));
  }
  return file.commit(path);
}

}  // namespace tokenfab::gguf
