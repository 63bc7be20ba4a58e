// tokenfab [MODEL.gguf] [--backend vulkan|reference] [--screenshot FILE] [--self-test]
#include <QApplication>
#include <QCommandLineParser>
#include <QTimer>

#include <cstdio>

#include "tokenfab/self_test.h"

#include "download_dialog.h"
#include "main_window.h"

namespace {

// Shows the window, opens the model, runs the event loop.
int run(tokenfab::gui::MainWindow& window, const QCommandLineParser& parser, const QCommandLineOption& backend,
        const QCommandLineOption& screenshot) {
  if (parser.value(backend) == "reference") window.setBackend(tokenfab::Backend::kReference);
  window.show();
  QString model = parser.positionalArguments().value(0);
  if (model.isEmpty()) model = tokenfab::gui::MainWindow::demoModelPath();
  if (!model.isEmpty()) window.openModel(model);
  if (parser.isSet(screenshot)) {
    const QString file = parser.value(screenshot);
    auto grab = [&window, file] {
      window.grab().save(file);
      QApplication::quit();
    };
    if (model.isEmpty()) {
      QTimer::singleShot(500, &window, grab);
    } else {
      QObject::connect(&window, &tokenfab::gui::MainWindow::modelReadyChanged, &window,
                       [grab](bool) { QTimer::singleShot(300, grab); });
      QTimer::singleShot(60000, &window, grab);
    }
  }
  return QApplication::exec();
}

}  // namespace

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  QApplication::setApplicationName("tokenfab");
  QApplication::setOrganizationName("tokenfab");
  QApplication::setApplicationVersion(TOKENFAB_VERSION);
  QCommandLineParser parser;
  parser.setApplicationDescription("tokenfab workbench: run GGUF models and watch how tokens are chosen.");
  parser.addHelpOption();
  parser.addVersionOption();
  parser.addPositionalArgument("model", "GGUF model to open (default: the built-in demo model, if any).");
  QCommandLineOption backend("backend", "vulkan (default) or reference.", "name", "vulkan");
  QCommandLineOption screenshot("screenshot", "Save a screenshot of the window to FILE and quit.", "file");
  parser.addOption(backend);
  QCommandLineOption self_test("self-test",
                               "Check the Vulkan device, every GPU op against the CPU reference and a few tokens of "
                               "the model (default: the demo model); print the report and exit (0 = all passed).");
  parser.addOption(screenshot);
  parser.addOption(self_test);
  parser.process(app);

  if (parser.isSet(self_test)) {
    tokenfab::SelfTestOptions options;
    QString model = parser.positionalArguments().value(0);
    if (model.isEmpty()) model = tokenfab::gui::MainWindow::demoModelPath();
    options.model = model.toStdString();
    const tokenfab::SelfTestReport report = tokenfab::runSelfTest(options);
    std::fputs(report.toText().c_str(), stdout);
    return report.passed() ? 0 : 1;
  }

  int code = 0;
  {
    tokenfab::gui::MainWindow window;
    code = run(window, parser, backend, screenshot);
  }
  // The window and its dialogs are gone, so every download was told to cancel (it acts within
  // about 100 ms); let those threads end before the process does.
  tokenfab::gui::DownloadDialog::waitForWorkers(5000);
  return code;
}
