#include "main_window.h"

#include <QLabel>
#include <QStatusBar>

namespace tokenfab::gui {

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
  setWindowTitle("tokenfab");
  resize(1280, 800);
  auto* placeholder = new QLabel(tr("No model loaded."), this);
  placeholder->setAlignment(Qt::AlignCenter);
  setCentralWidget(placeholder);
  statusBar()->showMessage(tr("Ready"));
}

}  // namespace tokenfab::gui
