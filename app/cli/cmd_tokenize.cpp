// tokenfab-cli tokenize -m MODEL [--ids|--pieces] [--no-bos] [--parse-special] TEXT
// Prints the token ids on one line (BOS included when the model adds one), or with --pieces one
// "id<TAB>piece" line per token (control characters in pieces shown as escapes).
#include <cstdio>
#include <iostream>
#include <string>

#include "cli.h"
#include "tokenfab/gguf.h"
#include "tokenfab/tokenizer.h"

namespace tokenfab::cli {
namespace {

constexpr const char* kUsage =
    "usage: tokenfab-cli tokenize -m MODEL [--ids|--pieces] [--no-bos] [--parse-special] TEXT\n"
    "  --ids            token ids, space-separated, on one line (default)\n"
    "  --pieces         one 'id<TAB>piece' line per token\n"
    "  --no-bos         do not add the BOS/EOS tokens the model asks for\n"
    "  --parse-special  turn special-token texts such as <|im_end|> into their tokens\n";

std::string visible(const std::string& piece) {
  std::string out;
  for (char c : piece) {
    switch (c) {
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\\':
        out += "\\\\";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02X", static_cast<unsigned char>(c));
          out += buf;
        } else {
          out.push_back(c);
        }
    }
  }
  return out;
}

int runTokenize(std::span<const std::string> raw_args) {
  Args args(raw_args);
  if (args.flag("--help", "-h")) {
    std::fputs(kUsage, stdout);
    return kExitOk;
  }
  const std::optional<std::string> model = args.value("--model", "-m");
  const bool pieces = args.flag("--pieces");
  const bool ids_flag = args.flag("--ids");
  const bool no_bos = args.flag("--no-bos");
  const bool parse_special = args.flag("--parse-special");
  if (const auto unknown = args.unknownOptions(); !unknown.empty())
    return usageError("unknown option " + unknown[0]);
  if (!model) return usageError(std::string("tokenize needs -m MODEL\n") + kUsage);
  if (pieces && ids_flag) return usageError("--ids and --pieces exclude each other");
  std::string text;
  for (const std::string& p : args.positionals()) {
    if (p == "--") continue;
    if (!text.empty()) text.push_back(' ');
    text += p;
  }

  auto file = gguf::GgufFile::open(*model);
  if (!file) return failure(file.status().toString());
  auto tokenizer = Tokenizer::fromGguf(file.value());
  if (!tokenizer) return failure(*model + ": " + tokenizer.status().toString());
  auto ids = tokenizer->encode(text, {.add_special = !no_bos, .parse_special = parse_special});
  if (!ids) return failure(ids.status().toString());

  if (pieces) {
    for (int32_t id : *ids) std::printf("%d\t%s\n", id, visible(tokenizer->piece(id)).c_str());
  } else {
    std::string line;
    for (int32_t id : *ids) {
      if (!line.empty()) line.push_back(' ');
      line += std::to_string(id);
    }
    std::printf("%s\n", line.c_str());
  }
  return kExitOk;
}

}  // namespace

TF_CLI_COMMAND("tokenize", "turn text into token ids with a model's tokenizer", runTokenize);

}  // namespace tokenfab::cli
