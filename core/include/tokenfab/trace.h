// Trace export: one JSON file per generation (schema: docs/trace.schema.json) and a CSV with one
// row per generated token. The JSON reader treats the file as hostile: anything malformed (nesting
// deeper than kMaxJsonDepth included) is kSessionCorrupt, a schema_version other than
// kTraceSchemaVersion is kSessionVersion. Text that is not valid UTF-8 (a byte-fallback token,
// half a character) is stored as {"hex": ...} and read back byte for byte (json_text.h).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "tokenfab/sampling.h"
#include "tokenfab/status.h"

namespace tokenfab {

inline constexpr int32_t kTraceSchemaVersion = 1;

struct ModelIdentity {
  std::string name;        // general.name, or the file stem
  std::string file;        // file name as opened
  std::string sha256;      // hex, empty when not computed
  uint64_t size_bytes = 0;
  bool operator==(const ModelIdentity&) const = default;
};

struct Trace {
  int32_t schema_version = kTraceSchemaVersion;
  std::string created;     // ISO 8601 UTC, filled by the writer's caller
  ModelIdentity model;
  std::string device;      // e.g. "NVIDIA H100 (Vulkan 1.3)" or "cpu-reference"
  SamplerConfig settings;
  uint64_t seed = 0;       // the seed the SamplerChain actually used
  std::string prompt;
  std::vector<int32_t> prompt_tokens;
  std::vector<StepTrace> steps;
  bool operator==(const Trace&) const = default;
};

std::string traceToJson(const Trace& trace);
Result<Trace> traceFromJson(std::string_view text);
// The same from a parsed value (a trace inside a session file), without serialising it again.
Result<Trace> traceFromJsonValue(const nlohmann::json& value);
Status writeTraceJson(const std::filesystem::path& path, const Trace& trace);  // atomic
Result<Trace> readTraceJson(const std::filesystem::path& path);

// position,token,text,chosen_prob,draw,raw_entropy_bits,final_entropy_bits,survivors,
// raw_logsumexp,tail_mass,sampler_us — text quoted as RFC 4180 ("" inside).
std::string traceToCsv(const Trace& trace);
Status writeTraceCsv(const std::filesystem::path& path, const Trace& trace);  // atomic

}  // namespace tokenfab
