// marshal.cpp — the failure paths of offshoot::marshal: turn sd-bus's negative errno into
// offshoot::Error messages that say what was expected and what was there.
#include <offshoot/marshal.hpp>

#include <cstring>
#include <string>

namespace offshoot::marshal::detail {

namespace {
// What the message holds at its read position, in signature notation.
std::string describe_next(sd_bus_message* m) {
    char type = 0;
    const char* contents = nullptr;
    const int r = sd_bus_message_peek_type(m, &type, &contents);
    if (r < 0) return "an unreadable value (" + errno_text(r) + ")";
    if (r == 0) return "no more values";
    const std::string inner = contents ? contents : "";
    switch (type) {
    case SD_BUS_TYPE_ARRAY: return "'a" + inner + "'";
    case SD_BUS_TYPE_STRUCT: return "'(" + inner + ")'";
    case SD_BUS_TYPE_DICT_ENTRY: return "'{" + inner + "}'";
    case SD_BUS_TYPE_VARIANT: return "'v' holding '" + inner + "'";
    default: return std::string("'") + type + "'";
    }
}
}  // namespace

void throw_append_failed(int r, std::string_view signature) {
    std::string what = "cannot append a value of type '" + std::string(signature) + "'";
    if (r == -EINVAL)
        what += ": the value is not valid for its D-Bus type (invalid UTF-8, object path or signature?)";
    else
        what += ": " + errno_text(r);
    throw Error(error_name::invalid_args, what);
}

void throw_read_failed(sd_bus_message* m, int r, std::string_view expected) {
    std::string what = "expected a value of type '" + std::string(expected) + "' but found " +
                       describe_next(m);
    if (r < 0 && r != -ENXIO) what += " (" + errno_text(r) + ")";
    throw Error(error_name::invalid_args, what);
}

void throw_invalid_string(std::string_view what, std::string_view) {
    throw Error(error_name::invalid_args,
                "cannot append a value of type '" + std::string(what) + "': it contains a NUL byte");
}

void throw_node_mismatch() {
    throw Error(error_name::invalid_args, "variant content does not match its signature");
}

}  // namespace offshoot::marshal::detail
