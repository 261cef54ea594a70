"""offshoot — run an instance of a named class in a process of its own, under the uid, gid,
groups and working directory you ask for, and use it as if it were local, over a private
peer-to-peer D-Bus connection. The Python client of offshootd (docs/python.md).

    import offshoot
    sup = offshoot.Supervisor(address="unix:path=…")   # or offshoot.Supervisor(): system bus
                                                       # host="user@host": that one's, over ssh
    with sup.spawn("Counter", uid=65534) as counter:
        counter.Increment(5)
    task = sup.spawn("Sleeper", uid=65534, args=["200", "3"])
    task.wait(timeout=10)                              # ("exit-code", 3)

offshoot.aio is the same for asyncio; offshoot.embedded starts a private bus and offshootd.
"""

from .errors import (AccessDenied, Disconnected, Error, Failed, InvalidArgument, LimitExceeded,
                     NotRunning, ShuttingDown, SpawnFailed, Timeout, UnknownClass)
from .supervisor import Instance, Supervisor
from ._export import Exported, method
from ._wire import Subscription
from ._proxy import DEFAULT_CALL_TIMEOUT
from .payloads import SharedBuffer

__version__ = "0.1.0"

__all__ = [
    "Supervisor", "Instance", "Subscription", "Exported", "method", "SharedBuffer",
    "Error", "UnknownClass", "AccessDenied", "InvalidArgument", "SpawnFailed", "NotRunning",
    "LimitExceeded", "ShuttingDown", "Failed", "Timeout", "Disconnected", "DEFAULT_CALL_TIMEOUT",
]
