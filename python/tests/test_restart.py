"""Restarts (issue 20, part 1), from Python: spawn(restart=), the facts n_restarts and restart,
the proxy reconnecting on the next call after the restart policy has restarted the worker at
the same address (its subscriptions and exported objects moved along, a call in flight never
made again), on_restart, the start limit, Stop during a pending restart, and the asyncio
flavour; then the reconnect logic itself against stand-in links.

Resilient (the build's: Faulty under Restart=on-failure, RestartSec=100ms, StartLimitBurst=3 in
10 s) and the classes below, which this module adds (conftest: EXTRA_CLASSES): a Ticker and a
Walker restarted on failure, and Faulty restarted after 1 s and after an hour."""

import asyncio
import os
import queue
import signal
import threading
import time

import pytest
from jeepney import MatchRule

import offshoot
import offshoot.aio
from offshoot import _wire, errors
from conftest import NOBODY, PYTHON_DIR, alive, pids_gone


def _restarting(name, plugin, interface, restart_sec):
    return f"""[Class]
Name={name}
Plugin={plugin}
Interface={interface}
[Access]
AllowedUsers=nobody
AllowedCallers=root
[Exec]
WorkingDirectory=/
Restart=on-failure
RestartSec={restart_sec}
"""


EXTRA_CLASSES = {
    "py-restarting-ticker.conf": _restarting(
        "PyRestartingTicker", "ticker.so", "org.offshoot1.example.Ticker", "100ms"),
    "py-restarting-walker.conf": _restarting(
        "PyRestartingWalker", "walker.so", "org.offshoot1.example.Walker", "100ms"),
    "py-late-restart.conf": _restarting(
        "PyLateRestart", "faulty.so", "org.offshoot1.example.Faulty", "1s"),
    "py-slow-restart.conf": _restarting(
        "PySlowRestart", "faulty.so", "org.offshoot1.example.Faulty", "1h"),
}

FAULTY_ERROR = "org.offshoot1.example.Faulty.Error"
SEGV = {("signal", 11), ("core-dump", 11)}
ABORT = {("signal", 6), ("core-dump", 6)}
SINK_XML = os.path.join(os.path.dirname(PYTHON_DIR), "xml-interfaces",
                        "org.offshoot1.example.Sink.xml")
SINK = "/org/example/sink"
TICKS = ["50"] * 1000          # a tick every 50 ms for 50 s


class Restarts:
    """An on_restart callback that keeps its calls, to wait for with a deadline."""

    def __init__(self):
        self.calls = []
        self._changed = threading.Condition()

    def __call__(self, result, code, n_restarts):
        with self._changed:
            self.calls.append((result, code, n_restarts))
            self._changed.notify_all()

    def wait_for(self, n, timeout=10):
        """The n-th call (1-based), once it has come."""
        with self._changed:
            assert self._changed.wait_for(lambda: len(self.calls) >= n, timeout), \
                f"{n} restarts reported within {timeout} s? only {self.calls}"
            return self.calls[n - 1]


