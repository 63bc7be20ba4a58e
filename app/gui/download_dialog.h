// DownloadDialog: pick a catalogue model (or type OWNER/REPO/FILE) and download it off the GUI
// thread, with a progress bar and Cancel. A cancelled or interrupted download resumes when
// started again. Emits modelDownloaded(path) once the file is verified and in place.
//
// The GUI thread never waits for the worker: Cancel, closing and destroying the dialog set the
// worker's cancel flag and let go of it. The worker and the dialog share a small Job; the worker
// posts progress and its result to the dialog only while the dialog still holds that Job, and
// finishes (its cancel acts within about 100 ms) on its own.
#pragma once

#include <QDialog>
#include <QString>

#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>

#include "tokenfab/download.h"

class QComboBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;

namespace tokenfab::gui {

class DownloadDialog : public QDialog {
  Q_OBJECT

 public:
  // download::pull, or a stand-in for tests.
  using PullFn = std::function<Result<std::filesystem::path>(const download::PullRequest&, const download::ProgressFn&,
                                                             const std::atomic<bool>*)>;

  explicit DownloadDialog(QWidget* parent = nullptr, PullFn pull = download::pull);
  ~DownloadDialog() override;  // cancels a running download; never waits for it

  bool isDownloading() const { return m_job != nullptr; }

  // Download threads still running in this process, closed dialogs' included.
  static int runningWorkers();
  // For main() once the window is gone: waits up to `timeout_ms` for those threads to end.
  static bool waitForWorkers(int timeout_ms);

 public slots:
  // Starts the download chosen in the dialog.
  void startDownload();
  // Starts a download of `file` in `repo` ("owner/name") directly.
  void startDownloadOf(const QString& repo, const QString& file);
  // Stops a running download (the .part file is kept for a resume).
  void cancelDownload();
  void reject() override;

 signals:
  void modelDownloaded(const QString& path);
  void downloadFailed(const QString& message);

 private:
  struct Job;

  void onProgress(const tokenfab::download::Progress& progress);
  void onFinished(bool ok, const QString& path_or_message);
  void updateChoice();
  void setRunning(bool running);
  void letGo();  // cancels the job and stops listening to it

  QComboBox* m_choice = nullptr;
  QLineEdit* m_custom = nullptr;
  QLabel* m_details = nullptr;
  QProgressBar* m_progress = nullptr;
  QLabel* m_status = nullptr;
  QPushButton* m_download = nullptr;
  QPushButton* m_cancel = nullptr;
  PullFn m_pull;
  std::shared_ptr<Job> m_job;  // the running download, shared with its worker thread
};

}  // namespace tokenfab::gui
