// type_mapping.hpp — what the generators stand on: D-Bus name and signature checks, the D-Bus → C++
// type mapping (the types sdbus-c++-xml2cpp uses for proxies, except 'v' →
// offshoot::Variant), and C++ spelling helpers (identifiers, string literals, namespaces).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace adaptorgen {

bool is_valid_interface_name(std::string_view name);
bool is_valid_member_name(std::string_view name);
// One complete type, containers nested at most 32 deep each; `why` says what is wrong.
bool is_single_complete_type(std::string_view sig, std::string& why);

// The C++ type for a single complete D-Bus type, e.g. "a{sv}" →
// "std::map<std::string, offshoot::Variant>".
std::string cpp_type(std::string_view sig);

// `name` as a usable C++ identifier (invalid characters → '_', keywords get a trailing '_');
// `fallback` when it is empty.
std::string cpp_identifier(std::string_view name, const std::string& fallback);
// A C++ string literal with the bytes of `s` (quotes included).
std::string cpp_string_literal(std::string_view s);

// "org.offshoot1.example.Counter" → {"org", "offshoot1", "example"} and "Counter".
std::vector<std::string> namespace_of(const std::string& interface);
std::string class_base_name(const std::string& interface);

}  // namespace adaptorgen
