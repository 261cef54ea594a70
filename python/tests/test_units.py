"""Unit tests without a daemon: error mapping, Spawn options, the proxy's reading of XML."""

import os
import pickle

import pytest

import offshoot
from offshoot import _protocol, errors
from offshoot._proxy import Description

XML_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "xml-interfaces")


def read_xml(name):
    with open(os.path.join(XML_DIR, f"org.offshoot1.example.{name}.xml")) as f:
        return f.read()


class TestErrorsFromDbus:
    @pytest.mark.parametrize("cls", [
        offshoot.UnknownClass, offshoot.AccessDenied, offshoot.InvalidArgument,
        offshoot.SpawnFailed, offshoot.NotRunning, offshoot.LimitExceeded,
        offshoot.ShuttingDown, offshoot.Failed, offshoot.Timeout])
    def test_maps_each_of_offshoots_names_to_its_subclass(self, cls):
        name = "org.offshoot1.Error." + cls.__name__
        e = errors.from_dbus(name, "text")
        assert type(e) is cls and isinstance(e, offshoot.Error)
        assert (e.name, e.message) == (name, "text")

    def test_keeps_a_class_errors_name_as_it_was_thrown(self):
        e = errors.from_dbus("org.offshoot1.example.Faulty.Error", "boom")
        assert type(e) is offshoot.Error
        assert e.name == "org.offshoot1.example.Faulty.Error"
        assert str(e) == "org.offshoot1.example.Faulty.Error: boom"

    def test_reads_the_step_and_reason_of_a_spawn_failure(self):
        e = errors.from_dbus("org.offshoot1.Error.SpawnFailed",
                             "chdir: cannot enter /srv/x as uid 65534: Permission denied")
        assert e.step == "chdir"
        assert e.reason == "cannot enter /srv/x as uid 65534: Permission denied"

    def test_survives_pickling_with_its_type_and_name(self):
        for e in (offshoot.SpawnFailed("setuid: EPERM"), errors.from_dbus("x.y.Z", "m")):
            back = pickle.loads(pickle.dumps(e))
            assert (type(back), back.name, back.message) == (type(e), e.name, e.message)


class TestSpawnOptions:
    def test_always_sends_tie_to_caller_and_nothing_unset(self):
        assert _protocol.spawn_options() == {"tie-to-caller": ("b", True)}
        assert _protocol.spawn_options(tie_to_caller=False) == {"tie-to-caller": ("b", False)}

    def test_encodes_every_key_with_its_dbus_type(self):
        o = _protocol.spawn_options(uid=65534, gid=65534, groups=[65534], cwd="/srv",
                                    env={"A": "1"}, umask=0o027, args=["200", "3"], start=False,
                                    stop_mode="wait", stop_timeout=1.5, restart="on-failure")
        assert o == {"uid": ("u", 65534), "gid": ("u", 65534), "groups": ("au", [65534]),
                     "cwd": ("s", "/srv"), "environment": ("as", ["A=1"]), "umask": ("u", 0o027),
                     "arguments": ("as", ["200", "3"]), "start": ("b", False),
                     "stop-mode": ("s", "wait"), "stop-timeout-usec": ("t", 1_500_000),
                     "restart": ("s", "on-failure"), "tie-to-caller": ("b", True)}

    def test_takes_each_of_systemds_restart_values(self):
        for value in ("no", "on-success", "on-failure", "on-abnormal", "on-abort", "always"):
            assert _protocol.spawn_options(restart=value)["restart"] == ("s", value)

    @pytest.mark.parametrize("kwargs", [
        {"uid": -1}, {"uid": 2**32}, {"uid": "0"}, {"uid": True}, {"stop_mode": "later"},
        {"args": "200"}, {"env": ["A=1", 2]}, {"stop_timeout": -1}, {"stop_timeout": 0}, {"umask": 0o10000},
        {"restart": "sometimes"}, {"restart": "On-Failure"}, {"restart": True}])
    def test_refuses_what_offshootd_would_refuse_before_sending(self, kwargs):
        with pytest.raises(offshoot.InvalidArgument):
            _protocol.spawn_options(**kwargs)

    def test_waits_without_limit_for_a_stop_that_lets_the_work_finish(self):
        assert _protocol.stop_call_timeout("wait", 5) is None
        assert _protocol.stop_call_timeout(None, None) == 40.0
        assert _protocol.stop_call_timeout("terminate", 2) == 32.0


class TestDescription:
    def test_reads_methods_with_their_argument_names_signals_and_properties(self):
        d = Description(read_xml("Counter"))
        assert d.interfaces == ["org.offshoot1.example.Counter"]
        assert d.methods["Increment"].in_names == ["by"]
        assert d.methods["Increment"].in_signature == "x"
        assert d.properties["Value"] == ("org.offshoot1.example.Counter", "x", "read")
        assert d.signals == {"Changed": "org.offshoot1.example.Counter"}

    def test_binds_named_arguments_in_the_xml_order(self):
        m = Description(read_xml("Identity")).methods["WriteFile"]
        msg = m.message((), {"content": "c", "name": "n"})
        assert msg.body == ("n", "c")
        with pytest.raises(TypeError):
            m.message(("n",), {})
        with pytest.raises(TypeError):
            m.message(("n", "c"), {"extra": 1})

    def test_returns_several_outputs_as_a_named_tuple(self):
        m = Description(read_xml("Identity")).methods["Describe"]
        r = m.result((65534, 65534, [65534], "/", 42))
        assert r == (65534, 65534, [65534], "/", 42)
        assert (r.uid, r.cwd, r.pid) == (65534, "/", 42)

    def test_says_whether_the_object_passes_fds(self):
        assert not Description(read_xml("Identity")).uses_fds
        xml = ('<node><interface name="x.Y"><method name="Take"><arg type="h" direction="in"/>'
               '</method></interface></node>')
        assert Description(xml).uses_fds

    def test_names_the_members_there_are_when_one_is_missing(self):
        with pytest.raises(AttributeError, match="Increment"):
            raise Description(read_xml("Counter")).missing("Incremnet")
