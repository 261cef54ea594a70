"""offshoot._handles — what the synchronous client (offshoot.supervisor) and the asyncio one
(offshoot.aio) share about their handles: the facts read as D-Bus properties, and `with`.

Each fact is `self._property(name)`: a value in the synchronous classes, an awaitable in the
asyncio ones, so one definition serves both.
"""


class SupervisorFacts:
    """offshootd's properties, for a class with `_property(name)`."""

    version = property(lambda self: self._property("Version"))
    instance_count = property(lambda self: self._property("InstanceCount"))


class InstanceFacts:
    """An instance handle's properties, for a class with `_property(name)`."""

    id = property(lambda self: self._property("Id"))
    class_name = property(lambda self: self._property("Class"))
    owner = property(lambda self: self._property("Owner"))
    pid = property(lambda self: self._property("MainPID"), doc="the worker's pid (0: none)")
    uid = property(lambda self: self._property("Uid"))
    gid = property(lambda self: self._property("Gid"))
    groups = property(lambda self: self._property("Groups"))
    cwd = property(lambda self: self._property("WorkingDirectory"))
    state = property(lambda self: self._property("State"),
                     doc="created, running, stopping, exited, failed or restarting")
    result = property(lambda self: self._property("Result"))
    exit_code = property(lambda self: self._property("ExitCode"))
    exit_signal = property(lambda self: self._property("ExitSignal"))
    n_restarts = property(lambda self: self._property("NRestarts"),
                          doc="restarts by the restart policy since the last spawn or start()")
    restart = property(lambda self: self._property("Restart"),
                       doc="the restart policy in effect: no, on-success, on-failure, "
                           "on-abnormal, on-abort or always")


class Closing:
    """A context manager that close()s the object at the end of the `with` block and lets any
    exception go on."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
