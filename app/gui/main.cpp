#include <QApplication>

#include "main_window.h"

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  QApplication::setApplicationName("tokenfab");
  QApplication::setOrganizationName("tokenfab");
  QApplication::setApplicationVersion(TOKENFAB_VERSION);
  tokenfab::gui::MainWindow window;
  window.show();
  return QApplication::exec();
}
