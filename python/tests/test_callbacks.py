"""Calls back into the caller (issue 20, part 2), from Python: a Sink object exported on the
connection of a Walker's proxy (offshoot._export) receives an Entry call from the worker for
every entry uid 65534 can see; its errors, a missing method and an asyncio Sink are answered
as D-Bus errors and coroutines."""

import asyncio
import os
import threading

import pytest

import offshoot
import offshoot.aio
from conftest import NOBODY, PYTHON_DIR

SINK_XML = os.path.join(os.path.dirname(PYTHON_DIR), "xml-interfaces", "org.offshoot1.example.Sink.xml")
SINK = "/org/example/sink"


@pytest.fixture
def tree(nobody_dir):
    """a, b/, b/c, secret/ (root's, 0700) with secret/hidden — as root, readable by others."""
    top = nobody_dir("walk")
    open(os.path.join(top, "a"), "w").close()
    os.mkdir(os.path.join(top, "b"))
    open(os.path.join(top, "b", "c"), "w").close()
    os.mkdir(os.path.join(top, "secret"), 0o700)
    open(os.path.join(top, "secret", "hidden"), "w").close()
    return top


class Collector:
    def __init__(self):
        self.names = []
        self.threads = set()

    def Entry(self, name):
        self.names.append(name)
        self.threads.add(threading.current_thread().name)


class TestAnExportedObject:
    def test_receives_the_walkers_callbacks_and_is_no_copy(self, sup, tree):
        with sup.spawn("Walker", uid=NOBODY) as walker:
            sink = Collector()
            walker.export(SINK, sink, xml=SINK_XML)
            assert walker.Walk(tree, SINK) == 4
            # the caller's own object holds what the worker found, as uid 65534
            assert sink.names == ["a", "b", "b/c", "secret"]
            assert sink.threads == {"offshoot-link"}    # served by the link's reader thread

    def test_may_be_declared_with_decorators_instead_of_xml(self, sup, tree):
        class Decorated:
            def __init__(self):
                self.names = []

            @offshoot.method("s")
            def Entry(self, name):
                self.names.append(name)

        with sup.spawn("Walker", uid=NOBODY) as walker:
            sink = Decorated()
            walker.export(SINK, sink, interface="org.offshoot1.example.Sink")
            assert walker.Walk(os.path.join(tree, "b"), SINK) == 1
            assert sink.names == ["c"]

    def test_answers_with_its_own_error_which_ends_the_walk(self, sup, tree):
        class Full(offshoot.Error):
            NAME = "org.example.Sink.Full"

        class Failing:
            def __init__(self):
                self.calls = 0

            def Entry(self, name):
                self.calls += 1
                if self.calls == 2:
                    raise Full("no room for " + name)

        with sup.spawn("Walker", uid=NOBODY) as walker:
            sink = Failing()
            walker.export(SINK, sink, xml=SINK_XML)
            with pytest.raises(offshoot.Error) as caught:
                walker.Walk(tree, SINK)
            assert (caught.value.name, caught.value.message) == ("org.example.Sink.Full", "no room for b")
            assert sink.calls == 2

    def test_a_python_exception_becomes_failed_and_the_link_serves_on(self, sup, tree):
        class Broken:
            def Entry(self, name):
                raise KeyError(name)

        with sup.spawn("Walker", uid=NOBODY) as walker:
            export = walker.export(SINK, Broken(), xml=SINK_XML)
            with pytest.raises(offshoot.Error) as caught:
                walker.Walk(tree, SINK)
            assert caught.value.name == "org.freedesktop.DBus.Error.Failed"
            assert "KeyError" in caught.value.message
            export.cancel()
            with pytest.raises(offshoot.Error) as caught:     # nothing at that path any more
                walker.Walk(tree, SINK)
            assert caught.value.name == "org.freedesktop.DBus.Error.UnknownObject"
            assert walker.InProgress() == 0

    def test_must_have_every_method_of_its_interface(self, sup):
        with sup.spawn("Walker", uid=NOBODY) as walker:
            with pytest.raises(TypeError, match="no method Entry"):
                walker.export(SINK, object(), xml=SINK_XML)


class TestAnAsyncExportedObject:
    def test_may_be_a_coroutine_that_calls_the_instance_back(self, daemon, bus, tree):
        async def scenario():
            async with offshoot.aio.Supervisor(bus.address) as sup, \
                    sup.spawn("Walker", uid=NOBODY) as walker:
                names = []

                class Sink:
                    async def Entry(self, name):
                        names.append((name, await walker.InProgress()))   # a call inside a callback

                walker.export(SINK, Sink(), xml=SINK_XML)
                assert await walker.Walk(tree, SINK) == 4
                assert names == [("a", 1), ("b", 1), ("b/c", 1), ("secret", 1)]
        asyncio.run(asyncio.wait_for(scenario(), 30))
