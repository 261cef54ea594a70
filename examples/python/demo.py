#!/usr/bin/python3
"""demo.py — the Python twin of offshoot-demo: spawns a Counter and an Identity as another user
(nobody by default), the Identity in a directory of its own, calls them, and prints who runs
where next to the demo itself — which stays root, in its own directory. Each claim is checked
against the kernel's view (/proc/PID) first. At the end of the `with` block both instances are
stopped; the demo checks that their processes are gone.

  /usr/bin/python3 examples/python/demo.py --address=unix:path=/tmp/…/bus [--uid=65534]
  (without --address: offshootd on the system bus)
"""

import argparse
import os
import pwd
import shutil
import sys
import tempfile
import threading

try:
    import offshoot
except ImportError:  # run from a source tree without the package installed
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
    import offshoot


def kernel_view(pid):
    """(uid, gid, cwd) of a process as /proc says, after checking its four uids and gids agree."""
    ids = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("Uid", "Gid"):
                values = set(rest.split())
                if len(values) != 1:
                    raise SystemExit(f"demo: /proc/{pid} has mixed {key}s {rest.split()}")
                ids[key] = int(values.pop())
    return ids["Uid"], ids["Gid"], os.readlink(f"/proc/{pid}/cwd")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--address", help="the bus offshootd is on (default: the system bus)")
    parser.add_argument("--uid", type=int, default=65534, help="the user the instances run as")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("demo: run as root (offshoot's example classes let root spawn as nobody)")
    gid = pwd.getpwuid(args.uid).pw_gid

    workdir = tempfile.mkdtemp(prefix="offshoot-py-demo-")
    os.chmod(workdir, 0o755)
    os.chown(workdir, args.uid, gid)
    rows = [("demo (this process)", os.getpid(), *kernel_view(os.getpid()), "-")]
    try:
        sup = offshoot.Supervisor(address=args.address)
        with sup.spawn("Counter", uid=args.uid) as counter, \
                sup.spawn("Identity", uid=args.uid, cwd=workdir) as identity:
            changed = threading.Event()
            counter.on("Changed", lambda value: changed.set())
            value = counter.Increment(5)
            if not changed.wait(5):
                raise SystemExit("demo: no Changed signal from the Counter within 5 s")
            described = identity.Describe()
            identity.WriteFile("hello.txt", "written by the Identity instance\n")
            pids = {"Counter": counter.pid, "Identity": identity.pid}
            for name, handle, says in (("Counter", counter, f"Increment(5) -> {value}"),
                                       ("Identity", identity, f"Describe().cwd -> {described.cwd}")):
                uid, gid_, cwd = kernel_view(handle.pid)
                if (uid, handle.uid) != (args.uid, args.uid):
                    raise SystemExit(f"demo: {name} runs as uid {uid}, expected {args.uid}")
                rows.append((name, handle.pid, uid, gid_, cwd, says))
            if described.cwd != workdir or described.pid != identity.pid:
                raise SystemExit(f"demo: Identity says {described}, expected cwd {workdir}")
            owner = os.stat(os.path.join(workdir, "hello.txt")).st_uid
            if owner != args.uid:
                raise SystemExit(f"demo: hello.txt belongs to uid {owner}, expected {args.uid}")
        # Both stopped and released here (Stop returns once the process is gone).
        for name, pid in pids.items():
            if os.path.exists(f"/proc/{pid}"):
                with open(f"/proc/{pid}/stat") as f:
                    if f.read().rsplit(")", 1)[1].split()[0] != "Z":
                        raise SystemExit(f"demo: {name} (pid {pid}) still runs after its scope")
        sup.close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    print(f"{'who':<22}{'pid':>8}{'uid':>7}{'gid':>7}  {'cwd':<36}said")
    for who, pid, uid, gid_, cwd, said in rows:
        print(f"{who:<22}{pid:>8}{uid:>7}{gid_:>7}  {cwd:<36}{said}")
    print(f"the demo is still uid {os.getuid()} in {os.getcwd()}; both instances stopped")


if __name__ == "__main__":
    main()
