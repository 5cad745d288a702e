"""Byte counts as people read them, shared by the engine's sentences and the command line."""


def human_size(n: float) -> str:
    """Bytes in decimal units: 512 B, 1.5 kB, 2.0 MB … TB."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n} B"
