// pull(): one HTTP GET (with Range + If-Range when a .part file exists) through libcurl, redirects
// followed one hop at a time under the rule in redirect.h. The hub's own answers carry the LFS
// facts (X-Linked-Size, X-Linked-Etag = sha256); the body may come from a CDN. Bytes are hashed as
// they arrive (after re-hashing what the .part already held), so verification costs no second
// pass over the file. libcurl runs under a multi handle polled every 100 ms, so the cancel flag
// is seen within that time even while a server sends nothing.
#include <curl/curl.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <system_error>

#include "download/file_hash.h"
#include "download/http_headers.h"
#include "download/part_file.h"
#include "download/redirect.h"
#include "tokenfab/download.h"
#include "tokenfab/gguf.h"

namespace tokenfab::download {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr long kConnectTimeoutSeconds = 30;
constexpr long kStallSeconds = 60;  // abort when fewer than 1 byte/s arrives for this long
constexpr size_t kErrorBodyLimit = 4096;
constexpr int kMaxRedirects = 10;
constexpr int kPollMs = 100;                        // longest wait before the cancel flag is read
constexpr uint64_t kWritebackBytes = 64ull << 20;  // see PartLock::startWriteback
constexpr auto kReportInterval = std::chrono::milliseconds(100);

// Calls the progress function at most once per kReportInterval (the first call always), plus
// every forced report.
class Reporter {
 public:
  explicit Reporter(const ProgressFn& fn) : m_fn(fn) {}
  void operator()(const Progress& p, bool force = false) {
    if (!m_fn) return;
    const Clock::time_point now = Clock::now();
    if (!force && now - m_last < kReportInterval) return;
    m_last = now;
    m_fn(p);
  }

