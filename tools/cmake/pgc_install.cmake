# The installed CMake package: `cmake --install BUILD --prefix P` puts the libraries, their
# public headers, the pgc executable and pgcConfig.cmake under P, so that another project can
# find_package(pgc CONFIG REQUIRED) and link pgc::nodes (see tools/examples). The build-tree
# targets and their pgc:: aliases stay as the module folders define them.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(pgc_package_dir ${CMAKE_INSTALL_LIBDIR}/cmake/pgc)

foreach(module core coding net nodes)
  set_target_properties(pgc_${module} PROPERTIES EXPORT_NAME ${module})
  # The headers are C++20: users get the standard from the targets, not from a variable they
  # must know to set.
  target_compile_features(pgc_${module} INTERFACE cxx_std_20)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/${module}/include/
          DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
endforeach()
# The wire schema's generated header (net/CMakeLists.txt compiles it into the build tree) is
# included by the net headers: installed next to them.
install(FILES ${PROJECT_BINARY_DIR}/net/generated/pgc/net/schema/pgc.capnp.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/pgc/net/schema)

# pgc_options stays a PRIVATE dependency, but a static library exports its private link
# dependencies as $<LINK_ONLY:...>, so the target must be in the export set. Users get only its
# link options (e.g. -fsanitize=address of a sanitizer build, which the archives need), never
# its warning flags.
set_target_properties(pgc_options PROPERTIES EXPORT_NAME options)
install(TARGETS pgc_core pgc_coding pgc_net pgc_nodes pgc_options
        EXPORT pgcTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT pgcTargets NAMESPACE pgc:: DESTINATION ${pgc_package_dir})

install(TARGETS pgc RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/pgcConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/pgcConfig.cmake
                              INSTALL_DESTINATION ${pgc_package_dir})
# 0.x: a minor version may break the API.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/pgcConfigVersion.cmake
                                 VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/pgcConfig.cmake ${PROJECT_BINARY_DIR}/pgcConfigVersion.cmake
        DESTINATION ${pgc_package_dir})
