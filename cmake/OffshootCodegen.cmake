# OffshootCodegen.cmake — generate C++ from a class's introspection XML.
#
#   offshoot_add_adaptor(<target> <xml>)  worker side: offshoot-adaptorgen → <Iface>_adaptor.hpp
#   offshoot_add_proxy(<target> <xml>)    client side: sdbus-c++-xml2cpp --proxy → <Iface>_proxy.h
#   offshoot_add_class(<name> XML <xml> SOURCES … [CONFIG <ini>])
#                                         a class plugin + its vendor config
# Generated headers land in ${CMAKE_CURRENT_BINARY_DIR}/generated and are added to the
# target's include path; they are regenerated when the XML changes and never committed.
#
# Used in two places: offshoot's own tree (targets offshoot-adaptorgen and offshoot-worker-lib
# exist) and an installed package (find_package(offshoot): offshootConfig.cmake defines the
# imported targets offshoot::adaptorgen and offshoot::worker, then includes this file). Out of
# tree, offshoot_add_class installs the plugin to OFFSHOOT_CLASS_PLUGIN_DIR and the config to
# OFFSHOOT_CLASS_CONFIG_DIR (see below), and substitutes @OFFSHOOT_CLASS_PLUGIN@ in the config
# with the plugin's absolute path.
find_program(OFFSHOOT_XML2CPP sdbus-c++-xml2cpp REQUIRED)

function(offshoot_add_proxy target xml)
  get_filename_component(xml "${xml}" ABSOLUTE)
  get_filename_component(base "${xml}" NAME_WE)
  get_filename_component(name "${xml}" NAME)
  string(REGEX REPLACE "\\.xml$" "" iface "${name}")
  set(out "${CMAKE_CURRENT_BINARY_DIR}/generated/${iface}_proxy.h")
  add_custom_command(OUTPUT "${out}"
    COMMAND ${CMAKE_COMMAND} -E make_directory "${CMAKE_CURRENT_BINARY_DIR}/generated"
    COMMAND ${OFFSHOOT_XML2CPP} --proxy=${out} ${xml}
    DEPENDS "${xml}"
    COMMENT "sdbus-c++-xml2cpp proxy for ${iface}")
  target_sources(${target} PRIVATE "${out}")
  target_include_directories(${target} PUBLIC "$<BUILD_INTERFACE:${CMAKE_CURRENT_BINARY_DIR}/generated>")
endfunction()

# Worker side: ${CMAKE_CURRENT_BINARY_DIR}/generated/<xml name minus .xml>_adaptor.hpp, e.g.
# org.offshoot1.example.Counter_adaptor.hpp, regenerated when the XML or the generator change.
function(offshoot_add_adaptor target xml)
  get_filename_component(xml "${xml}" ABSOLUTE)
  get_filename_component(name "${xml}" NAME)
  string(REGEX REPLACE "\\.xml$" "" iface "${name}")
  set(dir "${CMAKE_CURRENT_BINARY_DIR}/generated")
  set(out "${dir}/${iface}_adaptor.hpp")
  if(TARGET offshoot-adaptorgen)  # offshoot's own tree
    set(generator offshoot-adaptorgen)
    set(generator_dependency offshoot-adaptorgen)
  else()                          # an installed package
    set(generator offshoot::adaptorgen)
    set(generator_dependency "$<TARGET_FILE:offshoot::adaptorgen>")
  endif()
  add_custom_command(OUTPUT "${out}"
    COMMAND ${CMAKE_COMMAND} -E make_directory "${dir}"
    COMMAND $<TARGET_FILE:${generator}> --adaptor=${out} ${xml}
    DEPENDS "${xml}" ${generator_dependency}
    COMMENT "offshoot-adaptorgen adaptor for ${iface}"
    VERBATIM)
  target_sources(${target} PRIVATE "${out}")
  target_include_directories(${target} PRIVATE "${dir}")
endfunction()

# A class plugin: MODULE library <name> (file <lowercase name>.so, no "lib" prefix) in the
# build tree's and the install tree's plugin directory, built from SOURCES against the adaptor
# generated from XML; CONFIG (optional) is its vendor class config, copied next to the build
# tree's other configs and installed with them.
#   offshoot_add_class(counter XML ${OFFSHOOT_XML_DIR}/org.offshoot1.example.Counter.xml
#                      SOURCES counter/counter.cpp CONFIG counter/counter.conf)
function(offshoot_add_class name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "XML;CONFIG" "SOURCES")
  if(NOT arg_XML OR NOT arg_SOURCES)
    message(FATAL_ERROR "offshoot_add_class(${name}): XML and SOURCES are required")
  endif()
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "offshoot_add_class(${name}): unexpected arguments ${arg_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT TARGET offshoot-worker-lib)
    _offshoot_add_class_out_of_tree(${name} "${arg_XML}" "${arg_CONFIG}" ${arg_SOURCES})
    return()
  endif()
  string(TOLOWER "${name}" file_name)
  add_library(${name} MODULE ${arg_SOURCES})
  offshoot_add_adaptor(${name} "${arg_XML}")
  target_link_libraries(${name} PRIVATE offshoot-worker-lib)
  target_compile_options(${name} PRIVATE ${OFFSHOOT_WARNINGS})
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    OUTPUT_NAME "${file_name}"
    LIBRARY_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/${OFFSHOOT_PLUGIN_SUBDIR}"
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    # <libdir>/offshoot/classes → <libdir>, where liboffshoot-worker.so lives
    INSTALL_RPATH "$ORIGIN/../..")
  install(TARGETS ${name} LIBRARY DESTINATION ${OFFSHOOT_PLUGIN_SUBDIR})
  if(arg_CONFIG)
    get_filename_component(config "${arg_CONFIG}" ABSOLUTE)
    get_filename_component(config_name "${config}" NAME)
    configure_file("${config}" "${CMAKE_BINARY_DIR}/${OFFSHOOT_CLASSCONF_SUBDIR}/${config_name}" COPYONLY)
    install(FILES "${config}" DESTINATION ${OFFSHOOT_CLASSCONF_SUBDIR})
  endif()
