// The download dialog under QT_QPA_PLATFORM=offscreen, against the local test hub: the
// download runs off the GUI thread and ends in modelDownloaded(path); Cancel ends in
// downloadFailed without a file under the final name; closing or destroying the dialog never
// waits for the worker.
#include "download_dialog.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <QApplication>
#include <QElapsedTimer>
#include <QSignalSpy>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <mutex>

#include "shared_data.h"
#include "test_hub_server.h"

namespace tokenfab::gui {
namespace {

namespace fs = std::filesystem;

constexpr char kManifestSha[] = "270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d";

QApplication& app() {
  static int argc = 1;
  static char name[] = "download_dialog_test";
  static char* argv[] = {name, nullptr};
  ::setenv("QT_QPA_PLATFORM", "offscreen", 0);
  static QApplication instance(argc, argv);
  return instance;
}

bool waitFor(QSignalSpy& spy, int timeout_ms) {
  QElapsedTimer timer;
  timer.start();
  while (spy.count() == 0 && timer.elapsed() < timeout_ms) {
    QApplication::processEvents(QEventLoop::AllEvents, 20);
  }
  return spy.count() > 0;
}

class DownloadDialogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    app();
    TF_SHARED_FILE(fixture, "models/stories260K.gguf");
    m_fixture = test::readFile(fixture);
    ASSERT_TRUE(m_server.started());
    m_server.addFile("o/stories", "main", "s.gguf", m_fixture, kManifestSha);
    m_dir = fs::temp_directory_path() / ("tokenfab-dlg-" + std::to_string(::getpid()));
    fs::remove_all(m_dir);
    ::setenv("TOKENFAB_MODELS_DIR", m_dir.c_str(), 1);
    ::setenv("TOKENFAB_HF_ENDPOINT", m_server.endpoint().c_str(), 1);
  }
  void TearDown() override {
    ::unsetenv("TOKENFAB_MODELS_DIR");
    ::unsetenv("TOKENFAB_HF_ENDPOINT");
    std::error_code ec;
    fs::remove_all(m_dir, ec);
  }

  test::TestHubServer m_server;
  std::string m_fixture;
  fs::path m_dir;
};

TEST_F(DownloadDialogTest, DownloadsOffTheGuiThreadAndReportsThePath) {
  DownloadDialog dialog;
  QSignalSpy done(&dialog, &DownloadDialog::modelDownloaded);
  QSignalSpy failed(&dialog, &DownloadDialog::downloadFailed);
  dialog.startDownloadOf("o/stories", "s.gguf");
  EXPECT_TRUE(dialog.isDownloading());
  ASSERT_TRUE(waitFor(done, 30000)) << (failed.count() ? failed.at(0).at(0).toString().toStdString()
                                                       : "timeout");
  const QString path = done.at(0).at(0).toString();
  EXPECT_EQ(fs::path(path.toStdString()), m_dir / "o/stories/main/s.gguf");
  EXPECT_TRUE(test::readFile(path.toStdString()) == m_fixture);
  EXPECT_FALSE(dialog.isDownloading());
}

TEST_F(DownloadDialogTest, CancelStopsWithoutACompleteLookingFile) {
  test::TestHubServer::Options slow;
  slow.slow_chunk_delay_ms = 30;
  m_server.setOptions(slow);
  DownloadDialog dialog;
  QSignalSpy done(&dialog, &DownloadDialog::modelDownloaded);
  QSignalSpy failed(&dialog, &DownloadDialog::downloadFailed);
  dialog.startDownloadOf("o/stories", "s.gguf");
  QElapsedTimer timer;
  timer.start();
  while (timer.elapsed() < 300) QApplication::processEvents(QEventLoop::AllEvents, 20);
  dialog.cancelDownload();
  ASSERT_TRUE(waitFor(failed, 30000));
  EXPECT_EQ(done.count(), 0);
  EXPECT_TRUE(failed.at(0).at(0).toString().contains("cancelled"));
  EXPECT_FALSE(fs::exists(m_dir / "o/stories/main/s.gguf"));
}

