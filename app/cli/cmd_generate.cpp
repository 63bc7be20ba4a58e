// tokenfab-cli generate: prompt in, streamed text out; optionally the per-step trace.
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli.h"
#include "engine_flags.h"
#include "sampler_flags.h"
#include "tokenfab/chat_template.h"
#include "tokenfab/trace.h"

namespace tokenfab::cli {
namespace {

constexpr const char* kUsage =
    "usage: tokenfab-cli generate [-m MODEL] (-p PROMPT | -f FILE) [-n N] [--chat] [--system TEXT]\n"
    "                             [sampler flags] [--seed S] [--trace FILE.json] [--trace-csv FILE.csv]\n"
    "                             [--ids] [-v]\n";

std::string isoNow() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

// The prompt as the model sees it: plain text, or rendered through the chat template.
Result<std::vector<int32_t>> buildPrompt(const Engine& engine, const std::string& prompt, bool chat,
                                         const std::optional<std::string>& system, bool verbose) {
  const Tokenizer& tok = engine.tokenizer();
  if (!chat) return tok.encode(prompt, {.add_special = true, .parse_special = false});
  std::vector<std::string> vocab;
  for (int32_t i = 0; i < tok.vocabSize(); ++i) vocab.push_back(tok.tokenText(i));
  const ModelChatTemplate tmpl =
      chooseChatTemplate(engine.chatTemplate(), engine.config().arch, vocab,
                         tok.bos() >= 0 ? tok.tokenText(tok.bos()) : "", tok.eos() >= 0 ? tok.tokenText(tok.eos()) : "");
  // A failing template is worth a line even without -v: the prompt format is not the model's own.
  if (!tmpl.fallback_reason.empty())
    std::cerr << "the model's chat template fails (" << tmpl.fallback_reason << "): using built-in '"
              << tmpl.builtin_name << "'\n";
  else if (verbose && !tmpl.builtin_name.empty())
    std::cerr << "no chat template in the model: using built-in '" << tmpl.builtin_name << "'\n";
  std::vector<ChatMessage> messages;
  if (system) messages.push_back({"system", *system, {}});
  messages.push_back({"user", prompt, {}});
  RenderOptions options;
  options.bos_token = tmpl.bos_token;
  options.eos_token = tmpl.eos_token;
  std::string note;
  TF_ASSIGN_OR_RETURN(std::string rendered, renderModelChatTemplate(tmpl, messages, options, &note));
  if (!note.empty()) std::cerr << note << "\n";
  if (verbose) std::cerr << "rendered prompt:\n" << rendered << "\n---\n";
  // The template may print BOS itself; the tokenizer must not add a second one.
  const bool starts_with_bos = !options.bos_token.empty() && rendered.rfind(options.bos_token, 0) == 0;
  return tok.encode(rendered, {.add_special = !starts_with_bos, .parse_special = true});
}

int runGenerate(std::span<const std::string> argv) {
  Args args(argv);
  if (args.flag("--help", "-h")) {
    std::cout << kUsage << "\nmodel options:\n" << engineFlagsHelp() << "\nsampling options:\n" << samplerFlagsHelp();
    return kExitOk;
  }
  auto prompt = args.value("--prompt", "-p");
  if (auto file = args.value("--file", "-f")) {
    std::ifstream in(*file, std::ios::binary);
    if (!in) return failure("cannot read " + *file);
    std::stringstream ss;
    ss << in.rdbuf();
    prompt = ss.str();
  }
  int32_t n_predict = 128;
  if (auto n = args.value("--n-predict", "-n")) {
    try {
      n_predict = std::stoi(*n);
    } catch (const std::exception&) {
      return usageError("-n expects a number, got '" + *n + "'");
    }
    if (n_predict < 0) n_predict = 1 << 30;  // llama.cpp: -1 = until the end of generation
  }
  const bool chat = args.flag("--chat");
  const auto system = args.value("--system");
  const auto trace_path = args.value("--trace");
  const auto csv_path = args.value("--trace-csv");
  const bool print_ids = args.flag("--ids");
  const bool verbose = args.flag("--verbose", "-v");
  const bool ignore_eos = args.flag("--ignore-eos");
  auto sampler = parseSamplerFlags(args);
  if (!sampler.isOk()) return usageError(sampler.status().message());
  auto flags = parseEngineFlags(args);
  if (!flags.isOk()) return usageError(flags.status().message());
  if (!args.unknownOptions().empty()) return usageError("unknown option " + args.unknownOptions().front());
  if (!prompt && !args.positionals().empty()) prompt = args.positionals().front();
  if (!prompt) return usageError(std::string("no prompt given\n") + kUsage);

  auto engine = openEngine(*flags);
  if (!engine.isOk()) return failure(engine.status().toString());
  auto session = (*engine)->newSession(flags->n_ctx);
  if (!session.isOk()) return failure(session.status().toString());
  auto tokens = buildPrompt(**engine, *prompt, chat, system, verbose);
  if (!tokens.isOk()) return failure(tokens.status().toString());

  GenerateOptions options;
  options.sampler = *sampler;
  options.seed = resolveSamplerSeed(sampler->seed);
  options.max_tokens = n_predict;
  options.stop_at_eog = !ignore_eos;
  if (verbose) {
    std::cerr << "model: " << (*engine)->config().summary() << "\ndevice: " << (*engine)->device().name
              << "\nprompt tokens: " << tokens->size() << "\nseed: " << options.seed << "\n"
              << describeSamplerConfig(*sampler) << "\n";
  }

  Trace trace;
  trace.created = isoNow();
  trace.model.name = (*engine)->config().name.empty() ? flags->model.stem().string() : (*engine)->config().name;
  trace.model.file = flags->model.filename().string();
  std::error_code ec;
  trace.model.size_bytes = std::filesystem::file_size(flags->model, ec);
  trace.device = (*engine)->device().name;
  trace.settings = *sampler;
  trace.seed = options.seed;
  trace.prompt = *prompt;
  trace.prompt_tokens = *tokens;

  // Echo the prompt as llama.cpp does for completions, then stream.
  if (!chat) std::cout << *prompt << std::flush;
  auto result = (*session)->generate(*tokens, options, [&](const StepEvent& ev) {
    std::cout << ev.text << std::flush;
    if (trace_path || csv_path) trace.steps.push_back(ev.trace);
    return true;
  });
  std::cout << "\n";
  if (!result.isOk()) return failure(result.status().toString());
  if (print_ids) {
    for (size_t i = 0; i < result->tokens.size(); ++i) std::cout << (i ? " " : "") << result->tokens[i];
    std::cout << "\n";
  }
  const Timings& t = (*session)->timings();
  if (verbose || !flags->quiet) {
    std::fprintf(stderr, "prompt: %lld tokens, %.1f t/s | generated: %lld tokens, %.1f t/s | first token %.0f ms\n",
                 static_cast<long long>(t.prompt_tokens), t.promptTokensPerSecond(),
                 static_cast<long long>(t.generated_tokens), t.generateTokensPerSecond(), t.first_token_ms);
  }
  if (trace_path) {
    if (Status s = writeTraceJson(*trace_path, trace); !s.isOk()) return failure(s.toString());
  }
  if (csv_path) {
    if (Status s = writeTraceCsv(*csv_path, trace); !s.isOk()) return failure(s.toString());
  }
  return kExitOk;
}

}  // namespace

TF_CLI_COMMAND("generate", "generate text from a prompt (streams to stdout)", runGenerate);

}  // namespace tokenfab::cli
