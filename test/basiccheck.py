"""BERT's basic tokenizer, read from its definition and run by Python's own
str.lower() and unicodedata, on every code point: the check that tokenize
cleans, splits, lower-cases and strips accents as Python does, the final
sigma included.

usage: basiccheck.py DIR  writes DIR/vocab.txt (every character of every
basic token, alone and as a "##" continuation, so that WordPiece shows each
character), DIR/in.txt (one example a line) and DIR/want.jsonl (the tokens
of each line uncased, as recs -k tokens prints them), and the same with
every code point inside a word, cased: DIR/in-cased.txt, want-cased.jsonl.  Code points that this Python's
Unicode database leaves unassigned are left out: utf8proc may be newer.
"""
import functools
import json
import os
import sys
import unicodedata


def control(ch):
    if ch in "\t\n\r":
        return False
    return unicodedata.category(ch).startswith("C")


def space(ch):
    return ch in " \t\n\r" or unicodedata.category(ch) == "Zs"


def cjk(cp):
    return any(a <= cp <= b for a, b in (
        (0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF),
        (0x2A700, 0x2B73F), (0x2B740, 0x2B81F), (0x2B820, 0x2CEAF),
        (0xF900, 0xFAFF), (0x2F800, 0x2FA1F)))


@functools.lru_cache(maxsize=None)
def punct(ch):
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


@functools.lru_cache(maxsize=None)
def clean(ch):
    """What the clean-up and the CJK split make of a character."""
    if ord(ch) == 0 or ord(ch) == 0xFFFD or control(ch):
        return ""
    if space(ch):
        return " "
    if cjk(ord(ch)):
        return " " + ch + " "
    return ch


def basic(text, lower):
    words = []
    for w in "".join(map(clean, text)).split():
        if lower:
            w = w.lower()
            w = "".join(c for c in unicodedata.normalize("NFD", w)
                        if unicodedata.category(c) != "Mn")
        cur = ""
        for c in w:
            if punct(c):
                if cur:
                    words.append(cur)
                words.append(c)
                cur = ""
            else:
                cur += c
        if cur:
            words.append(cur)
    return words


def pieces(words):
    toks = ["[CLS]"]
    for w in words:
        if len(w) > 100:
            toks.append("[UNK]")
        else:
            toks.append(w[0])
            toks.extend("##" + c for c in w[1:])
    return toks + ["[SEP]"]


def main():
    d = sys.argv[1]
    # uncased: before and after a sigma, at the ends and inside a word;
    # cased: inside a word
    runs = (("", True, ("a\u03a3%s", "a\u03a3%sb", "%s\u03a3", "a%s\u03a3")),
            ("-cased", False, ("a%sb",)))
    chars = set()
    for suffix, lower, forms in runs:
        lines, want = [], []
        for cp in range(0x110000):
            if 0xD800 <= cp < 0xE000 or cp in (0x0A, 0x0D):
                continue
            ch = chr(cp)
            if unicodedata.category(ch) == "Cn":
                continue
            lines.extend(f % ch for f in forms)
        for s in lines:
            words = basic(s, lower)
            for w in words:
                chars.update(w)
            want.append(json.dumps({"tokens": pieces(words)},
                                   ensure_ascii=False, separators=(",", ":")))
        with open(os.path.join(d, "in%s.txt" % suffix), "w",
                  encoding="utf-8", newline="\n") as f:
            f.write("\n".join(s.replace("\t", " ") for s in lines) + "\n")
        with open(os.path.join(d, "want%s.jsonl" % suffix), "w",
                  encoding="utf-8") as f:
            f.write("\n".join(want) + "\n")
    chars.discard("\n")
    with open(os.path.join(d, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("[PAD]\n[UNK]\n[CLS]\n[SEP]\n")
        for c in sorted(chars):
            f.write(c + "\n##" + c + "\n")


main()
