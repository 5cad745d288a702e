"""The text side of reading a data file, without pandas: decompression, the encoding policy, binary files, and the
sentences for an unreadable file; the CLI checks an input with these before any pandas import."""

import codecs
import csv
import os

from .errors import BadInput


# Compressed CSV, as pandas infers it from the file name; read through the matching decompressor everywhere.
_COMPRESSIONS = (".gz", ".bz2", ".xz", ".zip")


def open_raw(path, raw=None):
    """The bytes of a data file, decompressed when its name ends in .gz/.bz2/.xz/.zip (a zip of one file).

    `raw` is an already open binary handle of `path` (for progress by its position); a damaged archive is a
    usage error naming the file."""
    import zipfile

    lower = str(path).lower()
    raw = raw if raw is not None else open(path, "rb")
    try:
        if lower.endswith(".gz"):
            import gzip

            return gzip.GzipFile(fileobj=raw, mode="rb")
        if lower.endswith(".bz2"):
            import bz2

            return bz2.BZ2File(raw, "rb")
        if lower.endswith(".xz"):
            import lzma

            return lzma.LZMAFile(raw, "rb")
        if lower.endswith(".zip"):
            archive = zipfile.ZipFile(raw)
            members = [m for m in archive.infolist() if not m.is_dir()]
            if len(members) != 1:
                raise BadInput(f"input file {path} is a zip of {len(members)} files; give a zip holding one CSV file.")
            return archive.open(members[0])
    except zipfile.BadZipFile:
        raw.close()
        raise BadInput(f"input file {path} is not a readable zip file; give a CSV, Parquet or one CSV compressed.") from None
    return raw


def _read_head(path):
    """The first bytes of a file's text (decompressed), for sniffing its encoding."""
    import lzma
    import zlib

    try:
        with open_raw(path) as fh:
            return fh.read(_SNIFF)
    except (EOFError, zlib.error, lzma.LZMAError) as exc:
        raise BadInput(f"input file {path} is a damaged compressed file ({exc}); give it again, or uncompressed.") from None
    except OSError as exc:
        if str(path).lower().endswith(_COMPRESSIONS):
            raise BadInput(f"input file {path} is a damaged compressed file ({exc}); give it again, or uncompressed.") from None
        raise


# Byte-order marks, longest first: a UTF-32 LE mark begins with the UTF-16 LE one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_SNIFF = 1 << 16


def csv_encoding(path, encoding=None):
    """The codec every CSV reader uses for `path`: the byte-order mark's, else `encoding`, else UTF-8.

    A mark that contradicts `encoding`, an unknown `encoding` name, or NUL bytes in text read
    as UTF-8 (UTF-16/32 without a mark) are usage errors that say what to pass instead.
    """
    head = _read_head(path)
    bom = next((name for mark, name in _BOMS if head.startswith(mark)), None)
    if encoding:
        try:
            given = codecs.lookup(encoding).name
        except LookupError:
            raise BadInput(
                f"--encoding {encoding!r} is not an encoding Python knows; "
                "pass a name such as utf-8, cp1252, latin-1 or utf-16."
            ) from None
    else:
        given = None
    if bom is not None:
        family = bom.split("-sig")[0]
        if given is not None and not given.startswith(family):
            raise BadInput(
                f"input file {path} starts with a {family.upper()} byte-order mark but --encoding {encoding} was given; "
                f"drop --encoding (the mark names the encoding) or pass --encoding {family}."
            )
        return bom
    chosen = given or "utf-8"
    if binary(head):
        raise BadInput(f"input file {path} is not a text CSV or Parquet file (it holds binary data); give a CSV or Parquet file.")
    if b"\x00" in head and _ascii_compatible(chosen):
        guess = nul_reading(head)
        if guess is None:
            raise BadInput(stray_nul(f"input file {path}", head.find(b"\x00"), "save it as UTF-8 text"))
        raise BadInput(
            f"input file {path} holds NUL bytes, so it is not {_shown(chosen)} text (probably {guess.upper()} "
            f"without a byte-order mark); pass --encoding {guess} or save it as UTF-8."
        )
    return chosen


def not_a_file(path, what="input file"):
    """The sentence for a data path that is not a readable file: a folder says so, anything else does not exist."""
    if os.path.isdir(path):
        return f"{what} {path} is a folder, not a file; give a CSV or Parquet file inside it."
    return f"{what} {path} does not exist."


# What binary formats begin with (gzip, zip/xlsx, ELF, PDF, PNG, JPEG, SQLite, pickle): never CSV text.
_MAGIC = (b"\x1f\x8b", b"PK\x03\x04", b"\x7fELF", b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"SQLite format 3\x00", b"\x80\x04\x95")
_TEXT_CONTROLS = set(b"\t\n\r\f\v\x1a")


