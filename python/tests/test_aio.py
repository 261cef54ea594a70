"""The asyncio flavour (offshoot.aio): the same scenarios, awaited."""

import asyncio
import os
import time

import pytest

import offshoot
import offshoot.aio
from conftest import NOBODY, alive, pids_gone


def run(coro, timeout=30):
    return asyncio.run(asyncio.wait_for(coro, timeout))


class TestAnAsyncInstance:
    def test_is_called_signals_and_stops_at_the_end_of_async_with(self, daemon, bus):
        async def scenario():
            async with offshoot.aio.Supervisor(bus.address) as sup:
                assert "Counter" in [n for n, _ in await sup.classes()]
                async with sup.spawn("Counter", uid=NOBODY) as counter:
                    changed = asyncio.Queue()
                    await counter.on("Changed", changed.put_nowait)
                    assert await counter.Increment(5) == 5
                    assert await counter.Increment(by=2) == 7
                    assert await counter.Value == 7
                    assert await asyncio.wait_for(changed.get(), 5) == 5
                    assert await asyncio.wait_for(changed.get(), 5) == 7
                    pid = await counter.pid
                    assert (await counter.uid, await counter.state) == (NOBODY, "running")
                    assert alive(pid) and pid != os.getpid()
                pids_gone([pid], 0)
                assert await sup.instances() == []
        run(scenario())

    def test_takes_a_coroutine_as_signal_callback(self, daemon, bus):
        async def scenario():
            async with offshoot.aio.Supervisor(bus.address) as sup, \
                    sup.spawn("Counter", uid=NOBODY) as counter:
                got = asyncio.Event()

                async def on_changed(value):
                    assert await counter.Get() == value    # calling back from the callback
                    got.set()
                await counter.on("Changed", on_changed)
                await counter.Increment(3)
                await asyncio.wait_for(got.wait(), 5)
        run(scenario())

    def test_runs_a_task_once_and_waits_for_its_code(self, daemon, bus):
        async def scenario():
            sup = await offshoot.aio.connect(bus.address)
            start = time.monotonic()
            task = await sup.spawn("Sleeper", uid=NOBODY, args=["200", "3"])
            with pytest.raises(offshoot.Timeout):
                await task.wait(timeout=0.05)
            assert await task.wait(timeout=10) == ("exit-code", 3)
            assert time.monotonic() - start >= 0.2
            await task.release()
            await sup.close()
        run(scenario())

    def test_starts_explicitly_and_lets_a_task_finish_on_stop(self, daemon, bus):
        async def scenario():
            async with offshoot.aio.Supervisor(bus.address) as sup:
                later = await sup.spawn("Sleeper", uid=NOBODY, args=["300", "5"], start=False,
                                        stop_mode="wait")
                assert (await later.state, await later.pid) == ("created", 0)
                with pytest.raises(offshoot.NotRunning):
                    await later.Remaining()
                start = time.monotonic()
                await later.start()
                assert await later.Remaining() <= 300
                await later.stop()
                assert time.monotonic() - start >= 0.3
                assert await later.wait() == ("exit-code", 5)
                await later.close()
        run(scenario())

    def test_raises_the_same_errors(self, daemon, bus):
        async def scenario():
            async with offshoot.aio.Supervisor(bus.address) as sup:
                with pytest.raises(offshoot.UnknownClass):
                    await sup.spawn("NoSuchClass", uid=NOBODY)
                with pytest.raises(offshoot.SpawnFailed) as e:
                    await sup.spawn("Identity", uid=NOBODY, cwd="/nonexistent/offshoot-py")
                assert e.value.step == "chdir"
                async with sup.spawn("Faulty", uid=NOBODY) as faulty:
                    with pytest.raises(offshoot.Error) as e:
                        await faulty.Throw("async boom")
                    assert (e.value.name, e.value.message) == (
                        "org.offshoot1.example.Faulty.Error", "async boom")
                    with pytest.raises(offshoot.Disconnected):
                        await faulty.Crash("segv")
                    assert await faulty.wait(timeout=10) in {("signal", 11), ("core-dump", 11)}
        run(scenario())
