"""Errors as they reach Python, and what becomes of instances when their caller goes away:
SIGKILLed (tied instances go with its bus connection) or exiting normally (the atexit
shutdown stops them before the interpreter ends)."""

import json
import os
import subprocess
import sys
import textwrap
import time

import pytest

import offshoot
from conftest import NOBODY, PYTHON_DIR, alive, pids_gone


class TestErrors:
    def test_an_unknown_class_is_unknown_class(self, sup):
        with pytest.raises(offshoot.UnknownClass) as e:
            sup.spawn("NoSuchClass", uid=NOBODY)
        assert e.value.name == "org.offshoot1.Error.UnknownClass"
        assert sup.instances() == []

    def test_a_cwd_that_does_not_exist_fails_the_spawn_at_step_chdir(self, sup):
        with pytest.raises(offshoot.SpawnFailed) as e:
            sup.spawn("Identity", uid=NOBODY, cwd="/nonexistent/offshoot-py")
        assert e.value.step == "chdir"
        assert "/nonexistent/offshoot-py" in e.value.reason
        assert sup.instances() == []               # a failed Spawn leaves nothing behind

    def test_a_class_argument_it_refuses_fails_the_spawn_at_step_create_object(self, sup):
        with pytest.raises(offshoot.SpawnFailed) as e:
            sup.spawn("Sleeper", uid=NOBODY, args=["not-a-number"])
        assert e.value.step == "create-object"

    def test_a_user_the_class_does_not_allow_is_access_denied(self, sup):
        with pytest.raises(offshoot.AccessDenied):
            sup.spawn("Counter", uid=1)            # daemon: not in AllowedUsers=

    def test_a_relative_cwd_is_an_invalid_argument_from_offshootd(self, sup):
        with pytest.raises(offshoot.InvalidArgument) as e:
            sup.spawn("Identity", uid=NOBODY, cwd="relative/dir")
        assert e.value.name == "org.offshoot1.Error.InvalidArgument"

    def test_a_class_error_arrives_with_its_own_name_and_message(self, sup):
        with sup.spawn("Faulty", uid=NOBODY) as faulty:
            with pytest.raises(offshoot.Error) as e:
                faulty.Throw("it went wrong")
            assert type(e.value) is offshoot.Error
            assert e.value.name == "org.offshoot1.example.Faulty.Error"
            assert e.value.message == "it went wrong"
            with pytest.raises(TypeError, match="signature 's'"):
                faulty.Throw(42)                   # does not fit: nothing is sent
            with pytest.raises(offshoot.Error) as e:
                faulty.Throw("again")              # the connection is still fine
            assert e.value.message == "again"

    @pytest.mark.parametrize("how, results", [
        ("segv", {("signal", 11), ("core-dump", 11)}),
        ("abort", {("signal", 6), ("core-dump", 6)}),
        ("exit", None)])
    def test_a_crash_mid_call_fails_the_call_at_once_and_wait_says_how(self, sup, how, results):
        with sup.spawn("Faulty", uid=NOBODY) as faulty:
            start = time.monotonic()
            with pytest.raises(offshoot.Disconnected):
                faulty.Crash(how)
            assert time.monotonic() - start < 2    # not after a call timeout
            result = faulty.wait(timeout=10)
            if results is None:
                assert result[0] == "exit-code" and result[1] != 0
            else:
                assert result in results
            assert faulty.state == "failed"
            with pytest.raises(offshoot.Disconnected):
                faulty.Throw("the connection is gone")


class TestCallTimeouts:
    def test_a_proxy_waits_25_s_by_default_and_refuses_a_timeout_that_is_not_seconds(self, sup):
        with sup.spawn("Faulty", uid=NOBODY) as faulty:
            assert faulty.object.timeout == offshoot.DEFAULT_CALL_TIMEOUT == 25.0
            for bad in (0, -1, "2"):
                with pytest.raises(offshoot.InvalidArgument):
                    faulty.object.timeout = bad
            faulty.object.timeout = None           # no limit
            assert faulty.object.timeout is None

    def test_a_call_past_the_proxys_timeout_is_timeout_and_the_instance_lives_on(self, sup):
        with sup.spawn("Faulty", uid=NOBODY) as faulty:
            faulty.object.timeout = 0.3
            start = time.monotonic()
            with pytest.raises(offshoot.Timeout) as e:
                faulty.Stall(3000)
            took = time.monotonic() - start
            assert 0.3 <= took < 2.5
            assert e.value.name == "org.offshoot1.Error.Timeout"
            assert faulty.state == "running"
            with pytest.raises(offshoot.Error) as e:   # answered once the stall is over
                faulty.object.with_timeout(10).Throw("still here")
            assert e.value.name == "org.offshoot1.example.Faulty.Error"

    def test_a_per_call_timeout_applies_to_its_calls_only(self, sup):
        with sup.spawn("Faulty", uid=NOBODY) as faulty:
            quick = faulty.object.with_timeout(0.2)
            with pytest.raises(offshoot.Timeout):
                quick.Stall(2000)
            assert faulty.object.timeout == 25.0
            assert quick.timeout == 0.2

    def test_an_instance_that_dies_mid_call_is_disconnected_not_timeout(self, sup):
        with sup.spawn("Faulty", uid=NOBODY) as faulty:
            faulty.object.timeout = 10
            with pytest.raises(offshoot.Disconnected) as e:
                faulty.Crash("abort")
            assert not isinstance(e.value, offshoot.Timeout)

    def test_the_asyncio_proxy_has_the_same_timeouts(self, bus, daemon):
        import asyncio
        import offshoot.aio

        async def scenario():
            async with offshoot.aio.Supervisor(bus.address) as sup:
                async with sup.spawn("Faulty", uid=NOBODY) as faulty:
                    assert faulty.object.timeout == 25.0
                    faulty.object.timeout = 0.3
                    with pytest.raises(offshoot.Timeout):
                        await faulty.Stall(3000)
                    with pytest.raises(offshoot.Error) as e:
                        await faulty.object.with_timeout(10).Throw("x")
                    assert e.value.name == "org.offshoot1.example.Faulty.Error"
        asyncio.run(asyncio.wait_for(scenario(), 30))

