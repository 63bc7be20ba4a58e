// The conversation tree: each Turn is one user message (or completion prompt) and the reply that
// was generated for it. Siblings are alternatives (regenerate, edit-and-resend, branch from a
// candidate); the active path picks one child at every level. Pure data, GUI thread only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gui_types.h"
#include "tokenfab/sampling.h"
#include "tokenfab/status.h"

namespace tokenfab::gui {

inline constexpr int32_t kSessionFileVersion = 1;

struct Turn {
  int parent = -1;
  std::string user;              // the user's message, or the completion prompt text
  std::vector<int32_t> context;  // tokens the session held before the first step
  std::vector<TokenStep> steps;
  SamplerConfig settings;  // what this reply was generated with
  uint64_t seed = 0;
  std::vector<int> children;
  int active_child = -1;

  std::string reply() const;
  // The sampler's history for step `step`: context + the tokens of steps[0, step).
  std::vector<int32_t> history(size_t step) const;
  // Every token in the session after this turn (an end-of-generation token is not fed).
  std::vector<int32_t> tokensAfter(const std::vector<int32_t>& eog_ids) const;
};

class Conversation {
 public:
  std::string system_prompt;
  bool chat_mode = false;
  std::string model_name;

  void clear();
  int size() const { return int(m_turns.size()); }
  bool empty() const { return m_turns.empty(); }
  Turn& turn(int index) { return m_turns.at(size_t(index)); }
  const Turn& turn(int index) const { return m_turns.at(size_t(index)); }

  // Appends a turn under `parent` (-1: a new root) and makes it active.
  int addTurn(int parent, std::string user);
  // Makes `index` part of the active path (its ancestors point to it).
  void select(int index);
  std::vector<int> activePath() const;  // root first; follows active_child down to a leaf
  int leaf() const;                     // -1 when empty
  std::vector<int> siblings(int index) const;  // alternatives including index itself

  std::string toJson() const;
  // Hostile input: anything malformed is kSessionCorrupt, another version kSessionVersion.
  static Result<Conversation> fromJson(std::string_view text);
  Status save(const std::string& path) const;
  static Result<Conversation> load(const std::string& path);

 private:
  std::vector<Turn> m_turns;
  std::vector<int> m_roots;
  int m_active_root = -1;
};

}  // namespace tokenfab::gui
