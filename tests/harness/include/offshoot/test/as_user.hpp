// offshoot/test/as_user.hpp — code that must run as an unprivileged user: a forked child drops
// to a uid/gid (no supplementary groups, as a system service account would have), runs a
// function and hands its answer (a string) back through a pipe. Header-only.
#pragma once

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

#include "offshoot/test/deadline.hpp"
#include "offshoot/test/subprocess.hpp"

namespace offshoot::test {

// Drops the calling (forked) process to uid/gid with no supplementary groups, for good
// (real, effective and saved ids). False if any step failed.
inline bool become_user(uint32_t uid, uint32_t gid) {
    return ::setgroups(0, nullptr) == 0 && ::setresgid(gid, gid, gid) == 0 &&
           ::setresuid(uid, uid, uid) == 0;
}

// fn running as uid/gid in a forked child, started by the constructor; answer() collects what
// fn returned. Lets a test act as root while an unprivileged caller is busy (a flood, a wait).
class AsUser {
public:
    AsUser(uint32_t uid, uint32_t gid, const std::function<std::string()>& fn) : uid_(uid) {
        int p[2];
        if (::pipe2(p, O_CLOEXEC) < 0) throw std::system_error(errno, std::generic_category(), "pipe2");
        read_end_ = p[0];
        const int read_end = p[0], write_end = p[1];
        child_.emplace(Subprocess::fork([&]() -> int {
            ::close(read_end);
            std::string answer;
            int rc = 0;
            if (!become_user(uid, gid)) {
                answer = "cannot become uid " + std::to_string(uid) + ": " + std::strerror(errno);
                rc = 2;
            } else {
                try {
                    answer = fn();
                } catch (const std::exception& e) {
                    answer = std::string("exception: ") + e.what();
                    rc = 3;
                } catch (...) {
                    answer = "unknown exception";
                    rc = 3;
                }
            }
            for (std::size_t done = 0; done < answer.size();) {
                ssize_t n = ::write(write_end, answer.data() + done, answer.size() - done);
                if (n < 0 && errno == EINTR) continue;
                if (n <= 0) return 4;
                done += static_cast<std::size_t>(n);
            }
            return rc;
        }));
        ::close(write_end);
    }
    AsUser(const AsUser&) = delete;
    AsUser& operator=(const AsUser&) = delete;
    ~AsUser() {
        if (read_end_ >= 0) ::close(read_end_);
    }

    // fn's result. Throws std::runtime_error when the child could not change its ids, when fn
    // threw (with its message), or when the child has not answered by the deadline.
    std::string answer(const Deadline& deadline) {
        std::string out;
        bool eof = false;
        while (!eof && read_end_ >= 0) {
            pollfd pfd{read_end_, POLLIN, 0};
            int r = ::poll(&pfd, 1, deadline.poll_timeout_ms());
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) break;
            char buf[4096];
            ssize_t n = ::read(read_end_, buf, sizeof buf);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) eof = true;
            else out.append(buf, static_cast<std::size_t>(n));
        }
        const std::string who = "the child running as uid " + std::to_string(uid_);
        if (!eof) throw std::runtime_error(who + " did not answer within the deadline");
        ::close(std::exchange(read_end_, -1));
        auto status = child_->wait(deadline);
        if (!status) throw std::runtime_error(who + " did not exit");
        if (!status->success())
            throw std::runtime_error(who + " failed (" + status->describe() + "): " + out);
        return out;
    }

private:
    uint32_t uid_;
    int read_end_ = -1;
    std::optional<Subprocess> child_;
};

// Runs fn as uid/gid in a forked child and returns fn's result (see AsUser::answer).
inline std::string run_as(uint32_t uid, uint32_t gid, const std::function<std::string()>& fn,
                          Clock::duration timeout = 60s) {
    AsUser task(uid, gid, fn);
    return task.answer(Deadline(timeout));
}

}  // namespace offshoot::test
