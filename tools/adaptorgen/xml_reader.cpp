// xml_reader.cpp — a small expat state machine over node/interface/method/signal/property/
// arg/annotation; anything else (doc comments, unknown elements) is skipped.
#include "xml_reader.hpp"

#include "type_mapping.hpp"

#include <expat.h>

#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>

namespace adaptorgen {

namespace {

struct Reader {
    std::string path;
    XML_Parser parser = nullptr;
    std::vector<Interface> interfaces;
    std::vector<std::string> stack;  // element names, outermost first
    std::string error;               // first error; parsing stops there

    int line() const { return static_cast<int>(XML_GetCurrentLineNumber(parser)); }

    void fail(const std::string& message) {
        if (error.empty()) error = path + ":" + std::to_string(line()) + ": " + message;
        XML_StopParser(parser, XML_FALSE);
    }

    static const char* attr(const char** attrs, const char* name) {
        for (int i = 0; attrs[i]; i += 2)
            if (std::strcmp(attrs[i], name) == 0) return attrs[i + 1];
        return nullptr;
    }

    std::string required(const char** attrs, const char* element, const char* name) {
        const char* v = attr(attrs, name);
        if (!v) {
            fail(std::string("<") + element + "> needs a '" + name + "' attribute");
            return {};
        }
        return v;
    }

    const std::string& parent() const {
        static const std::string none;
        return stack.empty() ? none : stack.back();
    }

    void check_member(const std::string& kind, const std::string& name) {
        if (!is_valid_member_name(name)) fail("invalid " + kind + " name '" + name + "'");
    }

    void check_type(const std::string& type) {
        std::string why;
        if (!is_single_complete_type(type, why)) fail("invalid D-Bus type '" + type + "': " + why);
    }

    void start(const char* el, const char** attrs) {
        const std::string e = el;
        if (e == "interface" && (parent() == "node")) {
            Interface i;
            i.name = required(attrs, el, "name");
            i.line = line();
            if (!i.name.empty() && !is_valid_interface_name(i.name))
                fail("invalid interface name '" + i.name + "'");
            interfaces.push_back(std::move(i));
        } else if (e == "method" && parent() == "interface") {
            Method m;
            m.name = required(attrs, el, "name");
            m.line = line();
            check_member("method", m.name);
            interfaces.back().methods.push_back(std::move(m));
        } else if (e == "signal" && parent() == "interface") {
            Signal s;
            s.name = required(attrs, el, "name");
            s.line = line();
            check_member("signal", s.name);
            interfaces.back().signals.push_back(std::move(s));
        } else if (e == "property" && parent() == "interface") {
            Property p;
            p.name = required(attrs, el, "name");
            p.type = required(attrs, el, "type");
            p.access = required(attrs, el, "access");
            p.line = line();
            check_member("property", p.name);
            check_type(p.type);
            if (p.access != "read" && p.access != "write" && p.access != "readwrite")
                fail("property access must be read, write or readwrite, not '" + p.access + "'");
            interfaces.back().properties.push_back(std::move(p));
        } else if (e == "arg" && (parent() == "method" || parent() == "signal")) {
            Arg a;
            const char* name = attr(attrs, "name");
            a.name = name ? name : "";
            a.type = required(attrs, el, "type");
            a.line = line();
            check_type(a.type);
            const char* direction = attr(attrs, "direction");
            if (parent() == "method") {
                const std::string d = direction ? direction : "in";
                if (d != "in" && d != "out") fail("arg direction must be in or out, not '" + d + "'");
                a.out = d == "out";
                auto& m = interfaces.back().methods.back();
                (a.out ? m.out : m.in).push_back(std::move(a));
            } else {
                if (direction && std::strcmp(direction, "out") != 0)
                    fail("signal args have no direction other than out");
                interfaces.back().signals.back().args.push_back(std::move(a));
            }
        } else if (e == "annotation") {
            const std::string name = required(attrs, el, "name");
            const std::string value = required(attrs, el, "value");
            const std::string& p = parent();
            if (p == "interface") interfaces.back().annotations[name] = value;
            else if (p == "method") interfaces.back().methods.back().annotations[name] = value;
            else if (p == "signal") interfaces.back().signals.back().annotations[name] = value;
            else if (p == "property") interfaces.back().properties.back().annotations[name] = value;
        }
        stack.push_back(e);
    }

    void end() { stack.pop_back(); }
};

}  // namespace

std::vector<Interface> read_interfaces(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error(path + ": cannot open: " + std::strerror(errno));
    std::ostringstream text;
    text << in.rdbuf();
    const std::string xml = text.str();

    Reader reader;
    reader.path = path;
    std::unique_ptr<XML_ParserStruct, decltype(&XML_ParserFree)> parser(XML_ParserCreate(nullptr),
                                                                        &XML_ParserFree);
    if (!parser) throw std::runtime_error("out of memory");
    reader.parser = parser.get();
    XML_SetUserData(parser.get(), &reader);
    XML_SetElementHandler(
        parser.get(),
        [](void* ud, const XML_Char* el, const XML_Char** attrs) { static_cast<Reader*>(ud)->start(el, attrs); },
        [](void* ud, const XML_Char*) { static_cast<Reader*>(ud)->end(); });
    if (XML_Parse(parser.get(), xml.data(), static_cast<int>(xml.size()), XML_TRUE) == XML_STATUS_ERROR) {
        if (!reader.error.empty()) throw std::runtime_error(reader.error);
        throw std::runtime_error(path + ":" + std::to_string(XML_GetCurrentLineNumber(parser.get())) +
                                 ": " + XML_ErrorString(XML_GetErrorCode(parser.get())));
    }
    if (!reader.error.empty()) throw std::runtime_error(reader.error);
    if (reader.interfaces.empty()) throw std::runtime_error(path + ": no <interface> found");
    return std::move(reader.interfaces);
}

}  // namespace adaptorgen
