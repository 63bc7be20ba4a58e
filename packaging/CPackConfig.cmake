# Installers through CPack: .deb and .tar.gz on Linux, NSIS on Windows, a DragNDrop .dmg on macOS.
# How to build each one by hand and what was verified where: docs/packaging.md.
#
# Everything installed (all platforms): bin/tokenfab, bin/tokenfab-cli, the demo model
# (share/tokenfab/models/*.gguf, where tokenfab-cli's findDemoModel() looks). Linux adds the desktop
# entry, AppStream metainfo, hicolor icons (PNGs rendered from the SVG at build time) and the man
# page; Windows and macOS add the Qt runtime (windeployqt / macdeployqt), the other shared
# libraries the programs load, and the Vulkan loader (macOS: with MoltenVK as the driver).
include(GNUInstallDirs)

set(TOKENFAB_APP_ID "io.github.tokenfab.Tokenfab")
set(tokenfab_packaging_dir "${PROJECT_SOURCE_DIR}/packaging")

# ---- the demo model ----
# Globbed at configure time (re-run cmake after adding a model to resources/models/).
file(GLOB tokenfab_demo_models "${PROJECT_SOURCE_DIR}/resources/models/*.gguf")
if(tokenfab_demo_models)
  install(FILES ${tokenfab_demo_models} DESTINATION "${CMAKE_INSTALL_DATADIR}/tokenfab/models")
  file(GLOB tokenfab_demo_model_docs "${PROJECT_SOURCE_DIR}/resources/models/*.md"
       "${PROJECT_SOURCE_DIR}/resources/models/LICENSE*")
  if(tokenfab_demo_model_docs)
    install(FILES ${tokenfab_demo_model_docs} DESTINATION "${CMAKE_INSTALL_DATADIR}/tokenfab/models")
  endif()
else()
  message(STATUS "packaging: no demo model in resources/models/, the installers will not contain one")
endif()

if(UNIX AND NOT APPLE)
  install(FILES "${tokenfab_packaging_dir}/linux/${TOKENFAB_APP_ID}.desktop"
          DESTINATION "${CMAKE_INSTALL_DATADIR}/applications")
  install(FILES "${tokenfab_packaging_dir}/linux/${TOKENFAB_APP_ID}.metainfo.xml"
          DESTINATION "${CMAKE_INSTALL_DATADIR}/metainfo")
  install(FILES "${PROJECT_SOURCE_DIR}/resources/icons/tokenfab.svg"
          DESTINATION "${CMAKE_INSTALL_DATADIR}/icons/hicolor/scalable/apps"
          RENAME "${TOKENFAB_APP_ID}.svg")
  # Man page, gzipped as Debian policy wants.
  find_program(TOKENFAB_GZIP gzip)
  if(TOKENFAB_GZIP)
    set(tokenfab_man_gz "${CMAKE_BINARY_DIR}/packaging/tokenfab-cli.1.gz")
    add_custom_command(OUTPUT "${tokenfab_man_gz}"
      COMMAND "${CMAKE_COMMAND}" -E make_directory "${CMAKE_BINARY_DIR}/packaging"
      COMMAND "${TOKENFAB_GZIP}" -9 -n -c "${tokenfab_packaging_dir}/linux/tokenfab-cli.1" > "${tokenfab_man_gz}"
      DEPENDS "${tokenfab_packaging_dir}/linux/tokenfab-cli.1"
      COMMENT "gzip tokenfab-cli.1" VERBATIM)
    add_custom_target(tokenfab_man ALL DEPENDS "${tokenfab_man_gz}")
    install(FILES "${tokenfab_man_gz}" DESTINATION "${CMAKE_INSTALL_MANDIR}/man1")
  else()
    install(FILES "${tokenfab_packaging_dir}/linux/tokenfab-cli.1" DESTINATION "${CMAKE_INSTALL_MANDIR}/man1")
  endif()
  # hicolor PNGs rendered from the SVG (rsvg-convert, Debian package librsvg2-bin).
  find_program(TOKENFAB_RSVG_CONVERT rsvg-convert)
  if(TOKENFAB_RSVG_CONVERT)
    set(tokenfab_icon_outputs "")
    foreach(size 16 22 24 32 48 64 128 256 512)
      set(png "${CMAKE_BINARY_DIR}/packaging/icons/${size}x${size}/${TOKENFAB_APP_ID}.png")
      add_custom_command(OUTPUT "${png}"
        COMMAND "${CMAKE_COMMAND}" -E make_directory "${CMAKE_BINARY_DIR}/packaging/icons/${size}x${size}"
        COMMAND "${TOKENFAB_RSVG_CONVERT}" -w ${size} -h ${size} -o "${png}" "${PROJECT_SOURCE_DIR}/resources/icons/tokenfab.svg"
        DEPENDS "${PROJECT_SOURCE_DIR}/resources/icons/tokenfab.svg"
        COMMENT "icon ${size}x${size}" VERBATIM)
      list(APPEND tokenfab_icon_outputs "${png}")
      install(FILES "${png}" DESTINATION "${CMAKE_INSTALL_DATADIR}/icons/hicolor/${size}x${size}/apps")
    endforeach()
    add_custom_target(tokenfab_icons ALL DEPENDS ${tokenfab_icon_outputs})
  else()
    message(WARNING "packaging: rsvg-convert not found (apt install librsvg2-bin): only the scalable icon is installed")
  endif()