def until(predicate, timeout=10, what="the condition"):
    """Waits until predicate() holds (polled every 5 ms), AssertionError at the deadline."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not hold within {timeout} s")
        time.sleep(0.005)


def stalled(pid):
    """True while the worker's thread sleeps in Faulty's Stall (std::this_thread::sleep_for)."""
    try:
        with open(f"/proc/{pid}/wchan") as f:
            return "nanosleep" in f.read()
    except FileNotFoundError:
        return False


def answers(instance, timeout=25):
    """True when the instance's object answers a call (Faulty's Throw: its own error)."""
    with pytest.raises(offshoot.Error) as e:
        instance.object.with_timeout(timeout).Throw("are you there")
    assert (e.value.name, e.value.message) == (FAULTY_ERROR, "are you there"), e.value
    return True


class TestSpawningWithARestartPolicy:
    def test_the_classs_policy_is_the_default_and_a_narrower_one_may_be_asked(self, sup):
        with sup.spawn("Resilient", uid=NOBODY) as r:
            assert (r.restart, r.n_restarts) == ("on-failure", 0)
            assert r.properties()["Restart"] == "on-failure"
        with sup.spawn("Resilient", uid=NOBODY, restart="on-abort") as r:
            assert r.restart == "on-abort"
        with sup.spawn("Faulty", uid=NOBODY) as f:
            assert (f.restart, f.n_restarts) == ("no", 0)

    @pytest.mark.parametrize("class_name, restart", [
        ("Resilient", "always"),          # also after a clean exit: on-failure does not
        ("Resilient", "on-success"),
        ("Faulty", "on-failure")])        # a class without Restart= restarts after nothing
    def test_a_policy_looser_than_the_classs_is_access_denied(self, sup, class_name, restart):
        with pytest.raises(offshoot.AccessDenied):
            sup.spawn(class_name, uid=NOBODY, restart=restart)
        assert sup.instances() == []

    def test_an_unknown_policy_is_refused_before_anything_is_sent(self, sup):
        with pytest.raises(offshoot.InvalidArgument, match="on-failure"):
            sup.spawn("Resilient", uid=NOBODY, restart="sometimes")
        assert sup.instances() == []


class TestAfterACrash:
    def test_the_next_call_reconnects_to_the_new_worker_at_the_same_address(self, sup):
        with sup.spawn("Resilient", uid=NOBODY) as r:
            address, pid = r.address, r.pid
            with pytest.raises(offshoot.Disconnected):
                r.Crash("segv")                   # in flight when the worker died: fails
            # At once, while the restart is pending: the connection waits in the backlog of the
            # socket offshootd kept, and the call goes through once the new worker is there.
            assert answers(r)
            assert r.object.link.reconnects == 1
            assert r.n_restarts == 1              # one restart: the Crash was not sent again
            assert r.address == address
            assert r.pid not in (0, pid) and alive(r.pid)
            pids_gone([pid], 5)
            until(lambda: r.state == "running", what="State running")
            assert answers(r) and r.object.link.reconnects == 1   # on that connection now

    def test_a_call_in_flight_when_the_worker_dies_fails_and_is_never_made_again(self, sup):
        with sup.spawn("Resilient", uid=NOBODY) as r:
            pid, restarts = r.pid, Restarts()
            r.on_restart(restarts)
            failed = []

            def stall():
                try:
                    r.Stall(5000)
                except offshoot.Error as e:
                    failed.append(e)
            caller = threading.Thread(target=stall)
            caller.start()
            until(lambda: stalled(pid), what="the worker in Stall")
            r.kill(signal.SIGKILL)
            caller.join(5)
            assert not caller.is_alive(), "the Stall did not fail when its worker died"
            assert [type(e) for e in failed] == [offshoot.Disconnected]
            assert restarts.wait_for(1) == ("signal", signal.SIGKILL, 1)
            # Had the Stall been made again, the new worker would be stalled for 5 s.
            assert answers(r, timeout=2)
            assert r.n_restarts == 1

    def test_on_restart_says_what_ended_the_worker_and_counts(self, sup):
        with sup.spawn("Resilient", uid=NOBODY) as r:
            restarts, dropped = Restarts(), []
            sub = r.on_restart(dropped.append)
            r.on_restart(restarts)
            sub.cancel()
            with pytest.raises(offshoot.Disconnected):
                r.Crash("segv")
            result, code, n = restarts.wait_for(1)
            assert (result, code) in SEGV and n == 1
            with pytest.raises(offshoot.Disconnected):
                r.Crash("abort")                  # through a new connection
            result, code, n = restarts.wait_for(2)
            assert (result, code) in ABORT and n == 2
            assert r.n_restarts == 2 and dropped == []
            with pytest.raises(offshoot.Timeout):  # a restarted instance has not ended
                r.wait(timeout=0.1)

    def test_the_start_limit_ends_it_and_the_next_call_says_why(self, sup):
        with sup.spawn("Resilient", uid=NOBODY) as r:
            restarts = Restarts()
            r.on_restart(restarts)
            for n, how in enumerate(("segv", "abort"), 1):
                with pytest.raises(offshoot.Disconnected):
                    r.Crash(how)
                assert restarts.wait_for(n)[2] == n
            with pytest.raises(offshoot.Disconnected):
                r.Crash("segv")                   # the 3rd start within 10 s was the last
            assert r.wait(timeout=10) == ("start-limit-hit", 0)
            assert (r.state, r.result, r.n_restarts) == ("failed", "start-limit-hit", 2)
            with pytest.raises(offshoot.Disconnected) as e:
                r.Throw("anyone?")
            assert "not restarted" in e.value.message and "start-limit-hit" in e.value.message
            assert len(restarts.calls) == 2

    def test_restart_no_ends_it_at_the_first_crash_and_the_next_call_says_why(self, sup):
        with sup.spawn("Resilient", uid=NOBODY, restart="no") as r:
            assert r.restart == "no"
            with pytest.raises(offshoot.Disconnected):
                r.Crash("segv")
            assert r.wait(timeout=10) in SEGV
            assert (r.state, r.n_restarts, r.pid) == ("failed", 0, 0)
            with pytest.raises(offshoot.Disconnected) as e:
                r.Throw("anyone?")
            assert "not restarted" in e.value.message and "Restart=no" in e.value.message
            assert r.object.link.reconnects == 0


class TestWhileTheRestartIsPending:
    def test_a_call_waits_for_the_new_worker(self, sup):
        with sup.spawn("PyLateRestart", uid=NOBODY) as r:
            with pytest.raises(offshoot.Disconnected):
                r.Crash("segv")
            start = time.monotonic()
            assert answers(r)
            took = time.monotonic() - start
            assert 0.8 <= took < 10, f"answered {took:.3f} s after the crash (RestartSec=1s)"
            assert r.n_restarts == 1

    def test_a_call_waits_no_longer_than_its_timeout(self, sup):
        with sup.spawn("PySlowRestart", uid=NOBODY) as r:
            with pytest.raises(offshoot.Disconnected):
                r.Crash("segv")
            until(lambda: r.state == "restarting", what="State restarting")
            start = time.monotonic()
            with pytest.raises(offshoot.Timeout):
                r.object.with_timeout(0.5).Throw("x")
            assert 0.5 <= time.monotonic() - start < 3
            assert r.state == "restarting"

    def test_stop_calls_the_restart_off_for_good(self, sup, bus):
        with sup.spawn("PySlowRestart", uid=NOBODY) as r:
            address = r.address
            with pytest.raises(offshoot.Disconnected):
                r.Crash("segv")
            until(lambda: r.state == "restarting", what="State restarting")
            with pytest.raises(offshoot.Timeout):
                r.wait(timeout=0.1)               # a pending restart is no end
            # A call waiting for the new worker meanwhile, and Stop from another connection:
            # the call fails at once, saying why, not at its timeout.
            failed = []

            def call():
                try:
                    r.Throw("x")
                except offshoot.Error as e:
                    failed.append(e)
            caller = threading.Thread(target=call)
            caller.start()
            with offshoot.Supervisor(address=bus.address) as other:
                handle = other.adopt(r.path)
                start = time.monotonic()
                handle.stop()
                handle.detach()
            assert time.monotonic() - start < 5
            caller.join(10)
            assert not caller.is_alive(), "the waiting call did not fail"
            assert [type(e) for e in failed] == [offshoot.Disconnected]
            assert "not restarted" in failed[0].message and "0 restarts" in failed[0].message
            assert r.wait(timeout=5) in SEGV      # it has ended, for good
            assert (r.state, r.n_restarts) == ("failed", 0)
            with pytest.raises(offshoot.Disconnected):
                _wire.open_link(address, timeout=2)   # nobody keeps the address any more

    def test_stop_on_the_handle_itself_ends_it_too(self, sup):
        with sup.spawn("PySlowRestart", uid=NOBODY) as r:
            with pytest.raises(offshoot.Disconnected):
                r.Crash("abort")
            until(lambda: r.state == "restarting", what="State restarting")
            start = time.monotonic()
            r.stop()
            assert time.monotonic() - start < 5
            assert r.wait(timeout=5) in ABORT
            assert (r.state, r.n_restarts) == ("failed", 0)
            with pytest.raises(offshoot.NotRunning):   # stopped: start() it first
                r.Throw("x")


@pytest.fixture
def tree(nobody_dir):
    top = nobody_dir("walk")
    for name in ("a", "b"):
        open(os.path.join(top, name), "w").close()
    return top


class Collector:
    def __init__(self):
        self.names = []

    def Entry(self, name):
        self.names.append(name)


class TestWhatListensOnTheConnection:
    def test_a_subscription_gets_the_new_workers_signals_without_a_call(self, sup):
        with sup.spawn("PyRestartingTicker", uid=NOBODY, args=TICKS) as ticker:
            ticks, restarts = queue.Queue(), Restarts()
            ticker.on("Tick", ticks.put)
            ticker.on_restart(restarts)
            while ticks.get(timeout=5) < 5:       # the first worker's count has reached 5
                pass
            pid = ticker.pid
            ticker.kill(signal.SIGKILL)
            assert restarts.wait_for(1) == ("signal", signal.SIGKILL, 1)
            pids_gone([pid], 5)
            # No call since: the restart moved the subscription. The new worker counts from 1.
            deadline = time.monotonic() + 10
            while ticks.get(timeout=max(deadline - time.monotonic(), 0)) >= 5:
                pass
            assert ticker.object.link.reconnects == 1
            assert ticker.Count() < 50

    def test_a_call_made_while_restarting_brings_the_subscription_along(self, sup):
        with sup.spawn("PyRestartingTicker", uid=NOBODY, args=TICKS) as ticker:
            ticks = queue.Queue()
            ticker.on("Tick", ticks.put)
            while ticks.get(timeout=5) < 5:
                pass
            pid = ticker.pid
            ticker.kill(signal.SIGKILL)
            pids_gone([pid], 5)                   # its end of the connection is closed
            assert ticker.Count() < 5             # the new worker's, once it is there
            deadline = time.monotonic() + 10
            while ticks.get(timeout=max(deadline - time.monotonic(), 0)) >= 5:
                pass
            assert ticker.object.link.reconnects == 1

    def test_an_exported_object_is_called_back_by_the_new_worker(self, sup, tree):
        with sup.spawn("PyRestartingWalker", uid=NOBODY) as walker:
            sink = Collector()
            walker.export(SINK, sink, xml=SINK_XML)
            assert walker.Walk(tree, SINK) == 2
            pid = walker.pid
            walker.kill(signal.SIGKILL)
            pids_gone([pid], 5)
            assert walker.Walk(tree, SINK) == 2   # the new worker calls the same object
            assert sink.names == ["a", "b", "a", "b"]
            assert walker.pid != pid and walker.object.link.reconnects == 1


def run(coro, timeout=60):
    return asyncio.run(asyncio.wait_for(coro, timeout))


class TestTheAsyncioClient:
    def test_reconnects_reports_restarts_and_stops_at_the_start_limit(self, daemon, bus):
        async def scenario():
            async with offshoot.aio.Supervisor(bus.address) as sup:
                with pytest.raises(offshoot.AccessDenied):
                    await sup.spawn("Resilient", uid=NOBODY, restart="always")
                async with sup.spawn("Resilient", uid=NOBODY, restart="on-failure") as r:
                    assert (await r.restart, await r.n_restarts) == ("on-failure", 0)
                    restarted = asyncio.Queue()

                    async def on_restart(*info):   # a coroutine callback
                        await restarted.put(info)
                    await r.on_restart(on_restart)
                    address, pid = await r.address, await r.pid
                    with pytest.raises(offshoot.Disconnected):
                        await r.Crash("segv")
                    with pytest.raises(offshoot.Error) as e:   # at once: waits for the worker
                        await r.Throw("after")
                    assert (e.value.name, e.value.message) == (FAULTY_ERROR, "after")
                    result, code, n = await asyncio.wait_for(restarted.get(), 10)
                    assert (result, code) in SEGV and n == 1
                    assert await r.n_restarts == 1 and await r.address == address
                    assert await r.pid not in (0, pid)
                    with pytest.raises(offshoot.Disconnected):
                        await r.Crash("abort")
                    assert (await asyncio.wait_for(restarted.get(), 10))[2] == 2
                    with pytest.raises(offshoot.Disconnected):
                        await r.Crash("segv")
                    assert await r.wait(timeout=10) == ("start-limit-hit", 0)
                    with pytest.raises(offshoot.Disconnected) as e:
                        await r.Throw("anyone?")
                    assert "start-limit-hit" in e.value.message
                    assert r.object.link.reconnects == 2
        run(scenario())

    def test_a_subscription_gets_the_new_workers_signals(self, daemon, bus):
        async def scenario():
            async with offshoot.aio.Supervisor(bus.address) as sup, \
                    sup.spawn("PyRestartingTicker", uid=NOBODY, args=TICKS) as ticker:
                ticks = asyncio.Queue()
                await ticker.on("Tick", ticks.put_nowait)
                while await asyncio.wait_for(ticks.get(), 5) < 5:
                    pass
                pid = await ticker.pid
                await ticker.kill(signal.SIGKILL)
                # No call: the restart moves the subscription.
                while await asyncio.wait_for(ticks.get(), 10) >= 5:
                    pass
                assert await ticker.pid != pid
                assert ticker.object.link.reconnects == 1
                assert await ticker.Count() < 50
        run(scenario())


# -- the reconnect logic against stand-in links ----------------------------------------------

class FakeLink:
    """What ReconnectingLink uses of a Link. `lose_next` makes the next call fail as one lost
    in flight (sent, then the connection closed)."""

    def __init__(self, name):
        self.name = name
        self.closed = False
        self.lose_next = False
        self.calls, self.subscriptions, self.exports = [], [], {}
        self._reader = None
        self.unique_name = name

    def call(self, msg, timeout=None):
        if self.closed:
            raise _wire.NotSent("the connection closed: gone")
        self.calls.append((msg, timeout))
        if self.lose_next:
            self.closed = True
            raise errors.Disconnected("the connection closed: lost in flight")
        return (self.name,)

    def call_prepared(self, prepared, body, timeout=None):
        return self.call((prepared, tuple(body)), timeout)

    def _attach(self, sub, timeout=None):
        if sub not in self.subscriptions:
            self.call(("AddMatch", sub.rule), timeout)
            self.subscriptions.append(sub)
        return sub

    def _unsubscribe(self, sub):
        if sub in self.subscriptions:
            self.subscriptions.remove(sub)

    def _attach_export(self, exported):
        self.exports[exported.path] = exported

    def _unexport(self, exported):
        del self.exports[exported.path]

    def route(self):
        pass

    def close(self):
        self.closed = True


class Decorated:
    @offshoot.method("s")
    def Entry(self, name):
        pass


class Redial:
    """A `reopen` that hands out FakeLinks (or raises `fail`), and keeps the timeouts asked."""

    def __init__(self):
        self.links, self.timeouts = [], []
        self.fail = None

    def __call__(self, timeout):
        self.timeouts.append(timeout)
        if self.fail is not None:
            raise self.fail
        self.links.append(FakeLink(f"new{len(self.links) + 1}"))
        return self.links[-1]


class TestTheReconnectLogic:
    def make(self, explain=None, watch=None):
        first, redial = FakeLink("first"), Redial()
        return _wire.ReconnectingLink(first, redial, explain, watch), first, redial

    def test_a_call_that_found_the_connection_closed_is_made_once_on_a_new_one(self):
        link, first, redial = self.make()
        assert link.call("m1", 5) == ("first",)
        first.close()
        assert link.call("m2", 5) == ("new1",)
        assert [m for m, _ in first.calls] == ["m1"]
        assert [m for m, _ in redial.links[0].calls] == ["m2"]
        assert len(redial.timeouts) == 1 and 0 < redial.timeouts[0] <= 5
        assert link.call_prepared("p", [1], None) == ("new1",)
        assert link.reconnects == 1 and link.link is redial.links[0]

    def test_a_call_lost_in_flight_is_raised_and_not_made_again(self):
        link, first, redial = self.make()
        first.lose_next = True
        with pytest.raises(offshoot.Disconnected) as e:
            link.call("not idempotent", None)
        assert not isinstance(e.value, _wire.NotSent)
        assert redial.timeouts == [] and len(first.calls) == 1
        assert link.call("next", None) == ("new1",)   # the next one reconnects
        assert [m for m, _ in redial.links[0].calls] == ["next"]

    def test_subscriptions_and_exported_objects_move_to_the_new_connection(self):
        watched = []
        link, first, redial = self.make(watch=watched.append)
        rule = MatchRule(type="signal", member="Tick")
        kept = link.subscribe(rule, print)
        dropped = link.subscribe(rule, print)
        exported = link.export("/sink", Decorated(), interface="x.Sink")
        assert watched == [link]                  # once, at the first
        assert first.subscriptions == [kept, dropped] and first.exports == {"/sink": exported}
        first.close()
        assert link.call("m", None) == ("new1",)
        new = redial.links[0]
        assert new.subscriptions == [kept, dropped] and new.exports == {"/sink": exported}
        assert [m[0] for m, _ in new.calls] == ["AddMatch", "AddMatch", "m"]
        dropped.cancel()
        exported.cancel()
        assert new.subscriptions == [kept] and new.exports == {}
        new.close()
        link.call("again", None)
        assert redial.links[1].subscriptions == [kept] and redial.links[1].exports == {}

    def test_a_subscription_made_on_a_closed_connection_reconnects_first(self):
        link, first, redial = self.make()
        first.close()
        sub = link.subscribe(MatchRule(type="signal", member="Tick"), print, 3)
        assert redial.links[0].subscriptions == [sub] and first.subscriptions == []

    def test_refresh_reconnects_only_for_something_that_listens(self):
        link, first, redial = self.make()
        first.close()
        assert link.refresh() is False and redial.timeouts == []
        link.export("/sink", Decorated(), interface="x.Sink")
        assert link.refresh() is True and list(redial.links[0].exports) == ["/sink"]
        assert link.refresh() is False            # open: nothing to do
        redial.links[0].close()
        redial.fail = errors.Disconnected("cannot connect")
        assert link.refresh() is False            # left for the next call to report

    def test_when_no_new_connection_can_be_made_explain_says_why(self):
        link, first, redial = self.make(
            explain=lambda e: errors.Disconnected(f"ended ({e.message})"))
        first.close()
        redial.fail = errors.Disconnected("cannot connect: refused")
        with pytest.raises(offshoot.Disconnected, match=r"ended \(cannot connect: refused\)"):
            link.call("m", 5)
        assert link.link is first                 # nothing changed: the next call tries again
        redial.fail = None
        assert link.call("m", 5) == ("new1",)

    def test_a_reconnect_that_takes_the_whole_timeout_is_timeout(self):
        link, first, redial = self.make(explain=lambda e: AssertionError("not to be explained"))
        first.close()

        def slow(timeout):
            time.sleep(timeout)
            raise errors.Disconnected("cannot connect: Did not authenticate")
        link._reopen = slow
        with pytest.raises(offshoot.Timeout):
            link.call("m", 0.05)

    def test_a_callback_that_calls_while_the_reconnect_attaches_reaches_the_new_link(self):
        # As a signal delivered on the new connection's reader thread while the reconnecting
        # thread still adds the other subscriptions: the call must not wait for that thread.
        link, first, redial = self.make()
        rule = MatchRule(type="signal", member="Tick")
        link.subscribe(rule, print)
        link.subscribe(rule, print)
        answered = []

        class Busy(FakeLink):
            def _attach(self, sub, timeout=None):
                if not answered:
                    caller = threading.Thread(target=lambda: answered.append(link.call("cb", 1)))
                    caller.start()
                    caller.join(2)
                    assert not caller.is_alive(), "the callback's call waited for the reconnect"
                return FakeLink._attach(self, sub, timeout)
        link._reopen = lambda timeout: Busy("busy")
        first.close()
        assert link.call("m", 5) == ("busy",)
        assert answered == [("busy",)] and len(link.link.subscriptions) == 2

    def test_after_close_nothing_reconnects(self):
        link, first, redial = self.make()
        link.close()
        with pytest.raises(offshoot.Disconnected):
            link.call("m", 1)
        assert redial.timeouts == [] and link.closed


class AsyncFakeLink(FakeLink):
    async def call(self, msg, timeout=None):
        return FakeLink.call(self, msg, timeout)

    async def call_prepared(self, prepared, body, timeout=None):
        return FakeLink.call(self, (prepared, tuple(body)), timeout)

    async def _attach(self, sub, timeout=None):
        if sub not in self.subscriptions:
            await self.call(("AddMatch", sub.rule), timeout)
            self.subscriptions.append(sub)
        return sub

    async def close(self):
        self.closed = True


class TestTheAsyncReconnectLogic:
    def test_moves_subscriptions_and_makes_only_an_unsent_call_again(self):
        async def scenario():
            made = []

            async def reopen(timeout):
                made.append(AsyncFakeLink(f"new{len(made) + 1}"))
                return made[-1]
            first = AsyncFakeLink("first")
            link = _wire.AsyncReconnectingLink(first, reopen)
            sub = await link.subscribe(MatchRule(type="signal", member="Tick"), print)
            first.closed = True
            assert await link.call("m", 5) == ("new1",)
            assert made[0].subscriptions == [sub]
            made[0].lose_next = True
            with pytest.raises(offshoot.Disconnected):
                await link.call("lost", 5)
            assert len(made) == 1                  # not made again
            assert await link.call_prepared("p", [], 5) == ("new2",)
            assert made[1].subscriptions == [sub] and link.reconnects == 2
            await link.close()
            with pytest.raises(offshoot.Disconnected):
                await link.call("m", 5)
            assert len(made) == 2
        run(scenario(), timeout=10)
