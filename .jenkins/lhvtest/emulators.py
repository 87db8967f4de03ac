"""The emulator backends by --emulator name, and their default timeouts."""

from .bochs import Bochs
from .qemu import Qemu


# A backend (qemu.py, bochs.py) builds the command, starts the emulator and returns
# (process, binary stream of serial output); the stream must reach EOF when
# the emulator ends. After the end, ending() reads how it ended:
# (exit kind, one-line detail, where its own log is).
EMULATORS = {"qemu": Qemu, "bochs": Bochs}
DEFAULT_TIMEOUTS = {"qemu": 30.0, "bochs": 120.0}
