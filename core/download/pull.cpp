// pull(): one HTTP GET (with Range when a .part file exists) through libcurl, redirects followed.
// The hub's first response carries the LFS facts (X-Linked-Size, X-Linked-Etag = sha256); the
// body may come from a CDN after a redirect. Bytes are hashed as they arrive (after re-hashing
// what the .part already held), so verification costs no second pass over the file.
#include <curl/curl.h>
#ifndef _WIN32
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>
#endif

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <system_error>
#include <vector>

#include "download/http_headers.h"
#include "tokenfab/download.h"
#include "tokenfab/gguf.h"

namespace tokenfab::download {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr long kConnectTimeoutSeconds = 30;
constexpr long kStallSeconds = 60;  // abort when fewer than 1 byte/s arrives for this long
constexpr size_t kErrorBodyLimit = 4096;

// Everything the curl callbacks touch during one transfer.
struct Transfer {
  fs::path part_path;
  uint64_t resumed_from = 0;  // bytes already in the .part when the request was sent
  std::FILE* file = nullptr;  // opened on the first body byte of a 200/206
  bool file_failed = false;
  int file_errno = 0;
  Sha256 hasher;           // covers bytes [0, written)
  uint64_t written = 0;    // size of the .part file
  HubHeaders headers;      // parsed from all responses (see http_headers.h)
  std::string error_body;  // body of an error response, truncated
  const ProgressFn* progress = nullptr;
  const std::atomic<bool>* cancel = nullptr;
  Clock::time_point started = Clock::now();
  Clock::time_point last_report{};
};

std::FILE* openPart(const fs::path& path, bool append) {
#ifdef _WIN32
  return ::_wfopen(path.c_str(), append ? L"ab" : L"wb");  // wide paths on Windows
#else
  return std::fopen(path.c_str(), append ? "ab" : "wb");
#endif
}

size_t onHeader(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  t->headers.feedLine(std::string_view(data, size * count));
  return size * count;
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

size_t onBody(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  const int status = t->headers.status();
  if (status != 200 && status != 206) {
    // An error page: keep a little of it for the message, never write it to the model file.
    const size_t room = kErrorBodyLimit - std::min(kErrorBodyLimit, t->error_body.size());
    t->error_body.append(data, std::min(room, n));
    return n;
  }
  if (!t->file) {
    // 200 to a Range request: the server sends the whole file, so start the .part over.
    const bool append = status == 206 && t->resumed_from > 0;
    if (!append) {
      t->resumed_from = 0;
      t->written = 0;
      t->hasher = Sha256();
    }
    t->file = openPart(t->part_path, append);
    if (!t->file) {
      t->file_failed = true;
      t->file_errno = errno;
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
  return n;
}

int onXferInfo(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  if (t->cancel && t->cancel->load(std::memory_order_relaxed)) return 1;  // aborts the transfer
  if (t->progress && *t->progress) {
    const Clock::time_point now = Clock::now();
    if (now - t->last_report >= std::chrono::milliseconds(100)) {
      t->last_report = now;
      const bool body = t->headers.status() == 200 || t->headers.status() == 206;
      (*t->progress)(makeProgress(*t, body ? Progress::Phase::kDownloading : Progress::Phase::kConnecting));
    }
  }
  return 0;
}

void initCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string ioMessage(int err) {
  if (err == ENOSPC) return "disk full";
  if (err == EDQUOT) return "disk quota exceeded";
  if (err == EFBIG) return "file too large for this file system or the process file-size limit";
  return std::strerror(err);
}

// Re-hash the bytes a previous run left in the .part file so the final digest covers the file.
Status hashExistingPart(Transfer& t) {
  std::ifstream in(t.part_path, std::ios::binary);
  if (!in) return Status(Code::kIoError, "cannot read " + t.part_path.string());
  std::vector<uint8_t> chunk(1 << 20);
  uint64_t total = 0;
  while (in) {
    in.read(reinterpret_cast<char*>(chunk.data()), std::streamsize(chunk.size()));
    const std::streamsize got = in.gcount();
    if (got <= 0) break;
    t.hasher.update(std::span<const uint8_t>(chunk.data(), size_t(got)));
    total += uint64_t(got);
  }
  if (in.bad()) return Status(Code::kIoError, "read error in " + t.part_path.string());
  t.resumed_from = t.written = total;
  return Status::ok();
}

Status curlError(CURLcode code, const char* error_buffer, const Transfer& t, const std::string& url) {
  const std::string detail = error_buffer[0] ? error_buffer : curl_easy_strerror(code);
  switch (code) {
    case CURLE_ABORTED_BY_CALLBACK:
      return Status(Code::kCancelled, "download cancelled; " + std::to_string(t.written) + " bytes kept in " +
                                          t.part_path.string() + " for a later resume");
    case CURLE_WRITE_ERROR:
      if (t.file_failed) {
        return Status(Code::kIoError,
                      "cannot write " + t.part_path.string() + ": " + ioMessage(t.file_errno));
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

Status httpError(const Transfer& t, const PullRequest& request, const std::string& url) {
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

// One GET of `url` into t.part_path. Returns the transfer's outcome (HTTP errors included).
Status transfer(Transfer& t, const PullRequest& request, const std::string& url) {
  initCurlOnce();
  CURL* curl = curl_easy_init();
  if (!curl) return Status(Code::kInternal, "curl_easy_init failed");
  char error_buffer[CURL_ERROR_SIZE] = {0};
  curl_slist* header_list = nullptr;
  if (const char* token = std::getenv("HF_TOKEN"); token && *token) {
    // Custom headers are not sent on to another host after a redirect (curl >= 7.58).
    header_list = curl_slist_append(header_list, (std::string("Authorization: Bearer ") + token).c_str());
  }
  const std::string user_agent = std::string("tokenfab/") + TOKENFAB_VERSION;
  const std::string range = std::to_string(t.resumed_from) + "-";
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, user_agent.c_str());
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, kConnectTimeoutSeconds);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, kStallSeconds);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, onHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, onBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, onXferInfo);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &t);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  if (header_list) curl_easy_setopt(curl, CURLOPT_HTTPHEADER, header_list);
  if (t.resumed_from > 0) curl_easy_setopt(curl, CURLOPT_RANGE, range.c_str());

  const CURLcode code = curl_easy_perform(curl);
  curl_slist_free_all(header_list);
  curl_easy_cleanup(curl);

  Status status = Status::ok();
  if (t.file) {
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
  if (code != CURLE_OK) return curlError(code, error_buffer, t, url);
  if (t.file_failed) {
    return Status(Code::kIoError, "cannot write " + t.part_path.string() + ": " + ioMessage(t.file_errno));
  }
  const int http = t.headers.status();
  if (http == 416) return Status(Code::kOutOfRange, "range not satisfiable");
  if (http != 200 && http != 206) return httpError(t, request, url);
  return status;
}

// An exclusive advisory lock on the .part file, so two pulls of the same file (the GUI and the
// CLI, say) cannot append to it at once. The .part keeps its inode while locked (it is truncated,
// never replaced), so the lock stays meaningful until the rename.
class PartLock {
 public:
  PartLock() = default;
  PartLock(const PartLock&) = delete;
  PartLock& operator=(const PartLock&) = delete;
  ~PartLock() {
#ifndef _WIN32
    if (m_fd >= 0) ::close(m_fd);  // releases the lock
#endif
  }
  Status acquire(const fs::path& part) {
#ifndef _WIN32
    m_fd = ::open(part.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (m_fd < 0) {
      return Status(Code::kIoError, "cannot create " + part.string() + ": " + std::strerror(errno));
    }
    if (::flock(m_fd, LOCK_EX | LOCK_NB) != 0) {
      return Status(Code::kAlreadyExists, "another download of " + part.filename().string() + " is running");
    }
#else
    (void)part;
#endif
    return Status::ok();
  }

 // Flushes the file's data to disk (fsync acts on the file, whichever descriptor wrote it), so a
  // crash after the rename cannot leave a short file under the final name.
  Status sync() {
#ifndef _WIN32
    if (m_fd >= 0 && ::fsync(m_fd) != 0) {
      return Status(Code::kIoError, std::string("fsync failed: ") + std::strerror(errno));
    }
#endif
    return Status::ok();
  }

 private:
  int m_fd = -1;
};

void removeQuietly(const fs::path& path) {
  std::error_code ec;
  fs::remove(path, ec);
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
  if (fs::is_regular_file(final_path, ec)) return final_path;  // only complete files get this name
  fs::create_directories(final_path.parent_path(), ec);
  if (ec) {
    return Status(Code::kIoError, "cannot create " + final_path.parent_path().string() + ": " + ec.message());
  }

  const std::string url = resolveUrl(request);
  Transfer t;
  t.part_path = final_path;
  t.part_path += ".part";
  t.progress = &progress;
  t.cancel = cancel;
  PartLock lock;
  TF_RETURN_IF_ERROR(lock.acquire(t.part_path));
  if (fs::is_regular_file(final_path, ec)) return final_path;  // finished by whoever held the lock
  TF_RETURN_IF_ERROR(hashExistingPart(t));
  if (progress) progress(makeProgress(t, Progress::Phase::kConnecting));

  Status got = transfer(t, request, url);
  if (got.code() == Code::kOutOfRange && t.written > 0 && t.headers.totalSize(t.resumed_from) == t.written) {
    got = Status::ok();  // the .part already holds the whole file: verify it
  }
  if (got.code() == Code::kOutOfRange) {
    // The .part is longer than the file (or the size is unknown): start over once from byte 0.
    fs::resize_file(t.part_path, 0, ec);
    if (ec) return Status(Code::kIoError, "cannot truncate " + t.part_path.string() + ": " + ec.message());
    t.resumed_from = t.written = 0;
    t.hasher = Sha256();
    t.headers = HubHeaders();
    t.error_body.clear();
    got = transfer(t, request, url);
    if (got.code() == Code::kOutOfRange) got = httpError(t, request, url);
  }
  if (!got.isOk()) {
    // HTTP errors before any byte (404...) leave no empty .part behind.
    if (fs::is_regular_file(t.part_path, ec) && fs::file_size(t.part_path, ec) == 0) {
      removeQuietly(t.part_path);
    }
    return got;
  }

  if (progress) progress(makeProgress(t, Progress::Phase::kVerifying));
  const std::optional<uint64_t> total = t.headers.totalSize(t.resumed_from);
  const uint64_t on_disk = fs::file_size(t.part_path, ec);
  if (ec || on_disk != t.written) {
    return Status(Code::kIoError, "size of " + t.part_path.string() + " changed during the download");
  }
  if (total && *total != on_disk) {
    if (on_disk > *total) removeQuietly(t.part_path);
    return Status(Code::kNetworkError, "download incomplete: " + std::to_string(on_disk) + " of " +
                                           std::to_string(*total) + " bytes; run again to resume");
  }
  if (expected.empty()) expected = t.headers.sha256();
  const std::string actual = Sha256::toHex(t.hasher.finish());
  if (!expected.empty() && !equalsIgnoreCaseHex(expected, actual)) {
    removeQuietly(t.part_path);
    return Status(Code::kChecksumMismatch, "checksum mismatch for " + request.file + ": expected sha256 " +
                                               expected + ", got " + actual + "; the file was deleted");
  }
  {
    auto gguf = gguf::GgufFile::open(t.part_path);
    if (!gguf.isOk()) {
      removeQuietly(t.part_path);
      return gguf.status().withContext("downloaded " + request.file + " is not a valid GGUF file (deleted)");
    }
  }
  TF_RETURN_IF_ERROR(lock.sync());
  fs::rename(t.part_path, final_path, ec);
  if (ec) return Status(Code::kIoError, "cannot rename " + t.part_path.string() + ": " + ec.message());
  if (progress) progress(makeProgress(t, Progress::Phase::kDone));
  return final_path;
}

}  // namespace tokenfab::download
