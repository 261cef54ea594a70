"""The Python client against offshootd on another host (issue 20, part 4): Supervisor(host=)
over ssh and systemd-stdio-bridge, the instance's proxy through a tunnel of its own, the login
user as the caller, a Sink exported over ssh, the asyncio flavour, and every ssh process gone
when the connections close."""

import asyncio
import os
import tempfile

import pytest

import offshoot
import offshoot.aio
from offshoot import _ssh

SINK_XML = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                        "xml-interfaces", "org.offshoot1.example.Sink.xml")


def ssh_children():
    """Our ssh processes (children of this process running ssh)."""
    me = str(os.getpid())
    out = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{pid}/comm") as f:
                comm = f.read().strip()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if fields[1] == me and comm == "ssh" and fields[0] != "Z":
            out.append(int(pid))
    return out


class TestARemoteSupervisor:
    def test_spawns_and_calls_an_instance_through_ssh_as_the_login_user(self, host, login_uid):
        with offshoot.Supervisor(host=host) as sup:
            assert "Walker" in [n for n, _ in sup.classes()]
            with sup.spawn("Echo") as echo:              # uid: the caller's — the login's
                assert echo.Ping(5) == 5
                assert echo.Echo(b"x" * 100_000) == b"x" * 100_000
                assert echo.uid == login_uid
                assert echo.address.startswith("unix:path=/run/offshoot/")
                assert len(ssh_children()) == 2          # the supervisor's and the instance's
            assert sup.instances() == []
        assert ssh_children() == []                      # each ssh ended with its connection

    def test_spawning_as_another_user_is_up_to_the_classes_policy(self, host):
        with offshoot.Supervisor(host=host) as sup:
            with pytest.raises(offshoot.AccessDenied):
                sup.spawn("Echo", uid=65534)

    def test_another_login_may_not_reach_the_instance(self, host, other_host):
        with offshoot.Supervisor(host=host) as sup, sup.spawn("Echo") as echo:
            with pytest.raises(offshoot.Disconnected, match="cannot reach"):
                offshoot._wire.open_link(echo.address, host=other_host)

    def test_a_sink_exported_over_ssh_receives_the_walk(self, host):
        top = tempfile.mkdtemp(prefix="offshoot-remote-py-")
        try:
            os.chmod(top, 0o755)
            for name in ("a", "b"):
                open(os.path.join(top, name), "w").close()
            with offshoot.Supervisor(host=host) as sup, sup.spawn("Walker") as walker:
                names = []

                class Sink:
                    def Entry(self, name):
                        names.append(name)
                walker.export("/sink", Sink(), xml=SINK_XML)
                assert walker.Walk(top, "/sink") == 2
                assert names == ["a", "b"]
        finally:
            for name in ("a", "b"):
                os.unlink(os.path.join(top, name))
            os.rmdir(top)

    def test_says_what_ssh_said_when_it_cannot_log_in(self, host):
        with pytest.raises(offshoot.Disconnected, match="ssh"):
            offshoot.Supervisor(host="nobody-here@127.0.0.1")
        assert ssh_children() == []

    def test_refuses_a_host_it_cannot_tunnel_to(self):
        with pytest.raises(offshoot.InvalidArgument, match="container"):
            offshoot.Supervisor(host="h/container")
        assert _ssh.command("u@h:2222", "unix:path=/x") == [
            "ssh", "-xT", "-p", "2222", "--", "u@h", "systemd-stdio-bridge", "--bus-path=unix:path=/x"]
        with pytest.raises(offshoot.InvalidArgument, match="remote shell"):
            _ssh.command("h", "unix:path=/x;id")


class TestARemoteAsyncSupervisor:
    def test_spawns_and_calls_through_ssh(self, host, login_uid):
        async def scenario():
            async with offshoot.aio.Supervisor(host=host) as sup, sup.spawn("Echo") as echo:
                assert await echo.Ping(9) == 9
                assert await echo.uid == login_uid
        asyncio.run(asyncio.wait_for(scenario(), 60))
        assert ssh_children() == []
