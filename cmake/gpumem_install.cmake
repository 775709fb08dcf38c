# Install rules and the exported CMake package: after `cmake --install`, another project
# uses `find_package(gpumem)` and links `gpumem::gpumem`; the `gpumem` command (bin/), the shim
# (lib/libgpumem_preload.so), the headers and the example configurations
# (share/gpumem/config/) are installed too.
include(CMakePackageConfigHelpers)

install(TARGETS gpumem EXPORT gpumemTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS gpumem_preload LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/" DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
# The example configurations, for `GPUMEM_CONFIG=<prefix>/share/gpumem/config/pool.toml`.
install(DIRECTORY "${PROJECT_SOURCE_DIR}/config/" DESTINATION ${CMAKE_INSTALL_DATADIR}/gpumem/config
  FILES_MATCHING PATTERN "*.toml")
install(EXPORT gpumemTargets NAMESPACE gpumem:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/gpumem)

configure_package_config_file("${PROJECT_SOURCE_DIR}/cmake/gpumemConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/gpumemConfig.cmake"
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/gpumem)
write_basic_package_version_file("${PROJECT_BINARY_DIR}/gpumemConfigVersion.cmake"
  COMPATIBILITY SameMinorVersion)
install(FILES "${PROJECT_BINARY_DIR}/gpumemConfig.cmake" "${PROJECT_BINARY_DIR}/gpumemConfigVersion.cmake"
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/gpumem)
