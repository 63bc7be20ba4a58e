// tokenfab-cli: dispatches to the registered sub-commands.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "cli.h"

namespace tokenfab::cli {

std::vector<Command>& registry() {
  static std::vector<Command> commands;
  return commands;
}

Args::Args(std::span<const std::string> args) : m_rest(args.begin(), args.end()) {}

std::optional<std::string> Args::value(std::string_view name, std::string_view short_name) {
  for (size_t i = 0; i < m_rest.size(); ++i) {
    const std::string& a = m_rest[i];
    if (a == "--") break;
    if (a == name || (!short_name.empty() && a == short_name)) {
      if (i + 1 >= m_rest.size()) return std::nullopt;
      std::string v = m_rest[i + 1];
      m_rest.erase(m_rest.begin() + static_cast<long>(i), m_rest.begin() + static_cast<long>(i) + 2);
      return v;
    }
    if (a.size() > name.size() && a.compare(0, name.size(), name) == 0 && a[name.size()] == '=') {
      std::string v = a.substr(name.size() + 1);
      m_rest.erase(m_rest.begin() + static_cast<long>(i));
      return v;
    }
  }
  return std::nullopt;
}

bool Args::flag(std::string_view name, std::string_view short_name) {
  for (size_t i = 0; i < m_rest.size(); ++i) {
    if (m_rest[i] == "--") break;
    if (m_rest[i] == name || (!short_name.empty() && m_rest[i] == short_name)) {
      m_rest.erase(m_rest.begin() + static_cast<long>(i));
      return true;
    }
  }
  return false;
}

std::vector<std::string> Args::unknownOptions() const {
  std::vector<std::string> out;
  for (const std::string& a : m_rest) {
    if (a == "--") break;
    if (a.size() > 1 && a[0] == '-' && !(a.size() > 1 && (std::isdigit(static_cast<unsigned char>(a[1])) || a[1] == '.')))
      out.push_back(a);
  }
  return out;
}

std::vector<std::string> splitList(std::string_view s) {
  std::vector<std::string> parts;
  std::string cur;
  for (char c : s) {
    if (c == ',') {
      if (!cur.empty()) parts.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) parts.push_back(cur);
  return parts;
}

bool parseU32(const std::string& s, uint32_t* v) {
  if (s.empty() || s.size() > 9 || s.find_first_not_of("0123456789") != std::string::npos) return false;
  *v = static_cast<uint32_t>(std::stoul(s));
  return *v > 0;
}

int usageError(std::string_view message) {
  std::cerr << "tokenfab-cli: " << message << "\n";
  return kExitUsage;
}

int failure(std::string_view message) {
  std::cerr << "tokenfab-cli: " << message << "\n";
  return kExitFailure;
}

}  // namespace tokenfab::cli

namespace {
void printHelp() {
  using namespace tokenfab::cli;
  std::vector<Command> commands = registry();
  std::sort(commands.begin(), commands.end(), [](const Command& a, const Command& b) { return a.name < b.name; });
  std::printf("tokenfab-cli %s: run language models locally and see how they produce text\n\n", TOKENFAB_VERSION);
  std::printf("usage: tokenfab-cli COMMAND [options]   (tokenfab-cli COMMAND --help for a command's options)\n\ncommands:\n");
  for (const Command& c : commands) std::printf("  %-12.*s %.*s\n", int(c.name.size()), c.name.data(), int(c.summary.size()), c.summary.data());
}
}  // namespace

int main(int argc, char** argv) {
  using namespace tokenfab::cli;
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h" || std::string(argv[1]) == "help") {
    printHelp();
    return argc < 2 ? kExitUsage : kExitOk;
  }
  const std::string name = argv[1];
  if (name == "--version" || name == "version") {
    std::printf("tokenfab-cli %s\n", TOKENFAB_VERSION);
    return kExitOk;
  }
  std::vector<std::string> args(argv + 2, argv + argc);
  for (const Command& c : registry()) {
    if (c.name == name) return c.run(args);
  }
  return usageError("unknown command '" + name + "' (see tokenfab-cli --help)");
}
