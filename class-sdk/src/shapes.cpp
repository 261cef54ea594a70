// shapes.cpp — offshoot::Task's stop request and return value (see offshoot/shapes.hpp). Out
// of line so the mutex and condition variable stay out of class authors' object layout.
#include <offshoot/shapes.hpp>

#include <atomic>
#include <condition_variable>
#include <mutex>

namespace offshoot {

struct Task::StopState {
    std::mutex mutex;
    std::condition_variable changed;
    std::atomic<bool> requested{false};
    std::string return_value;  // encoded; guarded by mutex
};

Task::Task() : stop_(std::make_unique<StopState>()) {}

Task::~Task() = default;

void Task::request_stop() {
    {
        std::lock_guard lock(stop_->mutex);
        if (stop_->requested.exchange(true)) return;
    }
    stop_->changed.notify_all();
    on_stop_requested();
}

bool Task::stop_requested() const noexcept { return stop_->requested.load(); }

bool Task::wait_for_stop(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(stop_->mutex);
    return stop_->changed.wait_until(lock, deadline, [this] { return stop_->requested.load(); });
}

void Task::set_return_value(const Variant& value) {
    std::string encoded = detail::encode_return_value(value);  // throws before anything changes
    std::lock_guard lock(stop_->mutex);
    stop_->return_value = std::move(encoded);
}

std::string Task::return_value_datagram() const {
    std::lock_guard lock(stop_->mutex);
    return stop_->return_value;
}

}  // namespace offshoot
