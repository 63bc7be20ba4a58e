// GgufStreamWriter: the same header as GgufWriter, tensor data pulled from a callback one tensor
// at a time and written straight to a temporary file (fsync, rename). Memory stays at the size
// of the pieces the callback hands over, whatever the size of the model.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>

#include "tokenfab/gguf.h"

namespace tokenfab::gguf {
namespace {

class HeaderSink {
 public:
  template <typename T>
  void put(T v) {
    const size_t at = m_out.size();
    m_out.resize(at + sizeof(T));
    std::memcpy(m_out.data() + at, &v, sizeof(T));
  }
  void putString(const std::string& s) {
    put<uint64_t>(s.size());
    m_out.insert(m_out.end(), s.begin(), s.end());
  }
  void padTo(uint64_t alignment) {
    const size_t rem = m_out.size() % alignment;
    if (rem != 0) m_out.resize(m_out.size() + (alignment - rem), 0);
  }
  std::vector<uint8_t> take() { return std::move(m_out); }

 private:
  std::vector<uint8_t> m_out;
};

Status putValue(HeaderSink& sink, const Value& v) {
  switch (v.type()) {
    case ValueType::kUint8:
      sink.put<uint8_t>(static_cast<uint8_t>(*v.toUint()));
      return {};
    case ValueType::kUint16:
      sink.put<uint16_t>(static_cast<uint16_t>(*v.toUint()));
      return {};
    case ValueType::kUint32:
      sink.put<uint32_t>(static_cast<uint32_t>(*v.toUint()));
      return {};
    case ValueType::kUint64:
      sink.put<uint64_t>(*v.toUint());
      return {};
    case ValueType::kInt8:
      sink.put<int8_t>(static_cast<int8_t>(*v.toInt()));
      return {};
    case ValueType::kInt16:
      sink.put<int16_t>(static_cast<int16_t>(*v.toInt()));
      return {};
    case ValueType::kInt32:
      sink.put<int32_t>(static_cast<int32_t>(*v.toInt()));
      return {};
    case ValueType::kInt64:
      sink.put<int64_t>(*v.toInt());
      return {};
    case ValueType::kFloat32:
      sink.put<float>(static_cast<float>(*v.toDouble()));
      return {};
    case ValueType::kFloat64:
      sink.put<double>(*v.toDouble());
      return {};
    case ValueType::kBool:
      sink.put<uint8_t>(*v.toBool() ? 1 : 0);
      return {};
    case ValueType::kString:
      sink.putString(*v.asString());
      return {};
    case ValueType::kArray: {
      const Value::Array* arr = v.asArray();
      sink.put<uint32_t>(static_cast<uint32_t>(arr->element_type));
      sink.put<uint64_t>(arr->items.size());
      for (const Value& item : arr->items) {
        if (item.type() != arr->element_type)
          return Status(Code::kInvalidArgument, "array of " + std::string(valueTypeName(arr->element_type)) +
                                                    " holds a " + std::string(valueTypeName(item.type())));
        TF_RETURN_IF_ERROR(putValue(sink, item));
      }
      return {};
    }
  }
  return Status(Code::kInvalidArgument, "value has an unknown type");
}

uint64_t padded(uint64_t n, uint64_t alignment) { return (n + alignment - 1) / alignment * alignment; }

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
  for (auto& [k, v] : m_kv) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  m_kv.emplace_back(std::move(key), std::move(value));
}

Status GgufStreamWriter::addTensor(std::string name, TensorType type, std::vector<uint64_t> ne) {
  if (name.empty()) return Status(Code::kInvalidArgument, "tensor name is empty");
  for (const Planned& p : m_tensors)
    if (p.name == name) return Status(Code::kAlreadyExists, "tensor '" + name + "' added twice");
  const TypeTraits* traits = typeTraits(type);
  if (traits == nullptr) return Status(Code::kInvalidArgument, "tensor '" + name + "' has an unknown type");
  if (ne.empty() || ne.size() > 4)
    return Status(Code::kInvalidArgument, "tensor '" + name + "' must have 1 to 4 dimensions");
  uint64_t n = 1;
  for (uint64_t d : ne) {
    if (d == 0 || __builtin_mul_overflow(n, d, &n))
      return Status(Code::kInvalidArgument, "tensor '" + name + "' has a zero or overflowing dimension");
  }
  if (ne[0] % traits->block_size != 0)
    return Status(Code::kInvalidArgument,
                  "tensor '" + name + "' row length is not a multiple of the block size");
  const uint64_t bytes = n / traits->block_size * traits->type_size;
  m_tensors.push_back({std::move(name), type, std::move(ne), bytes});
  return Status::ok();
}

Result<std::vector<uint8_t>> GgufStreamWriter::headerBytes() const {
  if (m_version != 2 && m_version != 3)
    return Status(Code::kInvalidArgument, "can only write GGUF v2 or v3, not v" + std::to_string(m_version));
  if (m_alignment == 0 || (m_alignment & (m_alignment - 1)) != 0 || m_alignment > UINT32_MAX)
    return Status(Code::kInvalidArgument,
                  "alignment " + std::to_string(m_alignment) + " is not a u32 power of two");
  bool has_alignment_key = false;
  for (const auto& kv : m_kv) has_alignment_key |= kv.first == "general.alignment";
  const bool add_alignment_key = m_alignment != 32 && !has_alignment_key;

  HeaderSink sink;
  for (char c : {'G', 'G', 'U', 'F'}) sink.put<uint8_t>(static_cast<uint8_t>(c));
  sink.put<uint32_t>(m_version);
  sink.put<uint64_t>(m_tensors.size());
  sink.put<uint64_t>(m_kv.size() + (add_alignment_key ? 1 : 0));
  for (const auto& [key, value] : m_kv) {
    sink.putString(key);
    sink.put<uint32_t>(static_cast<uint32_t>(value.type()));
    TF_RETURN_IF_ERROR(putValue(sink, value).withContext("key '" + key + "'"));
  }
  if (add_alignment_key) {
    sink.putString("general.alignment");
    sink.put<uint32_t>(static_cast<uint32_t>(ValueType::kUint32));
    sink.put<uint32_t>(static_cast<uint32_t>(m_alignment));
  }
  uint64_t offset = 0;
  for (const Planned& t : m_tensors) {
    sink.putString(t.name);
    sink.put<uint32_t>(static_cast<uint32_t>(t.ne.size()));
    for (uint64_t d : t.ne) sink.put<uint64_t>(d);
    sink.put<uint32_t>(static_cast<uint32_t>(t.type));
    sink.put<uint64_t>(offset);
    offset += padded(t.n_bytes, m_alignment);
  }
  sink.padTo(m_alignment);
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
