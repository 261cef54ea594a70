// introspection_test.cpp — what a worker says about its object at run time matches the class's
// XML, member by member (methods with their arguments' names, types and directions, signals,
// properties with type, access and change-signal behaviour), for every example class.
#include <expat.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "daemon_test.hpp"
#include "offshoot/test/paths.hpp"

namespace offshoot::test {
namespace {

// An interface reduced to what a caller depends on, one line per member, sorted.
using Canonical = std::map<std::string, std::string>;  // member key → description

struct Parser {
    std::map<std::string, Canonical> interfaces;
    std::string error;

    // Parse state.
    std::string iface;
    std::string member_kind;  // method, signal, property
    std::string member_name;
    std::vector<std::string> args;
    std::string prop_type, prop_access, prop_emits;
    std::string iface_emits = "true";  // an interface-wide EmitsChangedSignal annotation
    std::map<std::string, std::pair<std::string, std::string>> props;  // name → (type access, own emits)

    static const char* attr(const char** atts, const char* name) {
        for (int i = 0; atts[i]; i += 2)
            if (std::string(atts[i]) == name) return atts[i + 1];
        return nullptr;
    }

    void start(const std::string& el, const char** atts) {
        auto get = [&](const char* n) {
            const char* v = attr(atts, n);
            return std::string(v ? v : "");
        };
        if (el == "interface") {
            iface = get("name");
            iface_emits = "true";
            props.clear();
        } else if (iface.empty()) {
            return;
        } else if (member_kind.empty() && (el == "method" || el == "signal" || el == "property")) {
            member_kind = el;
            member_name = get("name");
            args.clear();
            if (el == "property") {
                prop_type = get("type");
                prop_access = get("access");
                prop_emits.clear();
            }
        } else if (el == "arg" && !member_kind.empty()) {
            std::string dir = get("direction");
            if (member_kind == "method" && dir.empty()) dir = "in";
            if (member_kind == "signal") dir.clear();  // signal args have no direction
            args.push_back((dir.empty() ? "" : dir + " ") + get("type") + " " + get("name"));
        } else if (el == "annotation" && get("name") == "org.freedesktop.DBus.Property.EmitsChangedSignal") {
            if (member_kind == "property")
                prop_emits = get("value");
            else if (member_kind.empty())
                iface_emits = get("value");
        }
    }

