#include "conversation.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "tokenfab/file_util.h"
#include "tokenfab/json_text.h"
#include "tokenfab/trace.h"

namespace tokenfab::gui {

namespace {

using Json = nlohmann::ordered_json;  // writing: fields in a readable order
using ReadJson = nlohmann::json;      // reading: what traceFromJson takes, order does not matter

Status corrupt(const std::string& what) { return Status(Code::kSessionCorrupt, "session file: " + what); }

}  // namespace

std::string Turn::reply() const {
  std::string text;
  for (const TokenStep& step : steps) text += step.text;
  return text;
}

std::vector<int32_t> Turn::history(size_t step) const {
  std::vector<int32_t> tokens = context;
  for (size_t i = 0; i < step && i < steps.size(); ++i) tokens.push_back(steps[i].trace.token);
  return tokens;
}

std::vector<int32_t> Turn::tokensAfter(const std::vector<int32_t>& eog_ids) const {
  std::vector<int32_t> tokens = context;
  for (const TokenStep& step : steps) {
    const bool eog = std::find(eog_ids.begin(), eog_ids.end(), step.trace.token) != eog_ids.end();
    if (!eog) tokens.push_back(step.trace.token);
  }
  return tokens;
}

void Conversation::clear() {
  m_turns.clear();
  m_roots.clear();
  m_active_root = -1;
}

int Conversation::addTurn(int parent, std::string user) {
  Turn turn;
  turn.parent = parent;
  turn.user = std::move(user);
  const int index = int(m_turns.size());
  m_turns.push_back(std::move(turn));
  if (parent < 0) {
    m_roots.push_back(index);
  } else {
    m_turns[size_t(parent)].children.push_back(index);
  }
  select(index);
  return index;
}

void Conversation::select(int index) {
  if (index < 0 || index >= size()) return;
  int child = index;
  int parent = m_turns[size_t(index)].parent;
  while (parent >= 0) {
    m_turns[size_t(parent)].active_child = child;
    child = parent;
    parent = m_turns[size_t(parent)].parent;
  }
  m_active_root = child;
}

std::vector<int> Conversation::activePath() const {
  std::vector<int> path;
  int index = m_active_root;
  while (index >= 0 && index < size() && path.size() <= m_turns.size()) {
    path.push_back(index);
    index = m_turns[size_t(index)].active_child;
  }
  return path;
}

int Conversation::leaf() const {
  const auto path = activePath();
  return path.empty() ? -1 : path.back();
}

std::vector<int> Conversation::siblings(int index) const {
  if (index < 0 || index >= size()) return {};
  const int parent = m_turns[size_t(index)].parent;
  return parent < 0 ? m_roots : m_turns[size_t(parent)].children;
}

std::string Conversation::toJson() const {
  Json root = Json::object();
  root["format"] = "tokenfab-session";
  root["version"] = kSessionFileVersion;
  root["model"] = textToJson<Json>(model_name);
  root["system_prompt"] = textToJson<Json>(system_prompt);
  root["chat_mode"] = chat_mode;
  root["active_root"] = m_active_root;
  Json turns = Json::array();
  for (const Turn& turn : m_turns) {
    // Settings, seed, context and step traces go through the trace schema (docs/trace.schema.json).
    Trace trace;
    trace.settings = turn.settings;
    trace.seed = turn.seed;
    trace.prompt = turn.user;
    trace.prompt_tokens = turn.context;
    Json texts = Json::array();
    Json forced = Json::array();
    for (const TokenStep& step : turn.steps) {
      trace.steps.push_back(step.trace);
      texts.push_back(textToJson<Json>(step.text));
      forced.push_back(step.forced);
    }
    Json item = Json::object();
    item["parent"] = turn.parent;
    item["active_child"] = turn.active_child;
    item["user"] = textToJson<Json>(turn.user);
    item["texts"] = std::move(texts);
    item["forced"] = std::move(forced);
    item["trace"] = Json::parse(traceToJson(trace));
    turns.push_back(std::move(item));
  }
  root["turns"] = std::move(turns);
  return root.dump(1);
}

Result<Conversation> Conversation::fromJson(std::string_view text) {
  // Bounded before anything is built: every later copy, comparison or dump of the tree recurses.
  Result<ReadJson> parsed = parseJsonBounded<ReadJson>(text, "session file", Code::kSessionCorrupt);
  if (!parsed) return parsed.status();
  const ReadJson& root = *parsed;
  if (!root.is_object()) return corrupt("not a JSON object");
  const auto format = root.find("format");
  if (format == root.end() || *format != ReadJson("tokenfab-session")) return corrupt("not a tokenfab session");
  const auto version = root.find("version");
  if (version == root.end() || !version->is_number_integer()) return corrupt("missing version");
  if (version->get<int64_t>() != kSessionFileVersion) {
    return Status(Code::kSessionVersion, "session file version " + version->dump() + " (this build reads " +
                                             std::to_string(kSessionFileVersion) + ")");
  }
  const auto turns_it = root.find("turns");
  if (turns_it == root.end() || !turns_it->is_array()) return corrupt("missing turns");
  const ReadJson& turns = *turns_it;
  Conversation conv;
  auto str = [&](const ReadJson& obj, const char* key) -> std::optional<std::string> {
    auto it = obj.find(key);
    if (it == obj.end()) return std::nullopt;
    return textFromJson(*it);
  };
  auto integer = [&](const ReadJson& obj, const char* key) -> std::optional<int64_t> {
    auto it = obj.find(key);
    if (it == obj.end() || !it->is_number_integer()) return std::nullopt;
    return it->get<int64_t>();
  };
  const auto system_prompt = str(root, "system_prompt");
  const auto model = str(root, "model");
  const auto active_root = integer(root, "active_root");
  auto chat_mode = root.find("chat_mode");
  if (!system_prompt || !model || !active_root || chat_mode == root.end() || !chat_mode->is_boolean()) {
    return corrupt("missing system_prompt, model, active_root or chat_mode");
  }
  conv.system_prompt = *system_prompt;
  conv.model_name = *model;
  conv.chat_mode = chat_mode->get<bool>();
  const int64_t n_turns = int64_t(turns.size());
  for (int64_t i = 0; i < n_turns; ++i) {
    const ReadJson& item = turns[size_t(i)];
    const std::string where = "turn " + std::to_string(i) + ": ";
    if (!item.is_object()) return corrupt(where + "not an object");
    const auto parent = integer(item, "parent");
    const auto active_child = integer(item, "active_child");
    const auto user = str(item, "user");
    if (!parent || !active_child || !user) return corrupt(where + "missing parent, active_child or user");
    // Parents come before children, so the tree cannot have cycles.
    if (*parent < -1 || *parent >= i) return corrupt(where + "parent out of range");
    if (*active_child < -1 || *active_child >= n_turns || (*active_child >= 0 && *active_child <= i)) {
      return corrupt(where + "active_child out of range");
    }
    auto trace_it = item.find("trace");
    if (trace_it == item.end() || !trace_it->is_object()) return corrupt(where + "missing trace");
    auto trace = traceFromJsonValue(*trace_it);
    if (!trace.isOk()) return corrupt(where + trace.status().message());
    const auto texts = item.find("texts");
    const auto forced = item.find("forced");
    if (texts == item.end() || forced == item.end() || !texts->is_array() || !forced->is_array() ||
        texts->size() != trace->steps.size() || forced->size() != trace->steps.size()) {
      return corrupt(where + "texts/forced do not match the steps");
    }
    Turn turn;
    turn.settings = trace->settings;
    turn.seed = trace->seed;
    turn.parent = int(*parent);
    turn.user = *user;
    turn.context = trace->prompt_tokens;
    for (size_t s = 0; s < trace->steps.size(); ++s) {
      std::optional<std::string> step_text = textFromJson((*texts)[s]);
      if (!step_text || !(*forced)[s].is_boolean()) return corrupt(where + "bad step text");
      TokenStep step;
      step.trace = std::move(trace->steps[s]);
      step.text = std::move(*step_text);
      step.forced = (*forced)[s].get<bool>();
      turn.steps.push_back(std::move(step));
    }
    const int index = int(conv.m_turns.size());
    conv.m_turns.push_back(std::move(turn));
    if (*parent < 0) {
      conv.m_roots.push_back(index);
    } else {
      conv.m_turns[size_t(*parent)].children.push_back(index);
    }
    conv.m_turns.back().active_child = int(*active_child);
  }
  for (const Turn& turn : conv.m_turns) {
    if (turn.active_child >= 0 && conv.m_turns[size_t(turn.active_child)].parent !=
                                      int(&turn - conv.m_turns.data())) {
      return corrupt("active_child is not a child");
    }
  }
  if (*active_root < -1 || *active_root >= n_turns || (*active_root >= 0 && conv.m_turns[size_t(*active_root)].parent != -1)) {
    return corrupt("active_root out of range");
  }
  if (*active_root < 0 && n_turns > 0) return corrupt("active_root missing");
  conv.m_active_root = int(*active_root);
  return conv;
}

Status Conversation::save(const std::string& path) const {
  std::string text;
  try {
    text = toJson();
  } catch (const std::exception& e) {  // nlohmann's or bad_alloc: the app and the old file stay
    return Status(Code::kInternal, std::string("cannot encode the session as JSON: ") + e.what());
  }
  return writeFileAtomic(path, std::string_view(text)).withContext("saving the session");
}

Result<Conversation> Conversation::load(const std::string& path) {
  Result<MappedFile> file = MappedFile::open(path);
  if (!file) return file.status().withContext("opening the session");
  const std::span<const uint8_t> bytes = file->bytes();
  return fromJson(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

}  // namespace tokenfab::gui
