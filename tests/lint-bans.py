#!/usr/bin/env python3
# SPDX-License-Identifier: MIT OR Apache-2.0
"""The bans of STYLE.md §9 over src/ and daemons/: exit( outside main files, atoi/strtol and friends, dup(,
system(, sprintf(, and open()/openat() without O_CLOEXEC.  Prints each offence as file:line and fails."""

import os
import re
import sys

root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
BANNED = [
    (re.compile(r"(?<![\w.>])(atoi|atol|atoll|strtol|strtoul|strtoll|strtoull)\s*\("), "use parse-util.h"),
    (re.compile(r"(?<![\w.>])sprintf\s*\("), "use snprintf or asprintf"),
    (re.compile(r"(?<![\w.>])system\s*\("), "run programs explicitly"),
    (re.compile(r"(?<![\w.>])dup\s*\("), "use fcntl(F_DUPFD_CLOEXEC)"),
]
EXIT = re.compile(r"(?<![\w.>])exit\s*\(")
OPEN = re.compile(r"(?<![\w.>])(open|openat)\s*\(")


def strip_comments_and_strings(text):
    text = re.sub(r"/\*.*?\*/", lambda m: re.sub(r"[^\n]", " ", m.group(0)), text, flags=re.S)
    text = re.sub(r'"(\\.|[^"\\\n])*"', '""', text)
    return text


def call_args(text, start):
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                return text[start:i + 1]
    return text[start:]


def main():
    bad = 0
    for top in ("src", "daemons"):
        for dirpath, _, files in os.walk(os.path.join(root, top)):
            for f in files:
                if not f.endswith(".c"):
                    continue
                path = os.path.join(dirpath, f)
                with open(path) as fh:
                    text = strip_comments_and_strings(fh.read())
                is_main = "int main(" in text

                def report(pos, why):
                    nonlocal bad
                    bad += 1
                    print(f"{os.path.relpath(path, root)}:{text.count(chr(10), 0, pos) + 1}: {why}")

                for regex, why in BANNED:
                    for m in regex.finditer(text):
                        report(m.start(), f"'{m.group(0).strip()}' is banned: {why}")
                if not is_main:
                    for m in EXIT.finditer(text):
                        report(m.start(), "exit() outside a main file: return an error instead")
                for m in OPEN.finditer(text):
                    if "O_CLOEXEC" not in call_args(text, m.end() - 1):
                        report(m.start(), f"{m.group(1)}() without O_CLOEXEC")
    print(f"lint-bans: {bad} offences")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
