# A fake clock for Python child processes (libfaketime is not available here): when
# CREDPROC_FAKE_CLOCK_OFFSET (seconds, may be negative) or CREDPROC_FAKE_CLOCK_FILE (a file holding
# that number, re-read at every call) is set, time.time() is shifted by it. credproc reads the clock
# only through time.time(), so this moves its whole notion of "now". Put this directory on PYTHONPATH.
import os as _os
import time as _time

_offset_text = _os.environ.get("CREDPROC_FAKE_CLOCK_OFFSET")
_offset_file = _os.environ.get("CREDPROC_FAKE_CLOCK_FILE")
if _offset_text or _offset_file:
    _real_time = _time.time

    def _offset() -> float:
        if _offset_file:
            try:
                with open(_offset_file) as _f:
                    return float(_f.read().strip() or 0)
            except (OSError, ValueError):
                return 0.0
        return float(_offset_text)

    def _fake_time() -> float:
        return _real_time() + _offset()

    _time.time = _fake_time
