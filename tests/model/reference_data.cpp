#include "reference_data.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace tokenfab::test {

std::vector<int32_t> LogitCase::fedTokens() const {
  std::vector<int32_t> out = tokens;
  out.insert(out.end(), greedy.begin(), greedy.end());
  return out;
}

namespace {

PositionRef readPosition(const nlohmann::json& j) {
  PositionRef p;
  p.lse = j.at("lse").get<double>();
  for (const nlohmann::json& entry : j.at("top")) p.top.emplace_back(entry.at(0).get<int32_t>(), entry.at(1).get<double>());
  return p;
}

}  // namespace

bool readLogitReference(const std::filesystem::path& path, LogitReference& out, std::string& error) {
  std::ifstream in(path);
  if (!in) {
    error = "cannot open " + path.string();
    return false;
  }
  nlohmann::json j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    error = "invalid JSON in " + path.string();
    return false;
  }
  try {
    out.model = j.at("model").get<std::string>();
    out.n_vocab = j.at("n_vocab").get<int32_t>();
    for (const nlohmann::json& c : j.at("cases")) {
      LogitCase lc;
      lc.prompt = c.at("prompt").get<std::string>();
      lc.tokens = c.at("tokens").get<std::vector<int32_t>>();
      lc.greedy = c.at("greedy").get<std::vector<int32_t>>();
      for (const nlohmann::json& p : c.at("prompt_logits")) lc.logits.push_back(readPosition(p));
      for (const nlohmann::json& p : c.at("greedy_logits")) lc.logits.push_back(readPosition(p));
      if (lc.logits.size() != lc.tokens.size() + lc.greedy.size()) {
        error = path.string() + ": case '" + lc.prompt + "' has " + std::to_string(lc.logits.size()) +
                " logit entries for " + std::to_string(lc.tokens.size() + lc.greedy.size()) + " tokens";
        return false;
      }
      out.cases.push_back(std::move(lc));
    }
  } catch (const nlohmann::json::exception& e) {
    error = path.string() + ": " + e.what();
    return false;
  }
  return true;
}

bool readGreedyCases(const std::filesystem::path& path, std::vector<GreedyCase>& out, std::string& error) {
  std::ifstream in(path);
  if (!in) {
    error = "cannot open " + path.string();
    return false;
  }
  std::string line;
  std::string title;
  while (std::getline(in, line)) {
    if (line.rfind("## ", 0) == 0) {
      title = line.substr(3);
    } else if (line.rfind("ids (", 0) == 0) {
      const size_t colon = line.find("):");
      if (colon == std::string::npos) {
        error = "malformed ids line: " + line;
        return false;
      }
      const size_t count = std::stoul(line.substr(5, colon - 5));
      GreedyCase gc;
      gc.title = title;
      std::istringstream ids(line.substr(colon + 2));
      int32_t id = 0;
      while (ids >> id) gc.ids.push_back(id);
      if (gc.ids.size() != count) {
        error = "case '" + title + "' announces " + std::to_string(count) + " ids but lists " +
                std::to_string(gc.ids.size());
        return false;
      }
      out.push_back(std::move(gc));
    }
  }
  if (out.empty()) {
    error = "no cases in " + path.string();
    return false;
  }
  return true;
}

}  // namespace tokenfab::test