 private:
  const ProgressFn& m_fn;
  Clock::time_point m_last{};
};

bool cancelled(const std::atomic<bool>* cancel) { return cancel && cancel->load(std::memory_order_relaxed); }

// Everything the curl callbacks touch during one pull.
struct Transfer {
  const PullRequest* request = nullptr;
  fs::path part_path;
  PartLock* lock = nullptr;
  uint64_t resumed_from = 0;  // bytes already in the .part when the request was sent
  Validator validator;        // the version of the file the .part holds the start of
  std::FILE* file = nullptr;  // opened on the first body byte of a 200/206
  bool file_failed = false;
  int file_errno = 0;
  Sha256 hasher;              // covers bytes [0, written)
  uint64_t written = 0;       // size of the .part file
  uint64_t written_back = 0;  // bytes handed to PartLock::startWriteback
  HubHeaders headers;         // parsed from all responses (see http_headers.h)
  std::string error_body;     // body of an error response, truncated
  std::optional<Status> refused;  // why a 200/206 body was not written (then curl reports a write error)
  bool restart = false;           // the answer may not be appended to the .part: start over from 0
  const std::atomic<bool>* cancel = nullptr;
  Reporter* report = nullptr;
  Clock::time_point started = Clock::now();
};

std::FILE* openPart(const fs::path& path, bool append) {
#ifdef _WIN32
  return ::_wfopen(path.c_str(), append ? L"ab" : L"wb");  // wide paths on Windows
#else
  return std::fopen(path.c_str(), append ? "ab" : "wb");
#endif
}

std::string ioMessage(int err) {
  if (err == ENOSPC) return "disk full";
  if (err == EDQUOT) return "disk quota exceeded";
  if (err == EFBIG) return "file too large for this file system or the process file-size limit";
  return std::strerror(err);
}

Progress makeProgress(const Transfer& t, Progress::Phase phase) {
  Progress p;
  p.phase = phase;
  p.received = t.written;
  p.total = t.headers.totalSize(t.resumed_from);
  p.resumed_from = t.resumed_from;
  const double seconds = std::chrono::duration<double>(Clock::now() - t.started).count();
  const uint64_t this_run = t.written > t.resumed_from ? t.written - t.resumed_from : 0;
  p.bytes_per_second = seconds > 0 ? double(this_run) / seconds : 0;
  return p;
}

size_t onHeader(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  t->headers.feedLine(std::string_view(data, size * count));
  return size * count;
}

Status checkFreeSpace(const Transfer& t) {
  const std::optional<uint64_t> total = t.headers.totalSize(t.resumed_from);
  if (!total || *total <= t.resumed_from) return Status::ok();  // unknown size: the writes will tell
  const uint64_t needed = *total - t.resumed_from;
  const fs::path dir = t.part_path.parent_path();
  Result<uint64_t> available = Status(Code::kInternal, "");
  if (t.request->free_space) {
    available = t.request->free_space(dir);
  } else {
    std::error_code ec;
    const fs::space_info space = fs::space(dir, ec);  // statvfs: f_bavail * f_frsize
    if (ec) return Status::ok();
    available = uint64_t(space.available);
  }
  if (!available.isOk() || needed <= *available) return Status::ok();
  return Status(Code::kIoError, "not enough disk space in " + dir.string() + ": the download needs " +
                                    std::to_string(needed) + " more bytes, " + std::to_string(*available) +
                                    " bytes are available");
}

// The first body byte of a 200/206: append it to the .part, start the .part over, or refuse it.
Status beginBody(Transfer& t) {
  bool append = false;
  if (t.headers.status() == 206) {
    const std::optional<uint64_t> start = t.headers.rangeStart();
    if (!start || *start != t.resumed_from) {
      t.restart = true;  // never splice bytes from another offset onto the .part
      return Status(Code::kNetworkError, "the server answered a request for bytes " + std::to_string(t.resumed_from) +
                                             "- with bytes " + (start ? std::to_string(*start) : "?") + "-");
    }
    const Validator now = t.headers.validator();
    if (t.resumed_from > 0 && now.kind == t.validator.kind && now.value != t.validator.value) {
      t.restart = true;  // a server that ignored If-Range: its 206 is of another version
      return Status(Code::kNetworkError, "the file changed on the server since the .part was started");
    }
    append = t.resumed_from > 0;
  }
  if (!append) {
    // A 200 (the file changed, so If-Range failed; or a server without ranges): start over.
    t.resumed_from = t.written = t.written_back = 0;
    t.hasher = Sha256();
    t.validator = t.headers.validator();
  }
  TF_RETURN_IF_ERROR(checkFreeSpace(t));
  if (!append) removeQuietly(validatorPath(t.part_path));  // the old one must not outlive the bytes
  t.file = openPart(t.part_path, append);
  if (!t.file) return Status(Code::kIoError, "cannot open " + t.part_path.string() + ": " + ioMessage(errno));
  if (!append) TF_RETURN_IF_ERROR(writeValidator(t.part_path, t.validator));
  return Status::ok();
}

size_t onBody(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  const int status = t->headers.status();
  if (status != 200 && status != 206) {
    // An error page or a redirect: keep a little of it for the message, never write it to the file.
    const size_t room = kErrorBodyLimit - std::min(kErrorBodyLimit, t->error_body.size());
    t->error_body.append(data, std::min(room, n));
    return n;
  }
  if (t->refused) return 0;
  if (!t->file) {
    Status begun = beginBody(*t);
    if (!begun.isOk()) {
      t->refused = std::move(begun);
      return 0;  // CURLE_WRITE_ERROR
    }
  }
  if (std::fwrite(data, 1, n, t->file) != n) {
    t->file_failed = true;
    t->file_errno = errno;
    return 0;
  }
  t->hasher.update(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data), n));
  t->written += n;
  if (t->written - t->written_back >= kWritebackBytes && std::fflush(t->file) == 0) {
    t->lock->startWriteback(t->written_back, t->written - t->written_back);
    t->written_back = t->written;
  }
  return n;
}

