// DownloadDialog: pick a catalogue model (or type OWNER/REPO/FILE) and download it off the GUI
// thread, with a progress bar and Cancel. A cancelled or interrupted download resumes when
// started again. Emits modelDownloaded(path) once the file is verified and in place.
#pragma once

#include <QDialog>
#include <QString>
#include <atomic>
#include <thread>

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
  explicit DownloadDialog(QWidget* parent = nullptr);
  ~DownloadDialog() override;

  bool isDownloading() const { return m_worker.joinable(); }

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
  void onProgress(const tokenfab::download::Progress& progress);
  void onFinished(bool ok, const QString& path_or_message);
  void updateChoice();
  void setRunning(bool running);
  void joinWorker();

  QComboBox* m_choice = nullptr;
  QLineEdit* m_custom = nullptr;
  QLabel* m_details = nullptr;
  QProgressBar* m_progress = nullptr;
  QLabel* m_status = nullptr;
  QPushButton* m_download = nullptr;
  QPushButton* m_cancel = nullptr;
  std::atomic<bool> m_cancel_flag{false};
  std::thread m_worker;
};

}  // namespace tokenfab::gui
