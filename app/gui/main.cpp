// tokenfab [MODEL.gguf] [--backend vulkan|reference] [--screenshot FILE]
#include <QApplication>
#include <QCommandLineParser>
#include <QTimer>

#include "main_window.h"

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
  parser.addOption(screenshot);
  parser.process(app);

  tokenfab::gui::MainWindow window;
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