int onXferInfo(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  if (cancelled(t->cancel)) return 1;  // aborts the transfer
  const bool body = t->headers.status() == 200 || t->headers.status() == 206;
  (*t->report)(makeProgress(*t, body ? Progress::Phase::kDownloading : Progress::Phase::kConnecting));
  return 0;
}

void initCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// curl_easy_perform, but under a multi handle so the cancel flag is read at least every kPollMs
// (the progress callback alone can be a second apart while nothing arrives).
CURLcode performCancellable(CURL* curl, const std::atomic<bool>* cancel) {
  CURLM* multi = curl_multi_init();
  if (!multi) return CURLE_OUT_OF_MEMORY;
  CURLcode result = CURLE_OK;
  if (curl_multi_add_handle(multi, curl) != CURLM_OK) {
    curl_multi_cleanup(multi);
    return CURLE_FAILED_INIT;
  }
  int running = 1;
  bool done = false;
  while (!done) {
    if (cancelled(cancel)) {
      result = CURLE_ABORTED_BY_CALLBACK;
      break;
    }
    if (curl_multi_perform(multi, &running) != CURLM_OK) {
      result = CURLE_RECV_ERROR;
      break;
    }
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &left)) {
      if (msg->msg == CURLMSG_DONE) {
        result = msg->data.result;
        done = true;
      }
    }
    if (!done && running == 0) done = true;
    if (!done) curl_multi_poll(multi, nullptr, 0, kPollMs, nullptr);
  }
  curl_multi_remove_handle(multi, curl);
  curl_multi_cleanup(multi);
  return result;
}

Status curlError(CURLcode code, const char* error_buffer, const Transfer& t, const std::string& url) {
  const std::string detail = error_buffer[0] ? error_buffer : curl_easy_strerror(code);
  switch (code) {
    case CURLE_ABORTED_BY_CALLBACK:
      return Status(Code::kCancelled, "download cancelled; " + std::to_string(t.written) + " bytes kept in " +
                                          t.part_path.string() + " for a later resume");
    case CURLE_WRITE_ERROR:
      if (t.file_failed) {
        return Status(Code::kIoError, "cannot write " + t.part_path.string() + ": " + ioMessage(t.file_errno));
      }
      break;
    case CURLE_COULDNT_CONNECT:
      return Status(Code::kNetworkError, "could not connect to " + url + ": " + detail);
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return Status(Code::kNetworkError, "could not resolve the host of " + url + ": " + detail);
    case CURLE_OPERATION_TIMEDOUT:
      return Status(Code::kNetworkError, "timed out fetching " + url + ": " + detail);
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
      return Status(Code::kNetworkError, "connection lost after " + std::to_string(t.written) + " bytes (" +
                                             detail + "); run the same pull again to resume from " +
                                             t.part_path.string());
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_USE_SSL_FAILED:
      return Status(Code::kNetworkError, "TLS error talking to " + url + ": " + detail);
    default:
      break;
  }
  return Status(Code::kNetworkError, "download of " + url + " failed: " + detail);
}

Status httpError(const Transfer& t, const std::string& url) {
  const PullRequest& request = *t.request;
  const int status = t.headers.status();
  const std::string& hub_code = t.headers.errorCode();
  const std::string where = " (" + url + ")";
  if (hub_code == "RepoNotFound" || status == 401) {
    return Status(Code::kNotFound, "no repository " + request.repo +
                                       " on the hub, or it is private/gated (HTTP " + std::to_string(status) +
                                       "; set HF_TOKEN for gated repos)" + where);
  }
  if (hub_code == "RevisionNotFound") {
    return Status(Code::kNotFound, "no revision '" + request.revision + "' in repo " + request.repo + where);
  }
  if (status == 404) {
    return Status(Code::kNotFound, "no file " + request.file + " in repo " + request.repo + " (revision " +
                                       request.revision + ")" + where);
  }
  if (status == 403) {
    return Status(Code::kNetworkError, "access denied (HTTP 403) to " + request.repo +
                                           "; the repo may be gated: accept its license on the "
                                           "hub and set HF_TOKEN" +
                                           where);
  }
  std::string body = t.error_body.substr(0, 200);
  for (char& c : body) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  return Status(Code::kNetworkError,
                "HTTP " + std::to_string(status) + where + (body.empty() ? "" : ": " + body));
}

