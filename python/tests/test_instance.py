"""An instance through the synchronous client: spawned as another user, called through the
proxy built from its introspection, its signals, its facts, and its lifecycle (the two seeds'
scenarios: a bridge with its own cwd and uid; offspring's run once, loop, let it finish,
explicit start)."""

import os
import signal
import threading
import time

import pytest

import offshoot
from conftest import NOBODY, alive, pids_gone, proc_ids


class TestASpawnedInstance:
    def test_is_callable_as_soon_as_spawn_returns_and_has_a_process_of_its_own(self, sup):
        counter = sup.spawn("Counter", uid=NOBODY)
        assert counter.Increment(5) == 5          # the first call, at once
        pid = counter.pid
        assert pid not in (0, os.getpid()) and alive(pid)
        assert counter.state == "running"
        assert counter.address.startswith("unix:path=")
        assert counter.path.startswith("/org/offshoot1/instance/")
        counter.close()

    def test_takes_positional_and_named_arguments_and_reads_properties(self, sup):
        with sup.spawn("Counter", uid=NOBODY) as counter:
            assert counter.Increment(2) == 2
            assert counter.Increment(by=3) == 5
            assert counter.Get() == 5
            assert counter.Value == 5
            assert counter.object.Get() == 5
            with pytest.raises(AttributeError, match="Increment"):
                counter.Incremnet(1)

    def test_runs_as_another_uid_while_the_caller_stays_root(self, sup):
        with sup.spawn("Identity", uid=NOBODY) as identity:
            d = identity.Describe()
            assert (d.uid, d.gid) == (NOBODY, NOBODY)
            assert proc_ids(identity.pid, "Uid") == [NOBODY] * 4
            assert proc_ids(identity.pid, "Gid") == [NOBODY] * 4
            assert (identity.uid, identity.gid, identity.groups) == (NOBODY, NOBODY, [NOBODY])
            assert d.pid == identity.pid
        assert os.getuid() == 0 and os.geteuid() == 0

    def test_runs_in_a_directory_of_its_own_while_the_caller_keeps_its_own(self, sup, nobody_dir):
        before = os.getcwd()
        a, b = nobody_dir("a"), nobody_dir("b")
        with sup.spawn("Identity", uid=NOBODY, cwd=a) as ia, \
                sup.spawn("Identity", uid=NOBODY, cwd=b) as ib:
            assert ia.Describe().cwd == a and ib.Describe().cwd == b
            assert (ia.cwd, ib.cwd) == (a, b)
            assert os.readlink(f"/proc/{ia.pid}/cwd") == a
            ia.WriteFile("note", "written in a")
            ib.WriteFile(name="note", content="written in b")
            assert ia.ReadFile("note") == "written in a"
            with open(os.path.join(b, "note")) as f:
                assert f.read() == "written in b"
        assert os.getcwd() == before

    def test_delivers_its_signals_to_a_callback(self, sup):
        with sup.spawn("Counter", uid=NOBODY) as counter:
            got, arrived = [], threading.Event()
            counter.on("Changed", lambda value: (got.append(value), arrived.set()))
            counter.Increment(7)
            assert arrived.wait(5), "no Changed signal within 5 s"
            assert got == [7]
            with pytest.raises(AttributeError, match="Changed"):
                counter.on("Chnaged", print)

    def test_stops_delivering_to_a_cancelled_subscription(self, sup):
        with sup.spawn("Counter", uid=NOBODY) as counter:
            cancelled, kept = [], []
            two = threading.Event()
            sub = counter.on("Changed", cancelled.append)
            counter.on("Changed", lambda v: (kept.append(v), len(kept) == 2 and two.set()))
            sub.cancel()
            counter.Increment(1)
            counter.Increment(1)
            assert two.wait(5)          # both signals dispatched (one reader, in order)
            assert cancelled == [] and kept == [1, 2]

    def test_lets_a_signal_callback_call_the_object_back(self, sup):
        with sup.spawn("Counter", uid=NOBODY) as counter:
            seen, done = [], threading.Event()

            def on_changed(value):
                seen.append((value, counter.Get()))   # a call from the reader thread
                done.set()
            counter.on("Changed", on_changed)
            counter.Increment(4)
            assert done.wait(5)
            assert seen == [(4, 4)]
            assert counter.Increment(1) == 5          # routed calls still work afterwards

    def test_reports_all_its_facts_in_one_round_trip(self, sup):
        with sup.spawn("Counter", uid=NOBODY) as counter:
            facts = counter.properties()
            assert facts["Class"] == "Counter" and facts["Uid"] == NOBODY
            assert facts["MainPID"] == counter.pid and facts["State"] == "running"


class TestLeavingAWithBlock:
    def test_stops_the_process_and_releases_the_handle(self, sup):
        with sup.spawn("Counter", uid=NOBODY) as counter:
            pid, path = counter.pid, counter.path
        pids_gone([pid], 0)                     # gone when the block has ended
        assert path not in [row[0] for row in sup.instances()]
        with pytest.raises(offshoot.InvalidArgument):
            counter.stop()

    def test_after_an_exception_still_stops_it_and_lets_the_exception_through(self, sup):
        with pytest.raises(ZeroDivisionError):
            with sup.spawn("Counter", uid=NOBODY) as counter:
                pid = counter.pid
                1 / 0
        pids_gone([pid], 0.5)
        assert sup.instances() == []


