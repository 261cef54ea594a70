// event_loop.cpp — EventLoopThread and open_connection (client/connected.hpp).
#include "offshoot/client/connected.hpp"

namespace offshoot {

EventLoopThread::EventLoopThread(sdbus::IConnection& connection)
    : connection_(connection), thread_([this] {
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

}  // namespace offshoot
