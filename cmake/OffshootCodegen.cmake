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