def run_child(bus_address, body, timeout=30):
    """A child /usr/bin/python3 that imports this tree's offshoot and runs `body` with `sup`
    connected; it prints one JSON line when it has done its work, then sleeps or exits."""
    code = textwrap.dedent(f"""
        import json, sys, time
        sys.path.insert(0, {PYTHON_DIR!r})
        import offshoot
        sup = offshoot.Supervisor(address={bus_address!r})
    """) + textwrap.dedent(body)
    return subprocess.Popen(["/usr/bin/python3", "-c", code], stdout=subprocess.PIPE, text=True)


class TestACallerThatGoesAway:
    def test_killed_with_sigkill_takes_its_tied_instances_along_within_a_second(self, sup, bus):
        child = run_child(bus.address, """
            tied = [sup.spawn("Echo", uid=65534) for _ in range(3)]
            untied = sup.spawn("Echo", uid=65534, tie_to_caller=False)
            print(json.dumps({"tied": [i.pid for i in tied], "untied": untied.path,
                              "untied_pid": untied.pid}), flush=True)
            time.sleep(60)
        """)
        try:
            facts = json.loads(child.stdout.readline())
            assert all(alive(pid) for pid in facts["tied"])
            child.kill()
            start = time.monotonic()
            child.wait(10)
            took = pids_gone(facts["tied"], 1.0)
            print(f"[  FIGURE  ] SIGKILLed Python caller: 3 tied workers gone in "
                  f"{(time.monotonic() - start) * 1000:.1f} ms (pidfd {took * 1000:.1f} ms)")
        finally:
            child.kill()
            child.wait()
            child.stdout.close()
        # The untied one outlives its caller, and root manages it.
        assert alive(facts["untied_pid"])
        with sup.adopt(facts["untied"]) as echo:
            assert echo.Ping(1) == 1
        pids_gone([facts["untied_pid"]], 0.5)

    def test_exiting_normally_stops_its_tied_instances_before_the_interpreter_ends(self, sup, bus):
        # A task that is let finish (400 ms): the atexit shutdown's Stop returns only once it
        # has, so the interpreter ends after it — offspring's join at exit. (Were it left to
        # offshootd's watch of the connection, the child would exit at once, the task after.)
        child = run_child(bus.address, """
            task = sup.spawn("Sleeper", uid=65534, args=["400", "0"], stop_mode="wait")
            kept = sup.spawn("Counter", uid=65534, tie_to_caller=False)
            print(json.dumps({"pid": task.pid, "kept": kept.path, "kept_pid": kept.pid}),
                  flush=True)
            kept.detach()
        """)
        facts = json.loads(child.stdout.readline())
        start = time.monotonic()
        assert child.wait(20) == 0
        took = time.monotonic() - start
        child.stdout.close()
        pids_gone([facts["pid"]], 0)               # gone by the time the caller is
        assert took >= 0.3, f"the caller exited {took:.3f} s after spawning: it did not wait"
        assert [row[0] for row in sup.instances()] == [facts["kept"]]   # released too
        assert alive(facts["kept_pid"])            # untied: not the caller's to stop
        sup.adopt(facts["kept"]).close()


class TestTheExample:
    def test_demo_runs_and_prints_who_runs_where(self, sup, bus):
        demo = os.path.join(PYTHON_DIR, "..", "examples", "python", "demo.py")
        out = subprocess.run(["/usr/bin/python3", demo, f"--address={bus.address}"],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        lines = out.stdout.splitlines()
        assert lines[1].startswith("demo (this process)") and " 0 " in lines[1]
        assert [line.split()[0] for line in lines[2:4]] == ["Counter", "Identity"]
        assert all(line.split()[2] == str(NOBODY) for line in lines[2:4])
        assert "Increment(5) -> 5" in lines[2]
        assert sup.instances() == []