    void end(const std::string& el) {
        if (iface.empty()) return;
        if (el == "interface") {
            for (const auto& [name, p] : props)
                interfaces[iface]["property " + name] =
                    "property " + name + " " + p.first + " emits-changed=" +
                    (p.second.empty() ? iface_emits : p.second);
            iface.clear();
        } else if (el == member_kind) {
            if (member_kind == "property") {
                props[member_name] = {prop_type + " " + prop_access, prop_emits};
            } else {
                std::string joined;
                for (const auto& a : args) joined += (joined.empty() ? "" : ", ") + a;
                interfaces[iface][member_kind + " " + member_name] =
                    member_kind + " " + member_name + "(" + joined + ")";
            }
            member_kind.clear();
        }
    }
};

std::map<std::string, Canonical> parse_introspection(const std::string& xml) {
    Parser p;
    XML_Parser x = XML_ParserCreate(nullptr);
    XML_SetUserData(x, &p);
    XML_SetElementHandler(
        x,
        [](void* ud, const XML_Char* el, const XML_Char** atts) { static_cast<Parser*>(ud)->start(el, atts); },
        [](void* ud, const XML_Char* el) { static_cast<Parser*>(ud)->end(el); });
    if (XML_Parse(x, xml.data(), static_cast<int>(xml.size()), XML_TRUE) == XML_STATUS_ERROR)
        p.error = std::string(XML_ErrorString(XML_GetErrorCode(x))) + " at line " +
                  std::to_string(XML_GetCurrentLineNumber(x));
    XML_ParserFree(x);
    if (!p.error.empty()) throw std::runtime_error("introspection XML: " + p.error);
    return p.interfaces;
}

std::string render(const Canonical& c) {
    std::string out;
    for (const auto& [key, line] : c) out += line + "\n";
    return out;
}

std::string read_text(const std::filesystem::path& p) {
    std::ifstream in(p);
    if (!in) throw std::runtime_error("cannot read " + p.string());
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// Arguments that keep task/loop classes alive long enough to be introspected.
std::vector<std::string> arguments_for(const std::string& class_name) {
    if (class_name == "Sleeper" || class_name == "Loopy") return {"60000", "0"};
    if (class_name == "Ticker") return {"60000"};
    return {};
}

// Spawns `class_name`, introspects the object and compares its `interface` with the XML file
// of that name. Reports through gtest assertions.
void expect_runtime_matches_xml(BusClient& bus, const std::string& class_name,
                                const std::string& interface) {
    SCOPED_TRACE("class " + class_name + ", interface " + interface);
    const auto xml_file = xml_interfaces_dir() / (interface + ".xml");
    ASSERT_TRUE(std::filesystem::exists(xml_file)) << xml_file;
    const auto declared = parse_introspection(read_text(xml_file));
    ASSERT_EQ(declared.count(interface), 1u) << xml_file << " does not declare " << interface;

    SpawnOptions options{{"uid", kNobody}};
    if (auto args = arguments_for(class_name); !args.empty()) options.push_back({"arguments", args});
    SpawnReply r = spawn_with_options(bus, class_name, options);
    ASSERT_TRUE(r.ok()) << r.describe();
    BusClient instance(r.address);
    const std::string xml = instance.introspect(kObjectName, kObjectPath);
    const auto served = parse_introspection(xml);

    ASSERT_EQ(served.count(interface), 1u) << "the worker does not serve " << interface << ":\n" << xml;
    EXPECT_EQ(render(served.at(interface)), render(declared.at(interface))) << "runtime XML:\n" << xml;
    EXPECT_EQ(served.count("org.freedesktop.DBus.Introspectable"), 1u) << xml;
}

struct ExampleClass {
    const char* name;
    const char* interface;
};

// Names the parameter in test listings (ctest shows it) instead of dumping its bytes.
void PrintTo(const ExampleClass& c, std::ostream* os) { *os << c.name; }

class TheWorkersIntrospection : public DaemonTest, public ::testing::WithParamInterface<ExampleClass> {};

TEST_P(TheWorkersIntrospection, MatchesTheClassXml) {
    expect_runtime_matches_xml(bus(), GetParam().name, GetParam().interface);
}

INSTANTIATE_TEST_SUITE_P(ExampleClasses, TheWorkersIntrospection,
                         ::testing::Values(ExampleClass{"Counter", "org.offshoot1.example.Counter"},
                                           ExampleClass{"Identity", "org.offshoot1.example.Identity"},
                                           ExampleClass{"Echo", "org.offshoot1.example.Echo"},
                                           ExampleClass{"Faulty", "org.offshoot1.example.Faulty"}),
                         [](const auto& info) { return std::string(info.param.name); });

class TheClassList : public DaemonTest {};

TEST_F(TheClassList, NamesTheInterfaceOfEveryClassAndEachConfiguredClassMatchesItsXml) {
    const auto classes = list_classes(bus());
    std::map<std::string, std::string> by_name;
    for (const auto& c : classes) by_name[c.name] = c.interface;
    EXPECT_EQ(by_name["Counter"], "org.offshoot1.example.Counter");
    EXPECT_EQ(by_name["Identity"], "org.offshoot1.example.Identity");
    // Classes beyond the four above (Sleeper, Ticker, …) are checked as they appear.
    for (const auto& c : classes) {
        if (c.name == "Counter" || c.name == "Identity" || c.name == "Echo" || c.name == "Faulty")
            continue;
        if (!std::filesystem::exists(xml_interfaces_dir() / (c.interface + ".xml"))) {
            ADD_FAILURE() << "class " << c.name << " has no XML for its interface " << c.interface;
            continue;
        }
        expect_runtime_matches_xml(bus(), c.name, c.interface);
    }
}

class TheSupervisorsIntrospection : public DaemonTest {
protected:
    void expect_matches(const std::string& path, const std::string& interface) {
        SCOPED_TRACE(path + " " + interface);
        const auto declared = parse_introspection(read_text(xml_interfaces_dir() / (interface + ".xml")));
        ASSERT_EQ(declared.count(interface), 1u);
        const std::string xml = bus().introspect("org.offshoot1", path.c_str());
        const auto served = parse_introspection(xml);
        ASSERT_EQ(served.count(interface), 1u) << xml;
        EXPECT_EQ(render(served.at(interface)), render(declared.at(interface))) << "runtime XML:\n" << xml;
    }
};

TEST_F(TheSupervisorsIntrospection, MatchesTheSupervisorXml) {
    expect_matches("/org/offshoot1", "org.offshoot1.Supervisor");
    // The supervisor object is also the ObjectManager of the instance handles.
    const auto served = parse_introspection(bus().introspect("org.offshoot1", "/org/offshoot1"));
    EXPECT_EQ(served.count("org.freedesktop.DBus.ObjectManager"), 1u);
}

TEST_F(TheSupervisorsIntrospection, MatchesTheInstanceXmlOnAHandle) {
    SpawnReply r = spawn(bus(), "Counter", kNobody);
    ASSERT_TRUE(r.ok()) << r.describe();
    expect_matches(r.path, "org.offshoot1.Instance");
}

}  // namespace
}  // namespace offshoot::test
