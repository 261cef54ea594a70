// take-notes.cpp — a client of the Notes class, and what the proxy generated from
// org.example.Notes.xml gives a caller: methods as member functions, the class's errors as
// offshoot::Error with their names, onAdded() for the signal, Count() and Title() for the
// properties (Title(value) sets one), and — with sdbus::Properties_proxy as a second base —
// onPropertiesChanged() for their changes.
//
//   take-notes [--address=ADDR] UID NOTE...    (offshootd on the system bus unless ADDR is given)
#include <offshoot/client.hpp>

#include "org.example.Notes_proxy.h"

#include <chrono>
#include <condition_variable>
#include <iostream>
#include <mutex>
#include <string>
#include <vector>

namespace {

class NotesProxy final : public sdbus::ProxyInterfaces<org::example::Notes_proxy, sdbus::Properties_proxy> {
public:
    NotesProxy(sdbus::IConnection& connection, std::string destination, std::string path)
        : ProxyInterfaces(connection, std::move(destination), std::move(path)) { registerProxy(); }
    ~NotesProxy() { unregisterProxy(); }

    // What the signals said so far, in order, once there are `n` of them (they arrive on the
    // proxy's delivery thread); fewer if the timeout passes first.
    std::vector<std::string> events(size_t n, std::chrono::seconds timeout) {
        std::unique_lock lock(mutex_);
        arrived_.wait_for(lock, timeout, [&] { return events_.size() >= n; });
        return events_;
    }

private:
    void onAdded(const uint32_t& id, const std::string& text) override {
        record("Added(" + std::to_string(id) + ", \"" + text + "\")");
    }
    void onPropertiesChanged(const std::string& interface, const std::map<std::string, sdbus::Variant>& changed,
                             const std::vector<std::string>&) override {
        if (interface != org::example::Notes_proxy::INTERFACE_NAME) return;
        for (const auto& [name, value] : changed)
            record("PropertiesChanged " + name + "=" +
                   (name == "Count" ? std::to_string(value.get<uint32_t>()) : value.get<std::string>()));
    }
    void record(std::string event) {
        std::lock_guard lock(mutex_);
        events_.push_back(std::move(event));
        arrived_.notify_all();
    }

    std::mutex mutex_;
    std::condition_variable arrived_;
    std::vector<std::string> events_;
};

}  // namespace

int main(int argc, char** argv) {
    std::string address;
    std::vector<std::string> args;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg.rfind("--address=", 0) == 0) address = arg.substr(10);
        else args.push_back(arg);
    }
    if (args.size() < 2) {
        std::cerr << "usage: take-notes [--address=ADDR] UID NOTE...\n";
        return 2;
    }
    try {
        auto supervisor = address.empty() ? offshoot::Supervisor::system() : offshoot::Supervisor::at(address);
        auto notes = offshoot::make_bridge<NotesProxy>(supervisor, "Notes", static_cast<uint32_t>(std::stoul(args[0])));
        notes->Title("shopping");  // a property setter: Properties.Set
        for (size_t i = 1; i < args.size(); ++i) std::cout << "Add(\"" << args[i] << "\") = " << notes->Add(args[i]) << '\n';
        // One PropertiesChanged for the title, then Added and PropertiesChanged per note.
        for (const auto& event : notes->events(1 + 2 * (args.size() - 1), std::chrono::seconds(10)))
            std::cout << "signal " << event << '\n';
        std::cout << "Count = " << notes->Count() << ", Title = \"" << notes->Title() << "\"\n";
        try {
            notes->Read(notes->Count() + 1);
        } catch (const offshoot::Error& e) {  // the class's own error, by name
            std::cout << "Read(" << notes->Count() + 1 << ") failed: " << e.getName() << ": " << e.getMessage() << '\n';
        }
    } catch (const offshoot::Error& e) {
        std::cerr << "Error " << e.getName() << ": " << e.getMessage() << '\n';
        return 1;
    }
    return 0;
}
