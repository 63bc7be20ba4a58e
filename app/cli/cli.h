// Sub-command plumbing for tokenfab-cli. Each cmd_*.cpp registers itself:
//   TF_CLI_COMMAND(info, "describe a GGUF file", runInfo);
// so commands are added without touching main.cpp.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tokenfab::cli {

using CommandFn = int (*)(std::span<const std::string> args);

struct Command {
  std::string_view name;
  std::string_view summary;
  CommandFn run;
};

std::vector<Command>& registry();

struct Registrar {
  Registrar(std::string_view name, std::string_view summary, CommandFn run) {
    registry().push_back({name, summary, run});
  }
};

// Small argument helper: flags may appear anywhere; "--" ends flags.
class Args {
 public:
  explicit Args(std::span<const std::string> args);
  // --name VALUE (or --name=VALUE); removes it from the positionals.
  std::optional<std::string> value(std::string_view name, std::string_view short_name = {});
  bool flag(std::string_view name, std::string_view short_name = {});
  // Whatever was not consumed, in order. Call after all value()/flag() calls.
  const std::vector<std::string>& positionals() const { return m_rest; }
  // Unconsumed "-x"/"--x" arguments, for an "unknown option" error.
  std::vector<std::string> unknownOptions() const;

 private:
  std::vector<std::string> m_rest;
};

// Exit codes shared by all commands.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // the operation failed (bad file, device error...)
inline constexpr int kExitUsage = 2;    // bad command line

// "a,b,,c" -> {"a", "b", "c"}.
std::vector<std::string> splitList(std::string_view s);
// A positive decimal number below 10^9 ("512"); false for anything else.
bool parseU32(const std::string& s, uint32_t* v);

// Prints "tokenfab-cli: <message>" to stderr and returns kExitUsage / kExitFailure.
int usageError(std::string_view message);
int failure(std::string_view message);

}  // namespace tokenfab::cli

#define TF_CLI_CONCAT_INNER(a, b) a##b
#define TF_CLI_CONCAT(a, b) TF_CLI_CONCAT_INNER(a, b)
#define TF_CLI_COMMAND(name, summary, fn) \
  static ::tokenfab::cli::Registrar TF_CLI_CONCAT(tf_cli_registrar_, __LINE__)(name, summary, fn)