void closePart(Transfer& t) {
  if (!t.file) return;
  if (std::fflush(t.file) != 0 && !t.file_failed) {
    t.file_failed = true;
    t.file_errno = errno;
  }
  if (std::fclose(t.file) != 0 && !t.file_failed) {
    t.file_failed = true;
    t.file_errno = errno;
  }
  t.file = nullptr;
}

bool isRedirect(int http) { return http == 301 || http == 302 || http == 303 || http == 307 || http == 308; }

using CurlPtr = std::unique_ptr<CURL, decltype(&curl_easy_cleanup)>;
using HeaderList = std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)>;

// One GET of `url` into t.part_path, following redirects. Returns the outcome (HTTP errors
// included; kOutOfRange for a 416).
Status transfer(Transfer& t, const std::string& url) {
  initCurlOnce();
  CurlPtr curl(curl_easy_init(), &curl_easy_cleanup);
  if (!curl) return Status(Code::kInternal, "curl_easy_init failed");
  char error_buffer[CURL_ERROR_SIZE] = {0};
  const char* token = std::getenv("HF_TOKEN");
  const std::string user_agent = std::string("tokenfab/") + TOKENFAB_VERSION;
  const std::string range = std::to_string(t.resumed_from) + "-";
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);  // each hop is checked here (redirect.h)
  curl_easy_setopt(c, CURLOPT_USERAGENT, user_agent.c_str());
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, kConnectTimeoutSeconds);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, kStallSeconds);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, onHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, onBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, onXferInfo);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  if (t.resumed_from > 0) curl_easy_setopt(c, CURLOPT_RANGE, range.c_str());

  std::string hop_url = url;
  for (int hop = 0;; ++hop) {
    const bool hub_hop = sameOrigin(hop_url, url);
    t.headers.beginHop(hub_hop);
    t.error_body.clear();
    error_buffer[0] = 0;
    HeaderList headers(nullptr, &curl_slist_free_all);
    auto add = [&headers](const std::string& line) { headers.reset(curl_slist_append(headers.release(), line.c_str())); };
    if (token && *token && hub_hop) add(std::string("Authorization: Bearer ") + token);  // never to a CDN
    if (t.resumed_from > 0 && t.validator.kind != Validator::Kind::kNone) add("If-Range: " + t.validator.value);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(c, CURLOPT_URL, hop_url.c_str());

    const CURLcode code = performCancellable(c, t.cancel);
    closePart(t);
    if (code == CURLE_ABORTED_BY_CALLBACK || (code != CURLE_OK && cancelled(t.cancel))) {
      return curlError(CURLE_ABORTED_BY_CALLBACK, error_buffer, t, hop_url);
    }
    if (t.refused) return *t.refused;
    if (code != CURLE_OK) return curlError(code, error_buffer, t, hop_url);
    if (t.file_failed) {
      return Status(Code::kIoError, "cannot write " + t.part_path.string() + ": " + ioMessage(t.file_errno));
    }
    const int http = t.headers.status();
    if (isRedirect(http)) {
      const char* next = nullptr;
      curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &next);
      if (next == nullptr) return Status(Code::kNetworkError, "HTTP " + std::to_string(http) + " without a Location (" + hop_url + ")");
      if (hop + 1 > kMaxRedirects) return Status(Code::kNetworkError, "more than 10 redirects fetching " + url);
      TF_RETURN_IF_ERROR(checkRedirect(hop_url, next));
      hop_url = next;
      continue;
    }
    if (http == 416) return Status(Code::kOutOfRange, "range not satisfiable");
    if (http != 200 && http != 206) return httpError(t, hop_url);
    return Status::ok();
  }
}

