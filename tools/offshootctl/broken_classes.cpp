// broken_classes.cpp — what `offshootctl classes` adds after the usable classes: every class
// configuration file offshootd could not use, and why (Supervisor.ListBrokenClasses).
#include <iostream>

#include "verbs.hpp"

namespace offshootctl {
namespace {

namespace names = offshoot::names;

struct Broken {
    std::string name;
    std::string source;
    std::string problem;
};

std::vector<Broken> list_broken(Context& ctx) {
    std::vector<sdbus::Struct<std::string, std::string, std::string>> rows;
    try {
        ctx.proxy(names::supervisor_path)
            ->callMethod("ListBrokenClasses")
            .onInterface(names::supervisor_interface)
            .storeResultsTo(rows);
    } catch (const sdbus::Error& e) {
        // An offshootd from before ListBrokenClasses: it has nothing more to say.
        if (e.getName() != "org.freedesktop.DBus.Error.UnknownMethod") throw;
    }
    std::vector<Broken> out;
    for (auto& row : rows) out.push_back({std::get<0>(row), std::get<1>(row), std::get<2>(row)});
    return out;
}

}  // namespace

void append_broken_classes(Context& ctx, json& out) {
    for (auto& b : list_broken(ctx))
        out.push_back({{"name", b.name}, {"broken", true}, {"source", b.source}, {"problem", b.problem}});
}

void print_broken_classes(Context& ctx, std::ostream& out) {
    const auto broken = list_broken(ctx);
    if (broken.empty()) return;
    out << "\nNot usable (" << broken.size() << " class configuration" << (broken.size() == 1 ? "" : "s")
        << "; fix and restart offshootd):\n";
    for (auto& b : broken)
        out << "  " << (b.name.empty() ? "?" : b.name) << "  " << b.source << ": " << b.problem << '\n';
}

}  // namespace offshootctl