TEST_F(DownloadDialogTest, ClosingWhileDownloadingCancels) {
  test::TestHubServer::Options slow;
  slow.slow_chunk_delay_ms = 30;
  m_server.setOptions(slow);
  auto* dialog = new DownloadDialog;
  dialog->startDownloadOf("o/stories", "s.gguf");
  delete dialog;  // must not crash or leave a thread touching the dead dialog
  ASSERT_TRUE(DownloadDialog::waitForWorkers(30000)) << "the cancelled worker did not end";
  QApplication::processEvents();
  EXPECT_FALSE(fs::exists(m_dir / "o/stories/main/s.gguf"));
}

// A pull that stays blocked until the test releases it, whatever its cancel flag says: if the
// GUI thread waited for the worker, reject() and the destructor could not return before the
// release. (It gives up after 20 s so a regression fails instead of hanging.)
class BlockedPull {
 public:
  DownloadDialog::PullFn fn() {
    return [this](const download::PullRequest&, const download::ProgressFn&,
                  const std::atomic<bool>* cancel) -> Result<std::filesystem::path> {
      std::unique_lock lock(m_mutex);
      m_entered = true;
      m_changed.notify_all();
      m_changed.wait_for(lock, std::chrono::seconds(20), [this] { return m_released; });
      m_saw_cancel = cancel->load();
      m_returned = true;
      return Status(Code::kCancelled, "download cancelled (stand-in)");
    };
  }
  bool waitEntered() {
    std::unique_lock lock(m_mutex);
    return m_changed.wait_for(lock, std::chrono::seconds(20), [this] { return m_entered; });
  }
  void release() {
    std::lock_guard lock(m_mutex);
    m_released = true;
    m_changed.notify_all();
  }
  bool returned() {
    std::lock_guard lock(m_mutex);
    return m_returned;
  }
  bool sawCancel() {
    std::lock_guard lock(m_mutex);
    return m_saw_cancel;
  }

 private:
  std::mutex m_mutex;
  std::condition_variable m_changed;
  bool m_entered = false;
  bool m_released = false;
  bool m_returned = false;
  bool m_saw_cancel = false;
};

TEST_F(DownloadDialogTest, RejectDoesNotWaitForTheWorker) {
  BlockedPull blocked;
  DownloadDialog dialog(nullptr, blocked.fn());
  QSignalSpy done(&dialog, &DownloadDialog::modelDownloaded);
  QSignalSpy failed(&dialog, &DownloadDialog::downloadFailed);
  dialog.startDownloadOf("o/stories", "s.gguf");
  ASSERT_TRUE(blocked.waitEntered());
  dialog.reject();
  EXPECT_FALSE(blocked.returned()) << "reject() waited for the worker to finish";
  EXPECT_FALSE(dialog.isDownloading());
  EXPECT_EQ(DownloadDialog::runningWorkers(), 1);
  blocked.release();
  ASSERT_TRUE(DownloadDialog::waitForWorkers(30000));
  EXPECT_TRUE(blocked.sawCancel()) << "reject() must cancel the download";
  QApplication::processEvents();
  EXPECT_EQ(done.count() + failed.count(), 0) << "a let-go worker still reached the dialog";
}

TEST_F(DownloadDialogTest, DestroyingTheDialogDoesNotWaitForTheWorker) {
  BlockedPull blocked;
  auto* dialog = new DownloadDialog(nullptr, blocked.fn());
  dialog->startDownloadOf("o/stories", "s.gguf");
  ASSERT_TRUE(blocked.waitEntered());
  delete dialog;
  EXPECT_FALSE(blocked.returned()) << "the destructor waited for the worker to finish";
  blocked.release();
  ASSERT_TRUE(DownloadDialog::waitForWorkers(30000));
  EXPECT_TRUE(blocked.sawCancel());
  QApplication::processEvents();  // a post to the dead dialog would crash here
}

}  // namespace
}  // namespace tokenfab::gui
