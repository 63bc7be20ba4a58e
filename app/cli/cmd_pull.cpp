// tokenfab-cli pull: download a GGUF model from the Hugging Face hub (or a mirror).
//   pull --list                         the curated catalogue
//   pull qwen2.5-0.5b-instruct:q4_k_m   a catalogue entry
//   pull OWNER/REPO/FILE.gguf           any file in any repo
// Prints progress on stderr and the final path on stdout. Ctrl-C keeps the .part for a resume.
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <string>

#include "cli.h"
#include "tokenfab/download.h"

namespace tokenfab::cli {
namespace {

using download::Progress;

constexpr int kExitInterrupted = 130;  // the shell's convention for SIGINT

std::atomic<bool> g_cancel{false};
static_assert(std::atomic<bool>::is_always_lock_free, "the signal handler needs a lock-free flag");

extern "C" void onInterrupt(int) { g_cancel.store(true); }

std::string mib(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", double(bytes) / (1024.0 * 1024.0));
  return buf;
}

void printUsage() {
  std::cerr << "usage: tokenfab-cli pull NAME | OWNER/REPO/FILE.gguf [--revision REV] [--dir DIR]\n"
               "                          [--sha256 HEX] [--quiet]\n"
               "       tokenfab-cli pull --list\n"
               "Downloads into "
            << download::modelsDir().string()
            << "/OWNER/REPO/REVISION/FILE (TOKENFAB_MODELS_DIR overrides; TOKENFAB_HF_ENDPOINT\n"
               "picks the hub, HF_TOKEN is sent to the hub for gated repos). An interrupted pull resumes\n"
               "when run again (from zero if the file changed upstream). --sha256 is also checked\n"
               "against a file that is already there.\n";
}

int listCatalogue() {
  std::printf("%-32s %-42s %10s  %s\n", "NAME", "REPO / FILE", "~SIZE", "LICENSE");
  for (const download::CatalogueEntry& e : download::catalogue()) {
    std::printf("%-32.*s %-42.*s %7.2f GB  %.*s\n", int(e.name.size()), e.name.data(), int(e.repo.size()),
                e.repo.data(), double(e.approx_bytes) / 1e9, int(e.license.size()), e.license.data());
    std::printf("%-32s   %.*s\n", "", int(e.file.size()), e.file.data());
  }
  std::printf("Sizes are approximate. See docs/models.md.\n");
  return kExitOk;
}

class ProgressPrinter {
 public:
  explicit ProgressPrinter(bool quiet) : m_quiet(quiet), m_tty(::isatty(STDERR_FILENO) == 1) {}

  void operator()(const Progress& p) {
    if (m_quiet) return;
    // Hashing phases report every 100 ms: one line each is enough.
    if (p.phase == Progress::Phase::kRehashing) {
      if (m_rehash_reported) return;
      m_rehash_reported = true;
      std::fprintf(stderr, "checking the %s already downloaded\n", p.total ? mib(*p.total).c_str() : "bytes");
      return;
    }
    if (p.phase == Progress::Phase::kVerifying) {
      if (m_verify_reported) return;
      m_verify_reported = true;
      finishLine();
      std::fprintf(stderr, "verifying %s\n", mib(p.total.value_or(p.received)).c_str());
      return;
    }
    if (p.phase != Progress::Phase::kDownloading) return;
    const double percent = p.total && *p.total ? 100.0 * double(p.received) / double(*p.total) : 0;
    if (!m_tty) {
      // A log, not a terminal: one line per 10%.
      const int decile = int(percent / 10);
      if (decile <= m_last_decile) return;
      m_last_decile = decile;
    }
    std::fprintf(
        stderr, "%s%5.1f%%  %s / %s  %.1f MiB/s%s%s", m_tty ? "\r" : "", percent, mib(p.received).c_str(),
        p.total ? mib(*p.total).c_str() : "?", p.bytes_per_second / (1024.0 * 1024.0),
        p.resumed_from ? ("  (resumed at " + mib(p.resumed_from) + ")").c_str() : "", m_tty ? "   " : "\n");
    std::fflush(stderr);
    m_open_line = m_tty;
  }
  void finishLine() {
    if (m_open_line) std::fputc('\n', stderr);
    m_open_line = false;
  }

 private:
  bool m_quiet;
  bool m_tty;
  bool m_open_line = false;
  bool m_rehash_reported = false;
  bool m_verify_reported = false;
  int m_last_decile = -1;
};

int runPull(std::span<const std::string> raw_args) {
  Args args(raw_args);
  const bool list = args.flag("--list");
  const bool help = args.flag("--help", "-h");
  const bool quiet = args.flag("--quiet", "-q");
  const auto revision = args.value("--revision");
  const auto dir = args.value("--dir");
  const auto sha = args.value("--sha256");
  if (const auto unknown = args.unknownOptions(); !unknown.empty()) {
    printUsage();
    return usageError("pull: unknown option " + unknown.front());
  }
  if (help) {
    printUsage();
    return kExitOk;
  }
  if (list) return listCatalogue();
  if (args.positionals().size() != 1) {
    printUsage();
    return usageError("pull: expected one model name or OWNER/REPO/FILE (see pull --list)");
  }

  const std::string& target = args.positionals().front();
  download::PullRequest request;
  if (const download::CatalogueEntry* entry = download::findCatalogueEntry(target)) {
    request.repo = entry->repo;
    request.file = entry->file;
  } else {
    const size_t first = target.find('/');
    const size_t second = first == std::string::npos ? first : target.find('/', first + 1);
    if (second == std::string::npos) {
      return usageError("pull: '" + target +
                        "' is neither a catalogue name (pull --list) nor OWNER/REPO/FILE");
    }
    request.repo = target.substr(0, second);
    request.file = target.substr(second + 1);
  }
  if (revision) request.revision = *revision;
  if (dir) request.dest_dir = *dir;
  if (sha) request.expected_sha256 = *sha;
  if (Status valid = download::validateRequest(request); !valid.isOk()) {
    return usageError("pull: " + valid.message());
  }

  if (!quiet) std::fprintf(stderr, "pulling %s\n", download::resolveUrl(request).c_str());
  g_cancel = false;
  auto previous = std::signal(SIGINT, onInterrupt);
  ProgressPrinter printer(quiet);
  auto result = download::pull(
      request, [&](const Progress& p) { printer(p); }, &g_cancel);
  std::signal(SIGINT, previous);
  printer.finishLine();
  if (!result.isOk()) {
    if (result.status().code() == Code::kCancelled) {
      std::fprintf(stderr, "tokenfab-cli: %s\n", result.status().message().c_str());
      return kExitInterrupted;
    }
    return failure("pull: " + result.status().toString());
  }
  std::cout << result->string() << "\n";
  return kExitOk;
}

}  // namespace

TF_CLI_COMMAND("pull", "download a GGUF model (pull --list for the catalogue)", runPull);

}  // namespace tokenfab::cli
