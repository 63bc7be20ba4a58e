#include "download_dialog.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QMetaObject>
#include <QProgressBar>
#include <QPushButton>
#include <QVBoxLayout>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace tokenfab::gui {
namespace {

using download::Progress;

constexpr int kCustomIndex = -1;  // item data of the "other repository" choice

QString mib(uint64_t bytes) { return QString::number(double(bytes) / (1024.0 * 1024.0), 'f', 1) + " MiB"; }

// Download threads alive in the process (for waitForWorkers at exit).
std::mutex g_workers_mutex;
std::condition_variable g_workers_done;
int g_workers = 0;

}  // namespace

// Shared by a dialog and its worker thread; outlives whichever lets go last.
struct DownloadDialog::Job {
  std::atomic<bool> cancel{false};
  std::mutex mutex;
  DownloadDialog* dialog = nullptr;  // null once the dialog has let go (guarded by `mutex`)

  // Runs `call` on the dialog's thread, if the dialog still holds this job when it gets there.
  // Holding `mutex` while posting keeps the dialog from being destroyed in between (its
  // destructor takes the mutex to let go); Qt drops what is still queued for a destroyed dialog.
  template <typename Fn>
  static void post(const std::shared_ptr<Job>& job, Fn call) {
    std::lock_guard lock(job->mutex);
    DownloadDialog* target = job->dialog;
    if (target == nullptr) return;
    QMetaObject::invokeMethod(
        target,
        [target, job, call = std::move(call)] {
          if (target->m_job == job) call(*target);
        },
        Qt::QueuedConnection);
  }
};

DownloadDialog::DownloadDialog(QWidget* parent, PullFn pull) : QDialog(parent), m_pull(std::move(pull)) {
  setWindowTitle(tr("Download a model"));
  m_choice = new QComboBox(this);
  const auto entries = download::catalogue();
  for (int i = 0; i < int(entries.size()); ++i) {
    const auto& e = entries[size_t(i)];
    m_choice->addItem(QStringLiteral("%1  (~%2 GB, %3)")
                          .arg(QString::fromUtf8(e.name.data(), int(e.name.size())))
                          .arg(double(e.approx_bytes) / 1e9, 0, 'f', 2)
                          .arg(QString::fromUtf8(e.license.data(), int(e.license.size()))),
                      i);
  }
  m_choice->addItem(tr("Other: owner/repo/file.gguf"), kCustomIndex);
  m_custom = new QLineEdit(this);
  m_custom->setPlaceholderText(QStringLiteral("owner/repo/file.gguf"));
  m_details = new QLabel(this);
  m_details->setTextInteractionFlags(Qt::TextSelectableByMouse);
  m_details->setWordWrap(true);
  m_progress = new QProgressBar(this);
  m_progress->setRange(0, 1000);
  m_progress->setValue(0);
  m_status = new QLabel(this);
  m_status->setWordWrap(true);

  auto* form = new QFormLayout;
  form->addRow(tr("Model"), m_choice);
  form->addRow(tr("Custom"), m_custom);
  form->addRow(m_details);

  auto* buttons = new QDialogButtonBox(this);
  m_download = buttons->addButton(tr("Download"), QDialogButtonBox::AcceptRole);
  m_cancel = buttons->addButton(QDialogButtonBox::Cancel);
  connect(m_download, &QPushButton::clicked, this, &DownloadDialog::startDownload);
  connect(m_cancel, &QPushButton::clicked, this, [this] {
    if (isDownloading())
      cancelDownload();
    else
      QDialog::reject();
  });
  connect(m_choice, &QComboBox::currentIndexChanged, this, &DownloadDialog::updateChoice);

  auto* layout = new QVBoxLayout(this);
  layout->addLayout(form);
  layout->addWidget(m_progress);
  layout->addWidget(m_status);
  layout->addWidget(buttons);
  updateChoice();
}

DownloadDialog::~DownloadDialog() { letGo(); }

int DownloadDialog::runningWorkers() {
  std::lock_guard lock(g_workers_mutex);
  return g_workers;
}

bool DownloadDialog::waitForWorkers(int timeout_ms) {
  std::unique_lock lock(g_workers_mutex);
  return g_workers_done.wait_for(lock, std::chrono::milliseconds(timeout_ms), [] { return g_workers == 0; });
}

void DownloadDialog::letGo() {
  if (!m_job) return;
  m_job->cancel = true;
  {
    std::lock_guard lock(m_job->mutex);
    m_job->dialog = nullptr;
  }
  m_job.reset();
}

void DownloadDialog::updateChoice() {
  const int index = m_choice->currentData().toInt();
  m_custom->setEnabled(index == kCustomIndex);
  QString text = tr("Saved under %1").arg(QString::fromStdString(download::modelsDir().string()));
  if (index != kCustomIndex) {
    const auto& e = download::catalogue()[size_t(index)];
    text = QString::fromUtf8(e.repo.data(), int(e.repo.size())) + " / " +
           QString::fromUtf8(e.file.data(), int(e.file.size())) + "\n" + text;
  }
  m_details->setText(text);
}

