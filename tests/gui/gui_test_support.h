// Shared helpers for the GUI tests: one QApplication on the offscreen platform, and waiting on
// the event loop with a deadline.
#pragma once

#include <QApplication>
#include <QElapsedTimer>

#include <functional>

namespace tokenfab::test {

inline QApplication& guiApp() {
  static int argc = 1;
  static char name[] = "gui_window_test";
  static char* argv[] = {name, nullptr};
  if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");
  qputenv("TOKENFAB_NO_DIALOGS", "1");
  static QApplication* app = [] {
    QApplication::setOrganizationName("tokenfab-test");
    QApplication::setApplicationName("tokenfab-gui-test");
    return new QApplication(argc, argv);
  }();
  return *app;
}

// Runs the event loop until `done` or the deadline; true when done.
inline bool waitFor(const std::function<bool()>& done, int timeout_ms) {
  QElapsedTimer clock;
  clock.start();
  while (!done()) {
    if (clock.elapsed() > timeout_ms) return false;
    QApplication::processEvents(QEventLoop::AllEvents, 5);
  }
  return true;
}

}  // namespace tokenfab::test
