// remote.cpp — ssh_tunnel_address (client/remote.hpp): the host is taken apart as
// sd_bus_open_system_remote() does (systemd 252, bus_set_address_system_remote), so that a
// supervisor and its instances reach the same ssh destination and port.
#include "offshoot/client/remote.hpp"

#include <string_view>

#include "offshoot/client/names.hpp"
#include "offshoot/wire/address.hpp"

namespace offshoot {

namespace {

[[noreturn]] void invalid(const std::string& what) { throw Error(errors::invalid_argument, what); }

bool is_digits(std::string_view s) { return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos; }

struct Destination {
    std::string login;  // [user@]host, as ssh takes it
    std::string port;   // digits, or empty
};

Destination parse_host(const std::string& host) {
    if (host.empty()) invalid("no host given (user@host)");
    for (unsigned char c : host)
        if (c < 0x20 || c == 0x7f || c == ' ') invalid("the host '" + host + "' holds a control character or a space");
    if (host.front() == '-') invalid("the host '" + host + "' begins with '-'");
    Destination d;
    std::string_view rest = host;
    const size_t at = rest.find('@');
    std::string_view user = at == std::string_view::npos ? std::string_view() : rest.substr(0, at + 1);
    if (at != std::string_view::npos) rest.remove_prefix(at + 1);
    if (rest.empty() || rest.find('@') != std::string_view::npos || user == "@")
        invalid("'" + host + "' is not [user@]host[:port]");
    std::string_view name;
    if (rest.front() == '[') {  // an IPv6 address: its colons are not a port's
        const size_t close = rest.find(']');
        if (close == std::string_view::npos) invalid("'" + host + "' has a '[' without its ']'");
        name = rest.substr(1, close - 1);
        rest.remove_prefix(close + 1);
    } else {
        const size_t end = rest.find_first_of(":/");
        name = rest.substr(0, end);
        rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
    }
    if (name.empty()) invalid("'" + host + "' names no host");
    if (!rest.empty() && rest.front() == ':') {
        rest.remove_prefix(1);
        const size_t slash = rest.find('/');
        d.port = std::string(rest.substr(0, slash));
        rest.remove_prefix(slash == std::string_view::npos ? rest.size() : slash);
        if (!is_digits(d.port)) invalid("'" + host + "': the port must be a number");
    }
    if (!rest.empty())
        invalid("'" + host + "': a container (host/machine) is not supported — instance connections cannot reach into it");
    d.login = std::string(user) + std::string(name);
    return d;
}

}  // namespace

std::string ssh_tunnel_address(const std::string& host, const std::string& address) {
    const Destination d = parse_host(host);
    if (address.empty()) invalid("no instance address to tunnel to");
    // The remote end is a shell command line: only the characters D-Bus addresses are made of.
    for (unsigned char c : address) {
        const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        std::string_view("_-/.,=:%").find(static_cast<char>(c)) != std::string_view::npos;
        if (!ok) invalid("the address '" + address + "' holds a character a remote shell would interpret");
    }
    std::string out = "unixexec:path=ssh,argv1=-xT";
    int n = 2;
    auto arg = [&](std::string_view value) { out += ",argv" + std::to_string(n++) + "=" + wire::escape_address_value(value); };
    if (!d.port.empty()) {
        arg("-p");
        arg(d.port);
    }
    arg("--");
    arg(d.login);
    arg("systemd-stdio-bridge");
    arg("--bus-path=" + address);
    return out;
}

}  // namespace offshoot
