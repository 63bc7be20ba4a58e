// JSON files tokenfab writes and reads back (traces, sessions): bounded nesting on read, and a
// lossless encoding for text that is not valid UTF-8.
//
// Text encoding: a string that is valid UTF-8 is written as a JSON string; any other byte string
// (a byte-fallback token such as <0xE2>, half of a multi-byte character) is written as the object
// {"hex": "<two lower-case hex digits per byte>"}. Readers accept both forms (files written
// before the object form existed hold only strings), so every byte string round-trips exactly.
//
// Nesting: nlohmann::json parses iteratively, but copying, comparing and dumping a parsed value
// recurse once per level, so a hostile file of a million '[' would overflow the stack later.
// parseJsonBounded() scans the raw text for the nesting depth first and refuses anything deeper
// than the limit before a tree exists (a parser callback cannot stop the parse without an
// exception and still builds the tree up to the point of refusal).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "tokenfab/status.h"

namespace tokenfab {

// Deeper than any file tokenfab writes (a session file nests 9 levels).
inline constexpr size_t kMaxJsonDepth = 64;

// Strict UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF), as JSON requires.
bool isValidUtf8(std::string_view bytes);
std::string hexEncode(std::string_view bytes);
// nullopt unless `hex` is an even number of hex digits (either case).
std::optional<std::string> hexDecode(std::string_view hex);

// `code` with "JSON nested deeper than N levels at byte K" when the text nests deeper than
// `max_depth` arrays/objects (brackets inside strings do not count); ok otherwise. Linear, no
// recursion.
Status checkJsonDepth(std::string_view text, size_t max_depth, Code code);

// The JSON for a byte string (see the encoding above).
template <class Json>
Json textToJson(std::string_view bytes) {
  if (isValidUtf8(bytes)) return Json(std::string(bytes));
  Json object = Json::object();
  object["hex"] = hexEncode(bytes);
  return object;
}

// The byte string of a JSON string or {"hex": ...} object; nullopt for anything else.
template <class Json>
std::optional<std::string> textFromJson(const Json& value) {
  if (value.is_string()) return value.template get<std::string>();
  if (!value.is_object() || value.size() != 1) return std::nullopt;
  const auto hex = value.find("hex");
  if (hex == value.end() || !hex->is_string()) return std::nullopt;
  return hexDecode(hex->template get_ref<const std::string&>());
}

// Parses `text` after checkJsonDepth(text, kMaxJsonDepth); every failure is `code` with a
// message starting with `what`.
template <class Json>
Result<Json> parseJsonBounded(std::string_view text, std::string_view what, Code code) {
  const Status depth = checkJsonDepth(text, kMaxJsonDepth, code);
  if (!depth.isOk()) return depth.withContext(std::string(what));
  Json value = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) return Status(code, std::string(what) + ": not valid JSON");
  return value;
}

}  // namespace tokenfab