def binary(head):
    """Whether the first bytes of a file (without a byte-order mark) are binary data rather than text in any encoding
    a CSV is saved in: a known binary signature, or control characters where text (UTF-8 or BOM-less UTF-16/32) has none."""
    if not head:
        return False
    if head.startswith(_MAGIC):
        return True
    if b"\x00" in head:  # text only as UTF-16/32 without a mark: decoded that way it must read as text
        wide = guess_wide(head)
        text = head[: len(head) - len(head) % 4].decode(wide, "replace")
        odd = sum(1 for ch in text if ch == "\ufffd" or (ord(ch) < 32 and ch not in "\t\n\r\f\v"))
        return odd > max(2, len(text) // 100)
    controls = sum(1 for byte in head if byte < 32 and byte not in _TEXT_CONTROLS)
    return controls > max(2, len(head) // 100)


def _ascii_compatible(encoding):
    try:
        return "a,1\n".encode(encoding) == b"a,1\n"
    except (LookupError, UnicodeError):
        return False


BINARY_DATA = "binary data"  # nul_reading's answer for bytes that are not text at all


def nul_reading(head):
    """What the NUL bytes in the first bytes of a text (no byte-order mark) say it is: BINARY_DATA, text in a wide
    encoding without a mark ("utf-16-le", …: NULs in a quarter of its bytes or more), or None: a stray NUL in text."""
    if binary(head):
        return BINARY_DATA
    if head.count(0) * 4 >= len(head):
        return guess_wide(head)
    return None


def stray_nul(what, offset, fix):
    """The sentence for text holding a stray NUL byte (`nul_reading` None), as `predict` and the server say it."""
    return f"{what} is not plain text (it holds a NUL byte at offset {offset}); remove the NUL byte and {fix}."


def guess_wide(head):
    """utf-16-le/-be or utf-32-le/-be, from where the NUL bytes stand in mostly-ASCII text."""
    sample = head[: len(head) - len(head) % 4]
    if not sample:
        return "utf-16-le"

    def zeros(start, step):
        part = sample[start::step]
        return part.count(0) / max(len(part), 1)

    if zeros(1, 4) > 0.9 and zeros(2, 4) > 0.9:
        return "utf-32-le" if zeros(0, 4) < 0.5 else "utf-32-be"
    return "utf-16-le" if zeros(1, 2) >= zeros(0, 2) else "utf-16-be"


def _shown(encoding):
    name = codecs.lookup(encoding).name
    return "UTF-8" if name in ("utf-8", "utf-8-sig") else encoding


def check_header(path, encoding):
    """Refuse a header that names a column twice (pandas would silently rename the second `X.1`)."""
    import io

    try:
        with io.TextIOWrapper(open_raw(path), encoding=encoding, newline="") as fh:
            header = next(csv.reader(fh), None)
    except UnicodeDecodeError as exc:
        raise undecodable(path, encoding, exc) from None
    except csv.Error:
        return  # the CSV reader proper reports a malformed file
    if not header:
        return
    where: dict[str, list[int]] = {}
    for number, name in enumerate(header, 1):
        if name.strip():
            where.setdefault(name, []).append(number)
    repeated = [f"{name!r} (columns {_and(spots)})" for name, spots in where.items() if len(spots) > 1]
    if repeated:
        raise BadInput(
            f"input file {path} names the same column more than once: {_and(repeated[:5])}; "
            "rename them so every column has its own name."
        )


def _and(items):
    items = [str(i) for i in items]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def undecodable(path, encoding, exc=None):
    """The usage error for bytes that are not valid in `encoding`: the first bad byte, its line and column."""
    found = first_bad_byte(path, encoding)
    if found is None and exc is not None and exc.start < len(exc.object):
        where = f"byte 0x{exc.object[exc.start]:02X}"
    elif found is None:
        where = "a byte"
    else:
        line, column, byte = found
        where = f"byte 0x{byte:02X} at line {line}, column {column}"
    others = [e for e in ("cp1252", "latin-1") if codecs.lookup(e).name != codecs.lookup(encoding).name]
    example = " or ".join(f"--encoding {e}" for e in others)
    return BadInput(
        f"input file {path} is not valid {_shown(encoding)} text: {where} cannot be decoded; "
        f"pass --encoding NAME with the file's encoding (for example {example}), or save it as UTF-8."
    )


def first_bad_byte(path, encoding):
    """(line, column, byte value) of the first byte of `path` that does not decode in `encoding`, else None."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    lines, column = 1, 1
    with open(path, "rb") as fh:
        while True:
            block = fh.read(1 << 20)
            state = decoder.getstate()
            try:
                text = decoder.decode(block, final=not block)
            except UnicodeDecodeError as exc:
                pending = state[0]
                probe = codecs.getincrementaldecoder(encoding)("replace")
                probe.setstate(state)
                text = probe.decode(block[: max(exc.start - len(pending), 0)])
                lines, column = _advance(lines, column, text)
                return lines, column, exc.object[exc.start]
            lines, column = _advance(lines, column, text)
            if not block:
                return None


def _advance(lines, column, text):
    newlines = text.count("\n")
    if newlines:
        return lines + newlines, len(text) - text.rindex("\n")
    return lines, column + len(text)
