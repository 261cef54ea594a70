// event_loop.cpp — EventLoopThread, open_connection and the timeout errors (client/connected.hpp).
#include "offshoot/client/connected.hpp"

#include <pthread.h>

#include <string>

namespace offshoot {

EventLoopThread::EventLoopThread(sdbus::IConnection& connection)
    : connection_(connection), thread_([this] {
          ::pthread_setname_np(::pthread_self(), "offshoot-loop");  // in top -H, gdb, /proc
          try {
              connection_.enterEventLoop();
          } catch (const sdbus::Error&) {
              // The connection broke (the peer exited or crashed). sd-bus has already failed
              // every call in flight with NoReply; the loop has nothing left to do.
              disconnected_.store(true);
          }
      }) {}

EventLoopThread::~EventLoopThread() {
    try {
        connection_.leaveEventLoop();
    } catch (const sdbus::Error&) {
        // Nothing to wake: the loop has ended already.
    }
    thread_.join();
}

std::unique_ptr<sdbus::IConnection> open_connection(const std::string& address) {
    return sdbus::createSessionBusConnectionWithAddress(address);
}

bool is_timeout(const Error& error) noexcept {
    const std::string& name = error.getName();
    if (name == errors::timeout || name == "org.freedesktop.DBus.Error.Timeout" ||
        name == "org.freedesktop.DBus.Error.TimedOut")
        return true;
    // A call handed to a loop: sd-bus answers it itself when its timer fires, with the same name
    // as for a closed connection ("Connection terminated"); only the text tells them apart.
    return name == errors::no_reply && error.getMessage() == "Method call timed out";
}

void rethrow_as_offshoot(const Error& error, std::chrono::microseconds timeout) {
    if (!is_timeout(error) || error.getName() == errors::timeout) throw error;
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count();
    throw Error(errors::timeout, "no reply within " + std::to_string(ms) +
                                     " ms (the instance may be busy; the connection is still open)");
}

}  // namespace offshoot
