// offshoot-worker — serves one class instance on a private peer-to-peer D-Bus socket.
//
// Started by offshootd with the credentials already applied (offshoot/wire/readiness.hpp
// for the fds and the readiness datagram, offshoot/wire/worker_command.hpp for argv). Start-up is one
// straight sequence of named steps; the first that fails is reported on the readiness
// channel as ERROR=<step> and the process exits 1:
//   arguments → listen-fds → event-loop → load-plugin → create-object → interface → register → listen
//   → start → begin (loops) → READY=1 → run (tasks: run()'s thread; loops: first iteration)
// Then one sd-event loop serves every accepted peer until the work ends (a task's run()
// returned, a loop said stop) or a stop request (SIGTERM, SIGINT) ends it as the stop mode
// says (lifecycle.hpp); the connections are flushed and closed and the process exits with
// the code the lifecycle decided.
#include "lifecycle.hpp"
#include "loop_executor.hpp"
#include "plugin.hpp"
#include "readiness.hpp"
#include "server.hpp"

#include "offshoot/common/errors.hpp"
#include "offshoot/common/log.hpp"
#include <offshoot/wire/worker_command.hpp>

#include <signal.h>
#include <sys/prctl.h>
#include <systemd/sd-daemon.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace offshoot::worker {
namespace {

// How long the exit may wait for peers to read what is queued for them.
constexpr uint64_t shutdown_flush_usec = 1'000'000;

Fd take_listening_socket() {
    // unset_environment=1: class code and its children must not see LISTEN_*.
    int n = sd_listen_fds(1);
    if (n < 0) throw StartupError("listen-fds", -n, "sd_listen_fds failed");
    if (n != 1)
        throw StartupError("listen-fds", EBADF,
                           "expected exactly one socket (LISTEN_FDS=1 and LISTEN_PID=<our pid>), got " +
                               std::to_string(n));
    Fd fd(SD_LISTEN_FDS_START);
    int r = sd_is_socket_unix(fd.get(), SOCK_STREAM, /* listening= */ 1, nullptr, 0);
    if (r < 0) throw StartupError("listen-fds", -r, "fd 3 cannot be inspected");
    if (r == 0)
        throw StartupError("listen-fds", ENOTSOCK,
                           "fd 3 is not a listening AF_UNIX SOCK_STREAM socket");
    return fd;
}

// The class config names the interface callers will use (Interface=, ListClasses,
// `offshootctl call`): a plugin that serves another one would answer every call with
// UnknownMethod. Said now, naming both, rather than call after call.
void check_interface(const Object& object, const std::string& configured) {
    if (configured.empty() || configured == object.interface_name()) return;
    throw StartupError("interface", 0,
                       std::string("the plugin serves interface ") + object.interface_name() + ", not " +
                           configured + " as the class configuration says");
}

// The process's first steps, before the command line is read.
void set_up_process() {
    // Not dumpable before anything else: a dumpable process may be ptrace()d, and its
    // descriptors taken with pidfd_getfd(), by any process of the same uid — which would then
    // accept the owner's connections on fd 3. (The installed binary is mode 0711, so the kernel
    // already starts it non-dumpable for any user but root; this covers a binary whose mode was
    // changed.) A class that wants core dumps sets Dumpable=yes, restored in run() once the
    // command line says so.
    (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    log::set_identifier("offshoot-worker");
    if (const char* l = ::getenv("OFFSHOOT_LOG_LEVEL")) {
        log::Level level;
        if (log::parse_level(l, level)) log::set_level(level);
    }
}

// The loop, with SIGTERM and SIGINT blocked before any class code runs, so threads a class
// starts inherit the mask and the signals reach our signalfd instead of killing the process
// mid-call.
EventPtr new_event_loop() {
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    if (sigprocmask(SIG_BLOCK, &mask, nullptr) < 0) throw StartupError("event-loop", errno, "sigprocmask");
    sd_event* raw_event = nullptr;
    const int r = sd_event_new(&raw_event);
    if (r < 0) throw StartupError("event-loop", -r, "sd_event_new");
    return EventPtr(raw_event);
}

// run() has returned (Lifecycle::finish() joined it): what it handed back goes to offshootd
// before the process exits, so offshootd has it when it learns of the exit.
void hand_back_value(const Object& object, Readiness& readiness) {
    if (const Task* task = object.task()) {
        if (const std::string value = task->return_value_datagram(); !value.empty()) readiness.send_value(value);
    }
}

int run(int argc, char** argv) {
    set_up_process();
    Readiness readiness = Readiness::from_environment();

    try {
        wire::WorkerCommand options;
        std::string error;
        if (!wire::WorkerCommand::parse(argc, argv, options, error))
            throw StartupError("arguments", EINVAL, error);
        if (options.dumpable && prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
            throw StartupError("arguments", errno, "prctl(PR_SET_DUMPABLE)");

        Fd listener = take_listening_socket();

        EventPtr event = new_event_loop();

        // Declared before the object: the object's code lives in the plugin, so the plugin
        // must be unloaded after the object is deleted.
        Plugin plugin(options.plugin);
        ClassContext context{options.class_name, options.arguments, options.instance_id};
        std::unique_ptr<Object> object = plugin.create(context);
        check_interface(*object, options.interface);
        Server::verify_object(*object);

        ServerLimits limits;
        limits.max_connections = options.max_connections;
        limits.pass_fds = Server::uses_fds(*object);
        Server server(event.get(), std::move(listener), options.owner_uid, *object, limits);
        object->set_signal_sink(&server);
        auto executor = EventLoopExecutor::create(event.get());
        object->set_loop_executor(executor);

        // After the server: it is destroyed first, so a task's run() has returned before the
        // connections and the object go.
        Lifecycle lifecycle(event.get(), *object, options.stop_mode, options.class_name);
        lifecycle.watch_signals();
        server.listen();  // nothing is accepted before the loop runs, i.e. after READY=1

        // Last, so that a started object is never abandoned by a later start-up failure.
        try {
            object->start();
        } catch (...) {
            throw StartupError("start", 0, describe_current_exception());
        }
        lifecycle.before_ready();

        // A task's channel stays open for the value run() may hand back (sent below).
        readiness.ready(/* keep_open= */ object->task() != nullptr);
        log::debug("serving {} {} ({}) instance {} for uid {}, stop mode {}", lifecycle.shape_name(),
                  options.class_name, object->interface_name(), options.instance_id,
                  options.owner_uid, stop_mode_name(options.stop_mode));
        lifecycle.after_ready();

        const int r = sd_event_loop(event.get());
        if (r < 0) log::error("event loop failed: {}", errno_text(r));
        lifecycle.finish();
        hand_back_value(*object, readiness);
        // Replies still to come from other threads are dropped from here on.
        executor->close();
        // Whatever ended the loop, no connection outlives the object.
        server.close_all(shutdown_flush_usec);
        object->set_signal_sink(nullptr);
        return r < 0 ? EXIT_FAILURE : r;
    } catch (const StartupError& e) {
        readiness.fail(e.step, e.errno_value, e.what());
        return EXIT_FAILURE;
    } catch (...) {
        readiness.fail("internal", 0, describe_current_exception());
        return EXIT_FAILURE;
    }
}

}  // namespace
}  // namespace offshoot::worker

#if defined(__SANITIZE_ADDRESS__)
// The sanitizer build (tests): offshootd gives the worker an environment built from scratch,
// so ASAN_OPTIONS never reaches it and these are its settings. A class that crashes (Faulty's
// Crash, a null dereference) dies by its signal as in a normal build, so Exited reports what
// it would in production; memory errors are still ASan's reports, and LeakSanitizer runs when
// the worker exits. Reports go to stderr, i.e. offshootd's log (the test harness scans it).
extern "C" const char* __asan_default_options() {
    return "handle_segv=0:handle_sigbus=0:handle_sigfpe=0:handle_sigill=0:handle_abort=0";
}
#endif

int main(int argc, char** argv) { return offshoot::worker::run(argc, argv); }
