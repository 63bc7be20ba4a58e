#pragma once

#include <QMainWindow>

namespace tokenfab::gui {

// The workbench window. Holds the panels; talks to the engine only through queued signals.
class MainWindow : public QMainWindow {
  Q_OBJECT
 public:
  explicit MainWindow(QWidget* parent = nullptr);
};

}  // namespace tokenfab::gui