// Empties the .part (same inode: the lock stays valid) and forgets what it held.
Status restartFromZero(Transfer& t) {
  std::error_code ec;
  fs::resize_file(t.part_path, 0, ec);
  if (ec) return Status(Code::kIoError, "cannot truncate " + t.part_path.string() + ": " + ec.message());
  removeQuietly(validatorPath(t.part_path));
  t.resumed_from = t.written = t.written_back = 0;
  t.validator = {};
  t.hasher = Sha256();
  t.headers = HubHeaders();
  t.error_body.clear();
  t.refused.reset();
  t.restart = false;
  return Status::ok();
}

// How much of the .part a resume keeps: all of it when the sidecar says which version of the file
// it holds (re-hashed, so the final digest covers the whole file), none otherwise.
Status resumePoint(Transfer& t) {
  std::error_code ec;
  const uint64_t size = fs::file_size(t.part_path, ec);
  t.validator = readValidator(t.part_path);
  if (ec || size == 0 || t.validator.kind == Validator::Kind::kNone) return restartFromZero(t);
  Progress p;
  p.phase = Progress::Phase::kRehashing;
  p.total = size;
  Result<uint64_t> hashed = hashFileInto(t.part_path, t.hasher, t.cancel, [&](uint64_t done) {
    p.received = done;
    (*t.report)(p);
  });
  if (!hashed) {
    if (hashed.status().code() != Code::kCancelled) return hashed.status();
    return Status(Code::kCancelled, "download cancelled while checking the " + std::to_string(size) +
                                        " bytes already downloaded; " + t.part_path.string() +
                                        " is kept for a later resume");
  }
  t.resumed_from = t.written = t.written_back = *hashed;
  return Status::ok();
}

// The final file exists: it is complete, but when the caller gave a checksum it must match.
Result<fs::path> checkExisting(const fs::path& path, const std::string& expected, const ProgressFn& progress,
                               const std::atomic<bool>* cancel) {
  if (expected.empty()) return path;
  std::error_code ec;
  Progress p;
  p.phase = Progress::Phase::kVerifying;
  p.total = fs::file_size(path, ec);
  Reporter report(progress);
  Sha256 hasher;
  Result<uint64_t> hashed = hashFileInto(path, hasher, cancel, [&](uint64_t done) {
    p.received = done;
    report(p);
  });
  if (!hashed) return hashed.status();
  const std::string actual = Sha256::toHex(hasher.finish());
  if (!equalsIgnoreCaseHex(expected, actual)) {
    return Status(Code::kChecksumMismatch, path.string() + " exists but its sha256 is " + actual +
                                               ", not the expected " + expected +
                                               "; it was left in place (delete it to download again)");
  }
  p.phase = Progress::Phase::kDone;
  report(p, true);
  return path;
}

Status cancelStatus(const Transfer& t) {
  return Status(Code::kCancelled, "download cancelled; " + std::to_string(t.written) + " bytes kept in " +
                                      t.part_path.string() + " for a later resume");
}

}  // namespace