void DownloadDialog::startDownload() {
  const int index = m_choice->currentData().toInt();
  if (index != kCustomIndex) {
    const auto& e = download::catalogue()[size_t(index)];
    startDownloadOf(QString::fromUtf8(e.repo.data(), int(e.repo.size())),
                    QString::fromUtf8(e.file.data(), int(e.file.size())));
    return;
  }
  const QString text = m_custom->text().trimmed();
  const int first = text.indexOf('/');
  const int second = first < 0 ? -1 : text.indexOf('/', first + 1);
  if (second < 0) {
    m_status->setText(tr("Type owner/repo/file.gguf"));
    return;
  }
  startDownloadOf(text.left(second), text.mid(second + 1));
}

void DownloadDialog::startDownloadOf(const QString& repo, const QString& file) {
  if (isDownloading()) return;
  download::PullRequest request;
  request.repo = repo.toStdString();
  request.file = file.toStdString();
  if (Status valid = download::validateRequest(request); !valid.isOk()) {
    m_status->setText(QString::fromStdString(valid.message()));
    return;
  }
  m_progress->setValue(0);
  m_status->setText(tr("Connecting to %1").arg(QString::fromStdString(download::resolveUrl(request))));
  setRunning(true);
  auto job = std::make_shared<Job>();
  job->dialog = this;
  m_job = job;
  {
    std::lock_guard lock(g_workers_mutex);
    ++g_workers;
  }
  // The worker owns copies of everything it reads and reaches the dialog only through Job::post.
  std::thread([job, request, pull = m_pull]() mutable {
    {
      auto result = pull(
          request, [job](const Progress& p) { Job::post(job, [p](DownloadDialog& d) { d.onProgress(p); }); },
          &job->cancel);
      const bool ok = result.isOk();
      const QString text =
          ok ? QString::fromStdString(result->string()) : QString::fromStdString(result.status().message());
      Job::post(job, [ok, text](DownloadDialog& d) { d.onFinished(ok, text); });
    }
    job.reset();  // everything the thread holds is released before it counts itself out
    pull = nullptr;
    request = {};
    std::lock_guard lock(g_workers_mutex);
    --g_workers;
    g_workers_done.notify_all();
  }).detach();
}

void DownloadDialog::cancelDownload() {
  if (!m_job) return;
  m_job->cancel = true;  // the worker ends with kCancelled and reports it through onFinished
  m_status->setText(tr("Cancelling..."));
}

void DownloadDialog::reject() {
  if (isDownloading()) {
    letGo();  // the .part stays for a resume; the worker finishes without us
    setRunning(false);
    m_status->setText(tr("Download cancelled"));
  }
  QDialog::reject();
}

void DownloadDialog::onProgress(const Progress& p) {
  switch (p.phase) {
    case Progress::Phase::kConnecting:
      return;
    case Progress::Phase::kRehashing:
      m_status->setText(tr("Checking the %1 already downloaded: %2").arg(p.total ? mib(*p.total) : QString(), mib(p.received)));
      return;
    case Progress::Phase::kVerifying:
      m_status->setText(tr("Verifying checksum and GGUF structure..."));
      return;
    case Progress::Phase::kDone:
      m_progress->setValue(m_progress->maximum());
      return;
    case Progress::Phase::kDownloading:
      break;
  }
  if (p.total && *p.total > 0) {
    m_progress->setValue(int(1000.0 * double(p.received) / double(*p.total)));
  }
  QString text = mib(p.received) + (p.total ? " / " + mib(*p.total) : QString()) +
                 QStringLiteral("  %1 MiB/s").arg(p.bytes_per_second / (1024.0 * 1024.0), 0, 'f', 1);
  if (p.resumed_from) text += tr("  (resumed at %1)").arg(mib(p.resumed_from));
  m_status->setText(text);
}

void DownloadDialog::onFinished(bool ok, const QString& path_or_message) {
  m_job.reset();  // the worker is done with it (it posted this as its last act)
  setRunning(false);
  if (ok) {
    m_status->setText(tr("Saved to %1").arg(path_or_message));
    emit modelDownloaded(path_or_message);
  } else {
    m_status->setText(path_or_message);
    emit downloadFailed(path_or_message);
  }
}

void DownloadDialog::setRunning(bool running) {
  m_download->setEnabled(!running);
  m_choice->setEnabled(!running);
  m_custom->setEnabled(!running && m_choice->currentData().toInt() == kCustomIndex);
  m_cancel->setText(running ? tr("Cancel download") : tr("Close"));
}

}  // namespace tokenfab::gui
