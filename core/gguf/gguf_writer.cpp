// GGUF writer: the header (gguf_encode.cpp), then the tensor data, each padded to the alignment.
#include "gguf/gguf_encode.h"
#include "tokenfab/file_util.h"
#include "tokenfab/gguf.h"

namespace tokenfab::gguf {

GgufWriter::GgufWriter(uint32_t version) : m_version(version) {}

void GgufWriter::setAlignment(uint64_t alignment) { m_alignment = alignment; }

void GgufWriter::set(std::string key, Value value) { detail::setKey(m_kv, std::move(key), std::move(value)); }

Status GgufWriter::addTensor(std::string name, TensorType type, std::vector<uint64_t> ne,
                             std::vector<uint8_t> data) {
  for (const Pending& p : m_tensors)
    if (p.name == name) return Status(Code::kAlreadyExists, "tensor '" + name + "' added twice");
  TF_ASSIGN_OR_RETURN(const uint64_t bytes, detail::tensorBytes(name, type, ne));
  if (data.size() != bytes)
    return Status(Code::kInvalidArgument, "tensor '" + name + "' needs " + std::to_string(bytes) +
                                              " bytes, got " + std::to_string(data.size()));
  m_tensors.push_back({std::move(name), type, std::move(ne), std::move(data)});
  return Status::ok();
}

Result<std::vector<uint8_t>> GgufWriter::toBytes() const {
  std::vector<detail::TensorPlan> plans;
  plans.reserve(m_tensors.size());
  for (const Pending& t : m_tensors) plans.push_back({t.name, t.type, t.ne, t.data.size()});
  detail::ByteSink sink;
  TF_RETURN_IF_ERROR(detail::encodeHeader(sink, m_version, m_alignment, m_kv, plans));
  // Every tensor is padded to the alignment, the last one too (as ggml writes it).
  for (const Pending& t : m_tensors) {
    sink.putBytes(t.data);
    sink.padTo(m_alignment);
  }
  return sink.take();
}

Status GgufWriter::writeFile(const std::filesystem::path& path) const {
  TF_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, toBytes());
  return writeFileAtomic(path, std::span<const uint8_t>(bytes));
}

}  // namespace tokenfab::gguf
