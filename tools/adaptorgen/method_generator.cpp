// method_generator.cpp — see method_generator.hpp.
#include "method_generator.hpp"

#include "type_mapping.hpp"

#include <stdexcept>

namespace adaptorgen {

namespace {

void write_declaration(std::ostream& o, const Method& m) {
    if (is_async(m)) {
        const std::string params = param_list(params_of(m.in));
        o << "    // Asynchronous: answer through `result`, now or later, from any thread (offshoot/result.hpp).\n"
          << "    virtual void " << cpp_member(m.name) << "(" << async_result_type(m.out) << " result"
          << (params.empty() ? "" : ", " + params) << ") = 0;\n";
    } else {
        o << "    virtual " << result_type(m.out) << " " << cpp_member(m.name) << "(" << param_list(params_of(m.in))
          << ") = 0;\n";
    }
}

// Opens the handler; while it runs, Object::caller() names offshoot_m's connection.
void write_handler_signature(std::ostream& o, const Method& m) {
    o << "\n    static int offshoot_method_" << m.name
      << "(sd_bus_message* offshoot_m, void* offshoot_userdata, sd_bus_error* offshoot_error) noexcept {\n"
      << "        const offshoot::detail::CurrentCall offshoot_current(offshoot_m);\n";
}

// Declares offshoot_in0… and reads the in-args into them, in order.
void write_read_in_args(std::ostream& o, const Method& m) {
    for (size_t i = 0; i < m.in.size(); ++i)
        o << "            " << cpp_type(m.in[i].type) << " offshoot_in" << i << "{};\n"
          << "            offshoot::marshal::read(offshoot_m, offshoot_in" << i << ");\n";
}

// The handler of an asynchronous method: the reply is deferred before the virtual is called, so
// that it can be answered from inside the call as well as after it; an exception answers it
// unless the method did already.
void write_async_handler(std::ostream& o, const Method& m) {
    write_handler_signature(o, m);
    o << "        std::shared_ptr<offshoot::detail::PendingReply> offshoot_pending;\n"
      << "        try {\n"
      << "            offshoot_pending = offshoot_self(offshoot_userdata).defer_reply(offshoot_m);\n";
    write_read_in_args(o, m);
    o << "            offshoot_self(offshoot_userdata)." << cpp_member(m.name) << "(" << async_result_type(m.out)
      << "(offshoot_pending)";
    for (size_t i = 0; i < m.in.size(); ++i) o << ", offshoot_in" << i;
    o << ");\n"
      << "            return offshoot::detail::handler_returned(*offshoot_pending);\n"
      << "        } catch (...) {\n"
      << "            if (!offshoot_pending) return offshoot::detail::exception_to_error(offshoot_error);\n"
      << "            return offshoot::detail::handler_threw(*offshoot_pending, offshoot_error);\n"
      << "        }\n"
      << "    }\n";
}

// The handler of a synchronous method: the virtual's result is the reply.
void write_sync_handler(std::ostream& o, const Method& m) {
    write_handler_signature(o, m);
    o << "        try {\n";
    write_read_in_args(o, m);
    std::string call = "offshoot_self(offshoot_userdata)." + cpp_member(m.name) + "(";
    for (size_t i = 0; i < m.in.size(); ++i) call += (i ? ", " : "") + ("offshoot_in" + std::to_string(i));
    call += ")";
    if (m.out.empty())
        o << "            " << call << ";\n"
          << "            offshoot::marshal::reply(offshoot_m);\n";
    else if (m.out.size() == 1)
        o << "            const auto offshoot_out = " << call << ";\n"
          << "            offshoot::marshal::reply(offshoot_m, offshoot_out);\n";
    else
        o << "            const auto offshoot_out = " << call << ";\n"
          << "            offshoot::marshal::reply_tuple(offshoot_m, offshoot_out);\n";
    o << "            return 1;\n"
      << "        } catch (...) {\n"
      << "            return offshoot::detail::exception_to_error(offshoot_error);\n"
      << "        }\n"
      << "    }\n";
}

}  // namespace

bool is_async(const Method& m) {
    const auto it = m.annotations.find("org.freedesktop.DBus.Method.Async");
    return it != m.annotations.end() && (it->second == "server" || it->second == "clientserver");
}

void write_method_declarations(std::ostream& o, const Interface& iface) {
    if (!iface.methods.empty()) o << "\n    // Methods\n";
    for (const auto& m : iface.methods) write_declaration(o, m);
}

void write_method_handlers(std::ostream& o, const Interface& iface) {
    for (const auto& m : iface.methods) {
        if (is_async(m)) write_async_handler(o, m);
        else write_sync_handler(o, m);
    }
}

std::string method_flags(const Interface& iface, const Method& m) {
    std::string flags = "SD_BUS_VTABLE_UNPRIVILEGED";
    if (annotation_true(m.annotations, "org.freedesktop.DBus.Method.NoReply")) {
        if (!m.out.empty()) throw std::runtime_error(iface.name + "." + m.name + " is NoReply but has out-args");
        flags += " | SD_BUS_VTABLE_METHOD_NO_REPLY";
    }
    if (annotation_true(m.annotations, "org.freedesktop.DBus.Deprecated")) flags += " | SD_BUS_VTABLE_DEPRECATED";
    return flags;
}

}  // namespace adaptorgen
