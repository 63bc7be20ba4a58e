#!/usr/bin/env python3
"""Converts Xvfb's framebuffer dump (XWD, 24/32 bits per pixel TrueColor) to a PNG and prints the
number of distinct colours (the package test's "not blank" check). Standard library only.

usage: xwd_to_png.py SCREEN.xwd OUT.png
"""
import struct
import sys
import zlib


def read_xwd(path):
    data = open(path, "rb").read()
    if len(data) < 100:
        raise ValueError("not an XWD file: %d bytes" % len(data))
    for endian in (">", "<"):
        fields = struct.unpack(endian + "25I", data[:100])
        if fields[1] == 7:  # file_version
            break
    else:
        raise ValueError("not an XWD version 7 file")
    header_size, _, _, _, width, height = fields[:6]
    byte_order, bits_per_pixel, bytes_per_line = fields[7], fields[11], fields[12]
    red_mask, green_mask, blue_mask, ncolors = fields[14], fields[15], fields[16], fields[19]
    if bits_per_pixel not in (24, 32):
        raise ValueError("unsupported bits per pixel %d" % bits_per_pixel)
    offset = header_size + 12 * ncolors
    if offset + bytes_per_line * height > len(data):
        raise ValueError("truncated XWD file")
    step = bits_per_pixel // 8
    pixel_endian = "little" if byte_order == 0 else "big"

    def shift(mask):
        return (mask & -mask).bit_length() - 1 if mask else 0

    shifts = [(m, shift(m)) for m in (red_mask, green_mask, blue_mask)]
    rows = []
    for y in range(height):
        line = data[offset + y * bytes_per_line: offset + y * bytes_per_line + width * step]
        row = bytearray()
        for x in range(0, width * step, step):
            v = int.from_bytes(line[x:x + step], pixel_endian)
            row += bytes(((v & m) >> s) & 0xFF for m, s in shifts)
        rows.append(bytes(row))
    return width, height, rows


def write_png(path, width, height, rows):
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    raw = b"".join(b"\x00" + r for r in rows)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)))
        f.write(chunk(b"IDAT", zlib.compress(raw, 6)))
        f.write(chunk(b"IEND", b""))


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    width, height, rows = read_xwd(sys.argv[1])
    write_png(sys.argv[2], width, height, rows)
    colours = set()
    for r in rows:
        colours.update(r[i:i + 3] for i in range(0, len(r), 3))
    print(len(colours))


if __name__ == "__main__":
    main()
