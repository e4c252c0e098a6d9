"""A code interpreter for untrusted, model-written Python programs.

`Sandbox.run(code)` runs a program in a separate process and returns a `SandboxResult`; it never
raises for anything the program does. RL runs thousands of these, so a call costs milliseconds:

* A pool of warm *workers*. Each worker is a small Python server (`server.py`, run as a
  script) started once, inside `bwrap` when it works. Per call the server forks a fresh child,
  so one program never sees another's state, and pays only for a fork, not an interpreter start.
* The child runs in a new session with rlimits (CPU, address space, processes, file size, open
  files), in a fresh empty working directory, with stdout/stderr on pipes the server caps. The
  server enforces the wall-clock limit, kills the child's process group and then every other
  process the program left behind, and wipes the scratch directory before the next call.
* Isolation: the worker lives in new mount/pid/net/ipc/uts (and, unless we are root, user)
  namespaces: no network, not even the host's loopback. It sees read-only `/usr`, `/lib*` and
  the Python install, a tmpfs `/tmp` and nothing else: no `/etc`, `/home`, `/work`, and of
  `/root` only the Python install if that is where it lives (pyenv). `"bwrap"` has bubblewrap
  build that; `"process"` (no bwrap needed) builds the same with unshare, mounts and chroot,
  which takes root or user namespaces: where neither works, the sandbox refuses to start.
* Programs hold no capabilities (none effective, permitted, inheritable, ambient or in the
  bounding set) and set no_new_privs. When the caller is root they also run as an unprivileged
  uid of their own, without supplementary groups: RLIMIT_NPROC does not apply to root, and a
  fork bomb must be stopped.

Modules: `pool` (the host side: `Sandbox`, `shared_sandbox`), `results` (`SandboxResult`),
`isolation` (choosing and setting up the isolation on the host), `server` (the worker server,
standard library only, because inside the sandbox only the Python install is visible, not this
package).
"""

from orchestra_env.tools.sandbox.isolation import ISOLATIONS
from orchestra_env.tools.sandbox.pool import Sandbox, shared_sandbox
from orchestra_env.tools.sandbox.results import STATUSES, SandboxResult

__all__ = ["ISOLATIONS", "STATUSES", "Sandbox", "SandboxResult", "shared_sandbox"]
