// walker.cpp — Walker: the callback example. Walk(directory, sink) reports every entry under
// `directory` the instance's user can see to the object the caller exports at `sink` on its own
// side of the connection (org.offshoot1.example.Sink.Entry, through the generated Sink_peer),
// and returns how many it reported. Constructor argument (optional): the callback timeout in ms.
//
// Each walk runs on a thread of its own and answers through its offshoot::Result: the Entry
// calls wait for the caller's replies there, while the loop thread goes on serving every other
// connection (InProgress() among them). A caller that goes away ends its walk at once
// (Disconnected); one that stops answering ends it at the timeout.
#include "org.offshoot1.example.Sink_peer.hpp"
#include "org.offshoot1.example.Walker_adaptor.hpp"

#include <offshoot/worker.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace {

using org::offshoot1::example::Sink_peer;

constexpr const char* walker_error = "org.offshoot1.example.Walker.Error";
// Walks at once: each holds a thread.
constexpr int max_walks = 8;
// Deeper directories are reported but not entered (a bind mount can make a tree endless).
constexpr size_t max_depth = 256;

[[noreturn]] void fail(const std::string& what, int err) {
    throw offshoot::Error(walker_error, what + " as uid " + std::to_string(::getuid()) + ": " + std::strerror(err));
}

// What the walks share with the object; the threads hold it, not the object (they may outlive it
// at exit).
struct Shared {
    std::atomic<int> walks{0};
    std::atomic<bool> stopping{false};
};

// One open directory of the walk, its entries read and sorted.
struct Level {
    int fd = -1;
    std::string prefix;  // "" or "sub/"
    std::vector<std::string> names;
    size_t next = 0;

    Level(int dir_fd, std::string path_prefix) : fd(dir_fd), prefix(std::move(path_prefix)) {
        DIR* d = ::fdopendir(::dup(fd));
        if (!d) return;
        while (const dirent* e = ::readdir(d)) {
            const std::string_view n = e->d_name;
            if (n != "." && n != "..") names.emplace_back(n);
        }
        ::closedir(d);
        std::sort(names.begin(), names.end());
    }
    Level(Level&& o) noexcept : fd(std::exchange(o.fd, -1)), prefix(std::move(o.prefix)), names(std::move(o.names)), next(o.next) {}
    Level(const Level&) = delete;
    Level& operator=(const Level&) = delete;
    Level& operator=(Level&&) = delete;
    ~Level() {
        if (fd >= 0) ::close(fd);
    }
};

// Depth first; every entry goes to the sink before its contents.
uint32_t walk(const std::string& directory, Sink_peer& sink, const Shared& shared) {
    const int top = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (top < 0) fail("Walk: cannot open '" + directory + "'", errno);
    std::vector<Level> stack;
    stack.emplace_back(top, "");
    uint32_t count = 0;
    while (!stack.empty()) {
        Level& level = stack.back();
        if (level.next == level.names.size()) {
            stack.pop_back();
            continue;
        }
        if (shared.stopping.load()) throw offshoot::Error(walker_error, "Walk: the instance is stopping");
        const std::string& name = level.names[level.next++];
        const std::string path = level.prefix + name;
        sink.Entry(path);  // throws the callback's error: the walk ends with it
        ++count;
        if (stack.size() >= max_depth) continue;
        // Not followed: a symbolic link (O_NOFOLLOW), anything not a directory (O_DIRECTORY, which
        // also keeps a FIFO from being opened), a directory the user may not read (EACCES).
        const int fd = ::openat(level.fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (fd >= 0) stack.emplace_back(fd, path + "/");
    }
    return count;
}

class Walker final : public org::offshoot1::example::Walker_adaptor {
public:
    explicit Walker(const offshoot::ClassContext& ctx) {
        if (ctx.arguments.size() > 1)
            throw offshoot::Error(offshoot::error_name::invalid_args,
                                  "Walker takes one argument at most: the callback timeout in milliseconds");
        if (!ctx.arguments.empty()) {
            const std::string& text = ctx.arguments[0];
            uint64_t ms = 0;
            auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), ms);
            if (ec != std::errc() || p != text.data() + text.size() || ms == 0 || ms > 3'600'000)
                throw offshoot::Error(offshoot::error_name::invalid_args,
                                      "Walker's callback timeout must be 1 to 3600000 milliseconds, not '" + text + "'");
            timeout_ = std::chrono::milliseconds(ms);
        }
    }

    void Walk(offshoot::Result<uint32_t> result, const std::string& directory, const sdbus::ObjectPath& sink) override {
        if (shared_->walks.fetch_add(1) >= max_walks) {
            shared_->walks.fetch_sub(1);
            throw offshoot::Error("org.freedesktop.DBus.Error.LimitsExceeded",
                                  std::to_string(max_walks) + " walks are already in progress");
        }
        try {
            Sink_peer peer(caller(), sink);  // here, on the loop thread: the call's connection
            peer.set_timeout(timeout_);
            std::thread([result = std::move(result), peer = std::move(peer), directory, shared = shared_]() mutable {
                std::optional<offshoot::Error> error;
                uint32_t count = 0;
                try {
                    count = walk(directory, peer, *shared);
                } catch (const offshoot::Error& e) {
                    error.emplace(e);
                } catch (const std::exception& e) {
                    error.emplace(walker_error, e.what());
                }
                // Before the answer: a caller that asks InProgress() once it has its reply does
                // not find its own walk still counted.
                shared->walks.fetch_sub(1);
                if (error) result.return_error(*error);
                else result.return_value(count);
            }).detach();
        } catch (...) {
            shared_->walks.fetch_sub(1);
            throw;
        }
    }

    uint32_t InProgress() override { return static_cast<uint32_t>(shared_->walks.load()); }

    // Walks end at their next entry; a callback in flight ends with its reply or its timeout.
    void stop() override { shared_->stopping.store(true); }

private:
    std::shared_ptr<Shared> shared_ = std::make_shared<Shared>();
    std::chrono::microseconds timeout_ = offshoot::PeerProxy::default_timeout;
};

}  // namespace

OFFSHOOT_CLASS(Walker)
