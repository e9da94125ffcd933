"""Write the code points of the embedded font subset, one "U+XXXX" a line.

The set: the whole CJK Unified Ideographs block (U+4E00-9FFF, 20,992 hanzi:
every hanzi of GBK, so rare characters in company and person names render),
every character of GB 2312 (its 682 symbols: full-width
punctuation, full-width forms, Greek, Cyrillic, kana, box drawing, ...), plus
printable ASCII, Latin-1, general punctuation (dashes, quotes, ellipsis), CJK
symbols and punctuation (U+3000-303F, with 〔〕) and all half/full-width forms
(U+FF01-FFEF). Python's own gb2312 codec is the reference for GB 2312.
"""

import sys


def gb2312():
    chars = set()
    for row in range(0xA1, 0xF8):
        for cell in range(0xA1, 0xFF):
            try:
                chars.add(bytes([row, cell]).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    return chars


def main():
    chars = gb2312()
    hanzi = sum(1 for c in chars if 0x4E00 <= ord(c) <= 0x9FFF)
    for first, last in [
        (0x20, 0x7E),
        (0xA0, 0xFF),
        (0x2010, 0x2027),
        (0x2030, 0x203B),
        (0x3000, 0x303F),
        (0xFF01, 0xFFEF),
        (0x4E00, 0x9FFF),
    ]:
        chars.update(chr(cp) for cp in range(first, last + 1))
    for c in sorted(chars):
        print("U+%04X" % ord(c))
    print(f"{hanzi} hanzi, {len(chars)} code points", file=sys.stderr)


if __name__ == "__main__":
    main()
