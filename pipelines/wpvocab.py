#!/usr/bin/python3
"""wpvocab.py N [file ...]: a WordPiece vocabulary for text, on stdout.

BERT's special tokens, every character seen as a word and as a ##
piece, the N - (those) most frequent lower-cased words (BERT's basic
tokenization: punctuation apart), then ## endings of two to four letters
by frequency, so that every word has a tokenization and rarer words split
into a stem and its ending, which --wwm masks as one word.
"""
import collections, sys, unicodedata

n = int(sys.argv[1])
words = collections.Counter()
for path in sys.argv[2:] or ["-"]:
    f = sys.stdin if path == "-" else open(path, encoding="utf-8")
    for line in f:
        w = ""
        for ch in line.lower():
            if ch.isalnum():
                w += ch
                continue
            if w:
                words[w] += 1
                w = ""
            if not ch.isspace() and unicodedata.category(ch)[0] in "PS":
                words[ch] += 1
        if w:
            words[w] += 1
vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
chars = sorted({c for w in words for c in w})
vocab += chars + ["##" + c for c in chars if c.isalnum()]
seen = set(vocab)
budget = n - len(vocab)
top = [w for w, _ in words.most_common() if w not in seen]
nw = budget * 4 // 5
for w in top[:nw]:
    vocab.append(w)
    seen.add(w)
ends = collections.Counter()
for w, c in words.items():
    if w in seen:
        continue
    for k in (2, 3, 4):
        if len(w) > k + 1:
            ends["##" + w[-k:]] += c
for e, _ in ends.most_common():
    if len(vocab) >= n:
        break
    if e not in seen:
        vocab.append(e)
        seen.add(e)
sys.stdout.write("\n".join(vocab) + "\n")
