"""What every benchmark result names: the machine it was measured on."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def describe_machine() -> str:
    return (
        f"{platform.platform()}; {cpu_model()}; {os.cpu_count()} cores; "
        f"Python {platform.python_version()}"
    )