endif()

# ---- Windows / macOS: bring the runtime along ----
# Runs at install time (also inside cpack): windeployqt / macdeployqt for Qt, then every other
# non-system shared library the two programs load (utf8proc, the Vulkan loader...).
if(WIN32 OR APPLE)
  find_package(Qt6 QUIET COMPONENTS Core)
  set(tokenfab_qt_bin "")
  if(Qt6_FOUND AND TARGET Qt6::qmake)
    get_target_property(tokenfab_qmake Qt6::qmake IMPORTED_LOCATION)
    get_filename_component(tokenfab_qt_bin "${tokenfab_qmake}" DIRECTORY)
  endif()
  set(tokenfab_vulkan_sdk "$ENV{VULKAN_SDK}")
endif()

if(WIN32)
  find_program(TOKENFAB_WINDEPLOYQT windeployqt HINTS "${tokenfab_qt_bin}")
  if(TARGET tokenfab AND TOKENFAB_WINDEPLOYQT)
    install(CODE "
      execute_process(COMMAND \"${TOKENFAB_WINDEPLOYQT}\" --release --no-translations --no-system-d3d-compiler
                              --no-opengl-sw --dir \"\${CMAKE_INSTALL_PREFIX}/bin\" \"\${CMAKE_INSTALL_PREFIX}/bin/tokenfab.exe\"
                      RESULT_VARIABLE rc)
      if(NOT rc EQUAL 0)
        message(FATAL_ERROR \"windeployqt failed: \${rc}\")
      endif()")
  elseif(TARGET tokenfab)
    message(WARNING "packaging: windeployqt not found, the installer will lack the Qt runtime")
  endif()
  # The Vulkan loader: GPU drivers install one system-wide, the SDK's copy covers machines without.
  if(tokenfab_vulkan_sdk AND EXISTS "${tokenfab_vulkan_sdk}/Bin/vulkan-1.dll")
    install(FILES "${tokenfab_vulkan_sdk}/Bin/vulkan-1.dll" DESTINATION bin)
  endif()
  set(tokenfab_dep_dirs "${tokenfab_qt_bin}" "${tokenfab_vulkan_sdk}/Bin" "$ENV{VCPKG_INSTALLED_DIR}/x64-windows/bin")
  install(CODE "
    file(GET_RUNTIME_DEPENDENCIES
      EXECUTABLES \"\${CMAKE_INSTALL_PREFIX}/bin/tokenfab-cli.exe\"
      RESOLVED_DEPENDENCIES_VAR deps UNRESOLVED_DEPENDENCIES_VAR missing
      DIRECTORIES ${tokenfab_dep_dirs}
      PRE_EXCLUDE_REGEXES \"^api-ms-\" \"^ext-ms-\" \"^vulkan-1\"
      POST_EXCLUDE_REGEXES \".*[Ss]ystem32/.*\")
    foreach(dep \${deps})
      file(INSTALL \"\${dep}\" DESTINATION \"\${CMAKE_INSTALL_PREFIX}/bin\")
    endforeach()
    if(missing)
      message(WARNING \"unresolved runtime dependencies: \${missing}\")
    endif()")
endif()

if(APPLE)
  # The programs stay in bin/ (no .app bundle yet: app/gui decides that); libraries go to lib/
  # with rpath @executable_path/../lib, MoltenVK is registered as the loader's driver through
  # share/vulkan/icd.d (the loader searches <prefix>/share/vulkan/icd.d relative to itself
  # only when VK_ICD_FILENAMES/VK_DRIVER_FILES is set, so the launcher sets it: docs/packaging.md).
  set_property(TARGET tokenfab-cli APPEND PROPERTY INSTALL_RPATH "@executable_path/../lib")
  if(TARGET tokenfab)
    set_property(TARGET tokenfab APPEND PROPERTY INSTALL_RPATH "@executable_path/../lib")
  endif()
  if(tokenfab_vulkan_sdk)
    file(GLOB tokenfab_vk_loader "${tokenfab_vulkan_sdk}/lib/libvulkan.1*.dylib")
    file(GLOB tokenfab_moltenvk "${tokenfab_vulkan_sdk}/lib/libMoltenVK.dylib")
    if(tokenfab_vk_loader)
      install(FILES ${tokenfab_vk_loader} DESTINATION lib)
    endif()
    if(tokenfab_moltenvk)
      install(FILES ${tokenfab_moltenvk} DESTINATION lib)
      # The ICD manifest, pointing at the bundled library relative to the manifest.
      file(WRITE "${CMAKE_BINARY_DIR}/packaging/MoltenVK_icd.json"
        "{\n  \"file_format_version\": \"1.0.0\",\n  \"ICD\": {\n    \"library_path\": \"../../../lib/libMoltenVK.dylib\",\n"
        "    \"api_version\": \"1.2.0\",\n    \"is_portability_driver\": true\n  }\n}\n")
      install(FILES "${CMAKE_BINARY_DIR}/packaging/MoltenVK_icd.json" DESTINATION share/vulkan/icd.d)
    endif()
  endif()
  find_program(TOKENFAB_MACDEPLOYQT macdeployqt HINTS "${tokenfab_qt_bin}")
  install(CODE "
    file(GET_RUNTIME_DEPENDENCIES
      EXECUTABLES \"\${CMAKE_INSTALL_PREFIX}/bin/tokenfab-cli\"
      RESOLVED_DEPENDENCIES_VAR deps UNRESOLVED_DEPENDENCIES_VAR missing
      DIRECTORIES \"${tokenfab_vulkan_sdk}/lib\" /opt/homebrew/lib /usr/local/lib
      POST_EXCLUDE_REGEXES \"^/usr/lib/\" \"^/System/\" \"libvulkan\" \"@rpath\")
    foreach(dep \${deps})
      file(INSTALL \"\${dep}\" DESTINATION \"\${CMAKE_INSTALL_PREFIX}/lib\" FOLLOW_SYMLINK_CHAIN)
    endforeach()")
  if(TARGET tokenfab AND TOKENFAB_MACDEPLOYQT)
    get_target_property(tokenfab_is_bundle tokenfab MACOSX_BUNDLE)
    if(tokenfab_is_bundle)
      install(CODE "
        execute_process(COMMAND \"${TOKENFAB_MACDEPLOYQT}\" \"\${CMAKE_INSTALL_PREFIX}/tokenfab.app\" -always-overwrite
                        RESULT_VARIABLE rc)
        if(NOT rc EQUAL 0)
          message(FATAL_ERROR \"macdeployqt failed: \${rc}\")
        endif()")
    else()
      # A plain executable: pull in the Qt frameworks it links like any other library.
      install(CODE "
        file(GET_RUNTIME_DEPENDENCIES
          EXECUTABLES \"\${CMAKE_INSTALL_PREFIX}/bin/tokenfab\"
          RESOLVED_DEPENDENCIES_VAR deps
          DIRECTORIES \"${tokenfab_qt_bin}/../lib\" /opt/homebrew/lib /usr/local/lib
          POST_EXCLUDE_REGEXES \"^/usr/lib/\" \"^/System/\" \"libvulkan\")
        foreach(dep \${deps})
          file(INSTALL \"\${dep}\" DESTINATION \"\${CMAKE_INSTALL_PREFIX}/lib\" FOLLOW_SYMLINK_CHAIN)
        endforeach()")
    endif()
  endif()
endif()

# ---- CPack ----
set(CPACK_PACKAGE_NAME "tokenfab")
set(CPACK_PACKAGE_VENDOR "The tokenfab developers")
set(CPACK_PACKAGE_CONTACT "tokenfab developers <tokenfab@users.noreply.github.com>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_DESCRIPTION
    "tokenfab runs GGUF language models on the GPU through Vulkan compute shaders and shows how\n"
    "text is produced: every token's probability and alternatives, what each sampler stage keeps,\n"
    "and how fast the model runs. Includes the tokenfab-cli command-line tool and a demo model.")
string(REPLACE ";" "" CPACK_PACKAGE_DESCRIPTION "${CPACK_PACKAGE_DESCRIPTION}")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_HOMEPAGE_URL "https://github.com/tokenfab/tokenfab")
set(CPACK_RESOURCE_FILE_README "${PROJECT_SOURCE_DIR}/README.md")
set(CPACK_PACKAGE_INSTALL_DIRECTORY "tokenfab")
set(CPACK_PACKAGE_EXECUTABLES "tokenfab;tokenfab")
set(CPACK_PACKAGE_CHECKSUM SHA256)
set(CPACK_STRIP_FILES ON)

if(APPLE)
  set(CPACK_GENERATOR "DragNDrop")
  set(CPACK_DMG_VOLUME_NAME "tokenfab ${PROJECT_VERSION}")
  set(CPACK_DMG_FORMAT "UDZO")
elseif(WIN32)
  set(CPACK_GENERATOR "NSIS")
  set(CPACK_NSIS_DISPLAY_NAME "tokenfab")
  set(CPACK_NSIS_PACKAGE_NAME "tokenfab")
  set(CPACK_NSIS_MUI_ICON "${PROJECT_SOURCE_DIR}/resources/icons/tokenfab.ico")
  set(CPACK_NSIS_MUI_UNIICON "${PROJECT_SOURCE_DIR}/resources/icons/tokenfab.ico")
  set(CPACK_NSIS_INSTALLED_ICON_NAME "bin\\\\tokenfab.exe")
  set(CPACK_NSIS_URL_INFO_ABOUT "${CPACK_PACKAGE_HOMEPAGE_URL}")
  set(CPACK_NSIS_ENABLE_UNINSTALL_BEFORE_INSTALL ON)
  set(CPACK_NSIS_MODIFY_PATH OFF)
  # Start-menu shortcut to the GUI (CPACK_PACKAGE_EXECUTABLES) and a desktop one.
  set(CPACK_CREATE_DESKTOP_LINKS "tokenfab")
else()
  set(CPACK_GENERATOR "DEB;TGZ")
  set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
  set(CPACK_DEBIAN_PACKAGE_SECTION "science")
  set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
  # Depends computed by dpkg-shlibdeps from the installed binaries, not written by hand.
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
  # libvulkan1 (linked) is only the loader: a driver is needed to run anything. lavapipe
  # (mesa-vulkan-drivers) works everywhere, GPU drivers come from the system.
  set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "mesa-vulkan-drivers")
  set(CPACK_DEBIAN_PACKAGE_SUGGESTS "vulkan-tools")
endif()

include(CPack)
