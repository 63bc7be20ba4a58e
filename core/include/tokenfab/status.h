// Status and Result<T>: how every fallible call in tokenfab reports failure.
// No exceptions cross module boundaries; input from files, users or drivers never aborts.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace tokenfab {

// One enum for the whole engine so a test can assert the exact reason for a failure.
// Append new codes at the end of a section; never renumber (they appear in JSON output).
enum class Code : int {
  kOk = 0,
  // general
  kInvalidArgument = 1,
  kNotFound = 2,
  kIoError = 3,
  kOutOfRange = 4,
  kUnsupported = 5,
  kCancelled = 6,
  kInternal = 7,
  kOutOfMemory = 8,
  kCorruptData = 9,
  kLimitExceeded = 10,
  kAlreadyExists = 11,
  kNetworkError = 12,
  kChecksumMismatch = 13,

  // GGUF parsing (gguf)
  kGgufTruncated = 100,          // the file ends inside a structure
  kGgufBadMagic = 101,           // first four bytes are not "GGUF"
  kGgufBigEndian = 102,          // version field reads as a byte-swapped small number
  kGgufUnsupportedVersion = 103, // not v2 or v3
  kGgufBadValueType = 104,       // metadata value type outside the enum
  kGgufStringTooLong = 105,      // string length exceeds the bytes left in the file
  kGgufArrayTooLong = 106,       // array element count exceeds the bytes left in the file
  kGgufNestingTooDeep = 107,     // arrays of arrays nested beyond the limit
  kGgufDuplicateKey = 108,
  kGgufDuplicateTensor = 109,
  kGgufTooManyDims = 110,        // n_dims > 4
  kGgufBadDimension = 111,       // a zero/negative dimension or an element count that overflows
  kGgufBadTensorType = 112,      // tensor type id unknown to ggml
  kGgufBadAlignment = 113,       // general.alignment not a power of two / wrong type
  kGgufMisalignedTensor = 114,   // tensor offset not a multiple of the alignment
  kGgufTensorOutOfBounds = 115,  // tensor data extends past the end of the file
  kGgufTooManyTensors = 116,     // tensor count larger than the file could hold
  kGgufTooManyKeys = 117,        // key/value count larger than the file could hold
  kGgufBadRowSize = 118,         // ne[0] not a multiple of the type's block size
  kGgufOverlappingTensors = 119, // two tensors share bytes
  kGgufBadKey = 120,             // empty key or invalid UTF-8 in a key
  kGgufWrongValueType = 121,     // a known key holds a value of the wrong type
  kGgufEmptyName = 122,          // empty tensor name
  kGgufMetadataTooLarge = 123,   // parsed metadata would exceed the per-file memory budget

  // Vulkan runtime (vk)
  kVkNoDevice = 200,
  kVkMissingFeature = 201,
  kVkDeviceLost = 202,
  kVkOutOfDeviceMemory = 203,
  kVkError = 204,

  // tokenizer and chat templates
  kTokenizerBadVocab = 300,
  kTokenizerUnknownModel = 301,
  kTokenizerUnknownPre = 302,
  kTemplateSyntax = 310,
  kTemplateRuntime = 311,
  kTemplateRaised = 312,         // raise_exception() called by the template
  kTemplateLimit = 313,          // loop/output/recursion bound hit

  // model
  kModelUnsupportedArch = 400,
  kModelMissingTensor = 401,
  kModelBadShape = 402,
  kModelBadHyperParams = 403,
  kModelContextTooLarge = 404,
  kModelPromptTooLong = 405,
  kModelNotAModel = 406,

  // sessions, traces
  kSessionCorrupt = 500,
  kSessionVersion = 501,
};

std::string_view codeName(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message, std::optional<uint64_t> offset = std::nullopt)
      : m_code(code), m_message(std::move(message)), m_offset(offset) {}

  static Status ok() { return {}; }

  bool isOk() const { return m_code == Code::kOk; }
  explicit operator bool() const { return isOk(); }
  Code code() const { return m_code; }
  const std::string& message() const { return m_message; }
  // Byte offset into the input where the problem was found (parse errors only).
  std::optional<uint64_t> offset() const { return m_offset; }

  // "kGgufTruncated at byte 123: ..." — for logs, the CLI and the GUI.
  std::string toString() const;

  // Prefix context: "loading vocab: " + message. Keeps code and offset.
  Status withContext(std::string_view context) const;

 private:
  Code m_code = Code::kOk;
  std::string m_message;
  std::optional<uint64_t> m_offset;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : m_data(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : m_data(std::move(status)) {}  // NOLINT: must be an error status

  bool isOk() const { return std::holds_alternative<T>(m_data); }
  explicit operator bool() const { return isOk(); }

  const Status& status() const {
    static const Status kOkStatus;
    return isOk() ? kOkStatus : std::get<Status>(m_data);
  }
  T& value() & { return std::get<T>(m_data); }
  const T& value() const& { return std::get<T>(m_data); }
  T&& value() && { return std::get<T>(std::move(m_data)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> m_data;
};

}  // namespace tokenfab

// Propagate a failed Status / Result from the enclosing function.
#define TF_RETURN_IF_ERROR(expr)                        \
  do {                                                  \
    ::tokenfab::Status tf_status_ = (expr);             \
    if (!tf_status_.isOk()) return tf_status_;          \
  } while (0)

#define TF_CONCAT_INNER(a, b) a##b
#define TF_CONCAT(a, b) TF_CONCAT_INNER(a, b)
// TF_ASSIGN_OR_RETURN(auto x, makeX()); declares x from the Result's value or returns its Status.
#define TF_ASSIGN_OR_RETURN(lhs, expr) TF_ASSIGN_OR_RETURN_IMPL(TF_CONCAT(tf_result_, __LINE__), lhs, expr)
#define TF_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.isOk()) return tmp.status();          \
  lhs = std::move(tmp).value()
