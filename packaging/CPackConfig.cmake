# Installers through CPack: .deb and .tar.gz on Linux, NSIS on Windows, a DragNDrop .dmg on macOS.
# Dependencies of the .deb are computed by dpkg-shlibdeps from the installed binaries.
include(GNUInstallDirs)

if(UNIX AND NOT APPLE)
  install(FILES "${PROJECT_SOURCE_DIR}/packaging/linux/io.github.tokenfab.Tokenfab.desktop"
          DESTINATION "${CMAKE_INSTALL_DATADIR}/applications")
  install(FILES "${PROJECT_SOURCE_DIR}/packaging/linux/io.github.tokenfab.Tokenfab.metainfo.xml"
          DESTINATION "${CMAKE_INSTALL_DATADIR}/metainfo")
  install(FILES "${PROJECT_SOURCE_DIR}/resources/icons/tokenfab.svg"
          DESTINATION "${CMAKE_INSTALL_DATADIR}/icons/hicolor/scalable/apps"
          RENAME io.github.tokenfab.Tokenfab.svg)
endif()

set(CPACK_PACKAGE_NAME "tokenfab")
set(CPACK_PACKAGE_VENDOR "The tokenfab developers")
set(CPACK_PACKAGE_CONTACT "tokenfab developers <tokenfab@users.noreply.github.com>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_HOMEPAGE_URL "https://github.com/tokenfab/tokenfab")
set(CPACK_RESOURCE_FILE_README "${PROJECT_SOURCE_DIR}/README.md")
set(CPACK_PACKAGE_INSTALL_DIRECTORY "tokenfab")
set(CPACK_PACKAGE_EXECUTABLES "tokenfab;tokenfab")

if(APPLE)
  set(CPACK_GENERATOR "DragNDrop")
elseif(WIN32)
  set(CPACK_GENERATOR "NSIS")
  set(CPACK_NSIS_DISPLAY_NAME "tokenfab")
  set(CPACK_NSIS_PACKAGE_NAME "tokenfab")
  set(CPACK_NSIS_MUI_ICON "${PROJECT_SOURCE_DIR}/resources/icons/tokenfab.ico")
  set(CPACK_NSIS_INSTALLED_ICON_NAME "bin\\\\tokenfab.exe")
  set(CPACK_NSIS_ENABLE_UNINSTALL_BEFORE_INSTALL ON)
  set(CPACK_NSIS_MODIFY_PATH OFF)
else()
  set(CPACK_GENERATOR "DEB;TGZ")
  set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
  set(CPACK_DEBIAN_PACKAGE_SECTION "science")
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
  # The Vulkan loader is opened through libvulkan.so.1 (linked), a driver is needed to do anything.
  set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "mesa-vulkan-drivers")
endif()

include(CPack)
