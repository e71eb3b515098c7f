# `cmake --install` makes Dash a CMake package for downstream compilers:
# `find_package(Dash CONFIG)` imports the Dash libraries (linking MLIR's
# exported `MLIR` target, i.e. libMLIR.so), and the install tree holds the
# headers with their generated .inc files, the ODS .td files, the mlir-opt
# plugins and the tools.
#
# add_mlir_library puts every library into the export set `MLIRTargets` (the
# name comes from MLIR's CMake); it is installed below as DashTargets.cmake.
# So a library made with add_mlir_library must link only exported or imported
# targets.
include(CMakePackageConfigHelpers)

set(DASH_INSTALL_LIBDIR lib${LLVM_LIBDIR_SUFFIX})
set(DASH_INSTALL_PACKAGE_DIR ${DASH_INSTALL_LIBDIR}/cmake/dash)

# Plain add_library targets that exported libraries link (e.g. DashOracle
# for DashCheck) join the export set; they must give their include
# directories as $<BUILD_INTERFACE:...>.
get_property(DASH_EXPORTED_TARGETS GLOBAL PROPERTY MLIR_EXPORTS)
set(dash_plain_libraries)
set(dash_worklist ${DASH_EXPORTED_TARGETS})
while(dash_worklist)
  list(POP_FRONT dash_worklist target)
  get_target_property(links ${target} LINK_LIBRARIES)
  foreach(link ${links})
    if(TARGET ${link} AND NOT link IN_LIST DASH_EXPORTED_TARGETS)
      get_target_property(imported ${link} IMPORTED)
      if(NOT imported)
        list(APPEND DASH_EXPORTED_TARGETS ${link})
        list(APPEND dash_plain_libraries ${link})
        list(APPEND dash_worklist ${link})
      endif()
    endif()
  endforeach()
endwhile()
install(TARGETS ${dash_plain_libraries} EXPORT MLIRTargets
  ARCHIVE DESTINATION ${DASH_INSTALL_LIBDIR})

foreach(target ${DASH_EXPORTED_TARGETS})
  target_include_directories(${target} INTERFACE $<INSTALL_INTERFACE:include>)
endforeach()

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/dash DESTINATION include
  FILES_MATCHING PATTERN "*.h" PATTERN "*.td")
install(DIRECTORY ${PROJECT_BINARY_DIR}/include/dash DESTINATION include
  FILES_MATCHING PATTERN "*.inc" PATTERN "CMakeFiles" EXCLUDE)

# LLVM's install rpath is only $ORIGIN/../lib: add the directory of
# libMLIR.so, which is not installed here.
set(dash_installed_binaries DashDialectPlugin DashPassPlugin dash-opt dash-run
  DashC)
set_property(TARGET ${dash_installed_binaries} APPEND PROPERTY INSTALL_RPATH
  ${LLVM_LIBRARY_DIR})
install(TARGETS DashDialectPlugin DashPassPlugin
  LIBRARY DESTINATION ${DASH_INSTALL_LIBDIR})
install(TARGETS dash-opt dash-run RUNTIME DESTINATION bin)
install(TARGETS dash-aot-run RUNTIME DESTINATION bin)

# The C API and the ctypes package over it: <prefix>/python/dash finds
# <prefix>/lib/libDashC.so by itself (PYTHONPATH=<prefix>/python).
install(TARGETS DashC LIBRARY DESTINATION ${DASH_INSTALL_LIBDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/dash-c DESTINATION include
  FILES_MATCHING PATTERN "*.h")
install(DIRECTORY ${PROJECT_SOURCE_DIR}/python/dash DESTINATION python
  FILES_MATCHING PATTERN "*.py" PATTERN "__pycache__" EXCLUDE)

install(EXPORT MLIRTargets FILE DashTargets.cmake
  DESTINATION ${DASH_INSTALL_PACKAGE_DIR})
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/DashConfig.cmake.in
  ${PROJECT_BINARY_DIR}/${DASH_INSTALL_PACKAGE_DIR}/DashConfig.cmake
  INSTALL_DESTINATION ${DASH_INSTALL_PACKAGE_DIR}
  PATH_VARS DASH_INSTALL_LIBDIR)
install(FILES ${PROJECT_BINARY_DIR}/${DASH_INSTALL_PACKAGE_DIR}/DashConfig.cmake
  DESTINATION ${DASH_INSTALL_PACKAGE_DIR})