endfunction()

# Out of tree (a project that did find_package(offshoot)):
# - the plugin is built in the current binary directory and installed to
#   OFFSHOOT_CLASS_PLUGIN_DIR (default <libdir>/offshoot/classes under the project's prefix);
# - the config is written twice, with @OFFSHOOT_CLASS_PLUGIN@ replaced by the plugin's absolute
#   path: for the build tree in ${CMAKE_BINARY_DIR}/classes.d/ (point offshootd's --config-dir
#   there to try the class before installing it), and at install time into
#   OFFSHOOT_CLASS_CONFIG_DIR (default lib/offshoot/classes.d under the prefix: offshootd's
#   vendor directory when both share a prefix; otherwise copy it to /etc/offshoot/classes.d).
#   The install-time copy uses the prefix given to `cmake --install --prefix`, never DESTDIR.
set(OFFSHOOT_CLASS_PLUGIN_DIR "${CMAKE_INSTALL_LIBDIR}/offshoot/classes" CACHE STRING
    "Where offshoot_add_class installs class plugins (relative: under the install prefix)")
set(OFFSHOOT_CLASS_CONFIG_DIR "lib/offshoot/classes.d" CACHE STRING
    "Where offshoot_add_class installs class configs (relative: under the install prefix)")

function(_offshoot_add_class_out_of_tree name xml config)
  set(sources ${ARGN})
  string(TOLOWER "${name}" file_name)
  add_library(${name} MODULE ${sources})
  offshoot_add_adaptor(${name} "${xml}")
  target_link_libraries(${name} PRIVATE offshoot::worker)
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    OUTPUT_NAME "${file_name}"
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    # The installed plugin finds liboffshoot-worker where the offshoot package has it.
    INSTALL_RPATH_USE_LINK_PATH ON)
  install(TARGETS ${name} LIBRARY DESTINATION ${OFFSHOOT_CLASS_PLUGIN_DIR})
  if(NOT config)
    return()
  endif()
  get_filename_component(config "${config}" ABSOLUTE)
  get_filename_component(config_name "${config}" NAME)

  # Build tree: @OFFSHOOT_CLASS_PLUGIN@ → the built plugin (a generator expression, hence
  # configure_file then file(GENERATE)).
  set(OFFSHOOT_CLASS_PLUGIN "$<TARGET_FILE:${name}>")
  configure_file("${config}" "${CMAKE_CURRENT_BINARY_DIR}/${config_name}.build.in" @ONLY)
  file(GENERATE OUTPUT "${CMAKE_BINARY_DIR}/classes.d/${config_name}"
       INPUT "${CMAKE_CURRENT_BINARY_DIR}/${config_name}.build.in")

  # Install tree: substituted at install time, so `cmake --install --prefix P` is honoured.
  set(plugin_dir "${OFFSHOOT_CLASS_PLUGIN_DIR}")
  if(NOT IS_ABSOLUTE "${plugin_dir}")
    set(plugin_dir "\${CMAKE_INSTALL_PREFIX}/${plugin_dir}")
  endif()
  set(config_dir "${OFFSHOOT_CLASS_CONFIG_DIR}")
  if(NOT IS_ABSOLUTE "${config_dir}")
    set(config_dir "\${CMAKE_INSTALL_PREFIX}/${config_dir}")
  endif()
  set(staged "${CMAKE_CURRENT_BINARY_DIR}/offshoot-install/${config_name}")
  install(CODE "
    file(READ \"${config}\" _offshoot_text)
    string(REPLACE \"@OFFSHOOT_CLASS_PLUGIN@\" \"${plugin_dir}/$<TARGET_FILE_NAME:${name}>\" _offshoot_text \"\${_offshoot_text}\")
    file(WRITE \"${staged}\" \"\${_offshoot_text}\")
    file(INSTALL DESTINATION \"${config_dir}\" TYPE FILE FILES \"${staged}\")
  ")
endfunction()