class TestATask:
    def test_runs_once_and_wait_returns_its_exit_code(self, sup):
        start = time.monotonic()
        task = sup.spawn("Sleeper", uid=NOBODY, args=["200", "3"])
        assert task.Remaining() <= 200
        assert task.wait(timeout=10) == ("exit-code", 3)
        assert time.monotonic() - start >= 0.2
        assert (task.state, task.result, task.exit_code, task.pid) == ("failed", "exit-code", 3, 0)
        assert task.wait() == ("exit-code", 3)     # again, at once
        task.release()

    def test_wait_with_a_timeout_raises_timeout_and_the_task_goes_on(self, sup):
        with sup.spawn("Sleeper", uid=NOBODY, args=["400", "0"]) as task:
            with pytest.raises(offshoot.Timeout):
                task.wait(timeout=0.05)
            assert task.state == "running"
            assert task.wait(timeout=10) == ("success", 0)

    def test_stopped_in_terminate_mode_ends_its_run_at_once_with_success(self, sup):
        task = sup.spawn("Sleeper", uid=NOBODY, args=["20000", "4"])
        start = time.monotonic()
        task.stop()
        assert time.monotonic() - start < 5
        assert task.wait() == ("success", 0)
        task.release()

    def test_let_finish_makes_stop_return_when_run_has_ended_by_itself(self, sup):
        start = time.monotonic()
        task = sup.spawn("Sleeper", uid=NOBODY, args=["300", "4"], stop_mode="wait")
        task.stop()                            # SIGTERM, which the worker lets the work outlast
        assert time.monotonic() - start >= 0.3
        assert task.wait() == ("exit-code", 4)   # run()'s own code: no stop() hook ran
        task.release()

    def test_a_wait_in_another_thread_returns_when_the_main_thread_stops_it(self, sup):
        task = sup.spawn("Sleeper", uid=NOBODY, args=["20000", "0"])
        results = []
        waiter = threading.Thread(target=lambda: results.append(task.wait(timeout=20)))
        waiter.start()
        task.stop()
        waiter.join(10)
        assert results == [("success", 0)]
        task.release()


class TestALoop:
    def test_stopped_mid_loop_ends_between_iterations_and_counts_no_further(self, sup, nobody_dir):
        cwd = nobody_dir("ticker")
        ticks, second = [], threading.Event()
        # Ticks at start, then 100 ms later, then not for 20 s: stopped in that gap.
        with sup.spawn("Ticker", uid=NOBODY, cwd=cwd, args=["100", "20000", "20000"]) as ticker:
            ticker.on("Tick", lambda n: (ticks.append(n), n >= 2 and second.set()))
            assert second.wait(5), f"ticks so far: {ticks}"
            assert ticker.Count() == 2
            start = time.monotonic()
            ticker.stop()
            assert time.monotonic() - start < 5
            assert ticker.wait() == ("success", 0)
        with open(os.path.join(cwd, "ticker-end")) as f:   # end() wrote the final count
            assert f.read().strip() == "2"
        assert max(ticks) == 2

    def test_that_finishes_by_itself_ends_with_success(self, sup, nobody_dir):
        with sup.spawn("Ticker", uid=NOBODY, cwd=nobody_dir("t"), args=["20", "20"]) as ticker:
            assert ticker.wait(timeout=10) == ("success", 0)


class TestExplicitStart:
    def test_a_handle_spawned_unstarted_has_no_process_until_start(self, sup):
        with sup.spawn("Counter", uid=NOBODY, start=False) as counter:
            assert (counter.state, counter.pid, counter.address) == ("created", 0, "")
            assert counter.wait() == ("", 0)
            with pytest.raises(offshoot.NotRunning):
                counter.Increment(1)
            with pytest.raises(offshoot.NotRunning):
                counter.object
            counter.start()
            assert counter.Increment(1) == 1        # start() returns once callable
            assert counter.state == "running" and alive(counter.pid)
            assert counter.address.startswith("unix:path=")

    def test_start_after_an_end_runs_a_fresh_process_on_the_same_handle(self, sup):
        with sup.spawn("Counter", uid=NOBODY) as counter:
            counter.Increment(3)
            first = counter.pid
            counter.stop()
            assert counter.wait() == ("success", 0)
            counter.start()
            assert counter.pid != first and counter.Get() == 0


class TestKillAndRelease:
    def test_kill_sends_the_signal_and_wait_reports_it(self, sup):
        with sup.spawn("Counter", uid=NOBODY) as counter:
            counter.kill(signal.SIGKILL)
            assert counter.wait(timeout=10) == ("signal", 9)
            with pytest.raises(offshoot.NotRunning):
                counter.kill(signal.SIGTERM)

    def test_release_stops_the_instance_and_forgets_the_handle(self, sup):
        counter = sup.spawn("Counter", uid=NOBODY)
        pid = counter.pid
        counter.release()
        pids_gone([pid], 0.5)
        assert sup.instances() == [] and sup.instance_count == 0


