// offshoot/client/remote.hpp — offshootd on another host, over the transport systemd already
// ships: ssh to the host, where systemd-stdio-bridge joins the ssh session to a D-Bus socket
// (what `busctl -H` and sd_bus_open_system_remote() do for the system bus).
//
// Supervisor::remote("user@host") (client.hpp) talks to that host's offshootd on its system
// bus; the proxies of the instances it spawns reach each instance's private socket through a
// tunnel of their own, built by ssh_tunnel_address() below. Every connection is one ssh
// process, run from $PATH with the options of the user's ssh configuration (keys, ports,
// ControlMaster…), and ended when the connection closes.
//
// What the remote side sees: systemd-stdio-bridge runs as the ssh login user, so offshootd sees
// that user as the caller (Spawn as yourself needs no policy; as anyone else the class's
// AllowedCallers= must list the login user), and the worker's peer check sees the same uid —
// the instance's owner (or root) is admitted, anyone else is not, whatever uid the client has
// on its own machine. docs/lifecycle.md, "Another host", says what that means for who may call.
// Descriptors (`h` arguments) do not cross ssh.
#pragma once

#include <string>

namespace offshoot {

// The D-Bus address of a connection to `address` (a D-Bus address on the remote host, such as
// an instance's "unix:path=/run/offshoot/instances/3") through `ssh -xT HOST
// systemd-stdio-bridge --bus-path=ADDRESS`:
//   unixexec:path=ssh,argv1=-xT,argv2=--,argv3=user%40host,argv4=systemd-stdio-bridge,argv5=--bus-path=…
// `host` is what sd_bus_open_system_remote() takes: [user@]host[:port], the host name or an
// IPv6 address in brackets ("[::1]"); a "/container" part is refused (the bridge cannot reach
// an instance inside one). `address` is handed to the remote shell, so it may hold only the
// characters D-Bus addresses are made of (letters, digits, _ - / . , = : %). Throws
// offshoot::Error (org.offshoot1.Error.InvalidArgument) otherwise.
std::string ssh_tunnel_address(const std::string& host, const std::string& address);

}  // namespace offshoot
