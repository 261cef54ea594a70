# OffshootCodegen.cmake — generate C++ from a class's introspection XML.
#
#   offshoot_add_adaptor(<target> <xml>)  worker side: offshoot-adaptorgen → <Iface>_adaptor.hpp
#   offshoot_add_proxy(<target> <xml>)    client side: sdbus-c++-xml2cpp --proxy → <Iface>_proxy.h
#   offshoot_add_class(<name> XML <xml> SOURCES … [CONFIG <ini>])
#                                         a class plugin + its vendor config
# Generated headers land in ${CMAKE_CURRENT_BINARY_DIR}/generated and are added to the
# target's include path; they are regenerated when the XML changes and never committed.
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
  target_include_directories(${target} PUBLIC "${CMAKE_CURRENT_BINARY_DIR}/generated")
endfunction()

# Worker side: ${CMAKE_CURRENT_BINARY_DIR}/generated/<xml name minus .xml>_adaptor.hpp, e.g.
# org.offshoot1.example.Counter_adaptor.hpp, regenerated when the XML or the generator change.
function(offshoot_add_adaptor target xml)
  get_filename_component(xml "${xml}" ABSOLUTE)
  get_filename_component(name "${xml}" NAME)
  string(REGEX REPLACE "\\.xml$" "" iface "${name}")
  set(dir "${CMAKE_CURRENT_BINARY_DIR}/generated")
  set(out "${dir}/${iface}_adaptor.hpp")
  add_custom_command(OUTPUT "${out}"
    COMMAND ${CMAKE_COMMAND} -E make_directory "${dir}"
    COMMAND $<TARGET_FILE:offshoot-adaptorgen> --adaptor=${out} ${xml}
    DEPENDS "${xml}" offshoot-adaptorgen
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