class TestTheSupervisor:
    def test_lists_classes_instances_and_its_facts(self, sup):
        names = [name for name, _ in sup.classes()]
        assert {"Counter", "Identity", "Echo", "Faulty", "Sleeper", "Ticker"} <= set(names)
        assert sup.describe_classes()["Counter"]["interface"] == "org.offshoot1.example.Counter"
        assert sup.version
        with sup.spawn("Echo", uid=NOBODY) as echo:
            (row,) = sup.instances()
            assert row[0] == echo.path and row[1:4] == ("Echo", "running", NOBODY)
            assert sup.instance_count == 1
            assert echo.Echo(b"\x00\xffbytes") == b"\x00\xffbytes"

    def test_adopts_an_untied_instance_by_its_path(self, sup):
        echo = sup.spawn("Echo", uid=NOBODY, tie_to_caller=False)
        path = echo.detach()
        with sup.adopt(path) as again:
            assert again.Ping(9) == 9
        assert sup.instances() == []


class TestALinkWithFdPassing:
    def test_passes_an_fd_to_a_class_whose_interface_takes_one(self, sup):
        import tempfile
        # Prober (a test-only class) has DescribeFd(h): the proxy negotiates fd passing itself.
        with sup.spawn("Prober", uid=NOBODY) as prober, tempfile.NamedTemporaryFile() as f:
            assert prober.DescribeFd(f) == f.name
            assert prober.DescribeFd(f.fileno()) == f.name   # a bare descriptor number too

    def test_is_refused_fd_passing_by_a_class_whose_interface_has_none(self, sup):
        from jeepney.auth import FDNegotiationError
        from offshoot import _wire
        # The worker negotiates descriptors only for interfaces with an `h` (issue 14); Counter
        # has none (Echo has, since EchoMemfd).
        with sup.spawn("Counter", uid=NOBODY) as counter:
            with pytest.raises(FDNegotiationError):
                _wire.open_link(counter.address, enable_fds=True)
            assert counter.Increment(7) == 7


class TestSharedBuffers:
    """offshoot.SharedBuffer (docs/payloads.md) against Echo.EchoShared, the C++ side's check."""

    def test_carry_bytes_there_and_back_through_the_same_two_buffers(self, sup):
        size = (1 << 20) + 3
        with sup.spawn("Echo", uid=NOBODY) as echo, \
                offshoot.SharedBuffer(size) as inp, offshoot.SharedBuffer(size) as out:
            for round_ in range(1, 4):
                data = bytes((i * 131 + round_) & 0xFF for i in range(size))
                inp.view[:] = data
                assert echo.EchoShared(inp, size, out) == size
                assert bytes(out.view) == data
            assert echo.EchoShared(inp.fileno(), 0, out.fileno()) == 0

    def test_keep_their_size_whoever_holds_them(self):
        import errno
        import fcntl
        with offshoot.SharedBuffer(4096) as buf:
            assert fcntl.fcntl(buf, fcntl.F_GET_SEALS) == \
                fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_SEAL
            with pytest.raises(OSError) as e:
                os.ftruncate(buf.fileno(), 0)
            assert e.value.errno == errno.EPERM
            assert len(buf.view) == 4096 and bytes(buf.view[:4]) == b"\0\0\0\0"
        with pytest.raises(ValueError):
            buf.fileno()
        assert len(offshoot.SharedBuffer(0).view) == 0
        buf = offshoot.SharedBuffer(1 << 20)
        buf.view[:] = b"\x07" * (1 << 20)
        kept = os.dup(buf.fileno())                  # as a peer would keep it
        try:
            assert os.fstat(kept).st_blocks * 512 >= 1 << 20
            buf.close()
            assert os.fstat(kept).st_blocks == 0     # the owner's pages went with the owner's buffer
            assert os.pread(kept, 1, 4096) == b"\0"
        finally:
            os.close(kept)
        held = offshoot.SharedBuffer(16)
        view = held.view
        with pytest.raises(BufferError):
            held.close()              # the mapping stays while a view of it lives
        view[0] = 1
        view.release()
        held.close()
        with pytest.raises(ValueError):
            held.view

    def test_an_unsealed_memfd_or_a_length_too_long_is_invalid_argument(self, sup):
        with sup.spawn("Echo", uid=NOBODY) as echo, \
                offshoot.SharedBuffer(4096) as inp, offshoot.SharedBuffer(1024) as out:
            with pytest.raises(offshoot.InvalidArgument, match="does not fit"):
                echo.EchoShared(inp, 1025, out)
            fd = os.memfd_create("unsealed", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
            try:
                os.ftruncate(fd, 4096)
                with pytest.raises(offshoot.InvalidArgument, match="not sealed against shrinking"):
                    echo.EchoShared(fd, 16, out)
            finally:
                os.close(fd)
            assert echo.Ping(3) == 3
