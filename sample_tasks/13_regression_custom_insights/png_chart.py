"""A tiny PNG writer (zlib + struct, no plotting library) that draws horizontal bar charts."""
import struct
import zlib

WHITE, GREY, BLUE = (255, 255, 255), (90, 90, 90), (31, 119, 180)


def _chunk(kind, data):
    """One PNG chunk: length, type, data, CRC."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def write_png(path, rows):
    """Write an 8-bit RGB image given as a list of rows, each a bytes-like of R, G, B triples."""
    header = struct.pack(">IIBBBBB", len(rows[0]) // 3, len(rows), 8, 2, 0, 0, 0)
    raw = b"".join(b"\x00" + bytes(row) for row in rows)  # filter type 0 on every scanline
    chunks = _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(raw, 9)) + _chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunks)


def bar_chart(path, values, width=480, bar=16, gap=6, margin=12):
    """Draw one horizontal bar per value, top to bottom, the largest spanning the plot width."""
    height = 2 * margin + len(values) * (bar + gap) - gap
    rows = [bytearray(bytes(WHITE) * width) for _ in range(height)]
    largest = max(values, default=0) or 1
    for i, value in enumerate(values):
        length = round((width - 2 * margin) * max(value, 0) / largest)
        for y in range(margin + i * (bar + gap), margin + i * (bar + gap) + bar):
            rows[y][3 * margin:3 * (margin + length)] = bytes(BLUE) * length
    for row in rows:  # the zero axis
        row[3 * (margin - 1):3 * margin] = bytes(GREY)
    write_png(path, rows)