Result<fs::path> pull(const PullRequest& request, const ProgressFn& progress,
                      const std::atomic<bool>* cancel) {
  TF_RETURN_IF_ERROR(validateRequest(request));
  std::string expected = request.expected_sha256;
  if (!expected.empty() && !isSha256Hex(expected)) {
    return Status(Code::kInvalidArgument, "expected SHA-256 must be 64 hex digits");
  }
  const fs::path final_path = destinationPath(request);
  std::error_code ec;
  // Only complete files get this name.
  if (fs::is_regular_file(final_path, ec)) return checkExisting(final_path, expected, progress, cancel);
  fs::create_directories(final_path.parent_path(), ec);
  if (ec) {
    return Status(Code::kIoError, "cannot create " + final_path.parent_path().string() + ": " + ec.message());
  }

  const std::string url = resolveUrl(request);
  Reporter report(progress);
  PartLock lock;
  Transfer t;
  t.request = &request;
  t.part_path = final_path;
  t.part_path += ".part";
  t.lock = &lock;
  t.cancel = cancel;
  t.report = &report;
  TF_RETURN_IF_ERROR(lock.acquire(t.part_path));
  // Finished by whoever held the lock.
  if (fs::is_regular_file(final_path, ec)) return checkExisting(final_path, expected, progress, cancel);
  TF_RETURN_IF_ERROR(resumePoint(t));
  t.started = Clock::now();
  report(makeProgress(t, Progress::Phase::kConnecting), true);

  Status got = transfer(t, url);
  if (got.code() == Code::kOutOfRange && t.written > 0 && t.headers.totalSize(t.resumed_from) == t.written) {
    const Validator now = t.headers.validator();
    // The .part already holds the whole file, unless the 416 names another version.
    if (now.kind != t.validator.kind || now.value == t.validator.value) got = Status::ok();
  }
  if (t.restart || got.code() == Code::kOutOfRange) {
    // The .part is not a prefix of the file as it is now (changed upstream, longer than the file,
    // or the server answered another range): start over once from byte 0.
    TF_RETURN_IF_ERROR(restartFromZero(t));
    got = transfer(t, url);
    if (got.code() == Code::kOutOfRange) got = httpError(t, url);
  }
  if (!got.isOk()) {
    // HTTP errors before any byte (404...) leave no empty .part behind.
    if (fs::is_regular_file(t.part_path, ec) && fs::file_size(t.part_path, ec) == 0) {
      removeQuietly(t.part_path);
      removeQuietly(validatorPath(t.part_path));
    }
    return got;
  }

  if (cancelled(cancel)) return cancelStatus(t);
  report(makeProgress(t, Progress::Phase::kVerifying), true);
  const std::optional<uint64_t> total = t.headers.totalSize(t.resumed_from);
  const uint64_t on_disk = fs::file_size(t.part_path, ec);
  if (ec || on_disk != t.written) {
    return Status(Code::kIoError, "size of " + t.part_path.string() + " changed during the download");
  }
  auto discard = [&t] {
    removeQuietly(t.part_path);
    removeQuietly(validatorPath(t.part_path));
  };
  if (total && *total != on_disk) {
    if (on_disk > *total) discard();
    return Status(Code::kNetworkError, "download incomplete: " + std::to_string(on_disk) + " of " +
                                           std::to_string(*total) + " bytes; run again to resume");
  }
  if (expected.empty()) expected = t.headers.sha256();
  const std::string actual = Sha256::toHex(t.hasher.finish());
  if (!expected.empty() && !equalsIgnoreCaseHex(expected, actual)) {
    discard();
    return Status(Code::kChecksumMismatch, "checksum mismatch for " + request.file + ": expected sha256 " +
                                               expected + ", got " + actual + "; the file was deleted");
  }
  if (cancelled(cancel)) return cancelStatus(t);
  {
    auto gguf = gguf::GgufFile::open(t.part_path);
    if (!gguf.isOk()) {
      discard();
      return gguf.status().withContext("downloaded " + request.file + " is not a valid GGUF file (deleted)");
    }
  }
  if (cancelled(cancel)) return cancelStatus(t);
  TF_RETURN_IF_ERROR(lock.sync());
  fs::rename(t.part_path, final_path, ec);
  if (ec) return Status(Code::kIoError, "cannot rename " + t.part_path.string() + ": " + ec.message());
  removeQuietly(validatorPath(t.part_path));
  report(makeProgress(t, Progress::Phase::kDone), true);
  return final_path;
}

}  // namespace tokenfab::download
