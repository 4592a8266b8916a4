#!/usr/bin/python3
"""Write the demo task of headcount: samples/demo/{train,dev}.tsv.

A GLUE RTE-format task (index, sentence1, sentence2, label) in the words of
the known-answer model's vocabulary (samples/ka-model/vocab.txt): the second
sentence is entailed when it speaks of the subject of the first.  Also
samples/demo/relations.jsonl: single sentences with the token-index pairs
that link each subject to its verb (the paper's relation heads, section 4.2),
as JSON lines for `recs -r`, and the same sentences in the WordPiece of the
pre-trained sample (relations-kjv.jsonl, spans over the words' pieces).  Deterministic: run it again, get the same files.
"""
import json, os, random

top = os.path.dirname(os.path.abspath(__file__))
vocab = [w.strip() for w in open(os.path.join(top, "ka-model", "vocab.txt"))]
ids = {w: i for i, w in enumerate(vocab)}

subjects = ["the cat", "a dog", "my brother", "the children", "people",
            "birds", "she", "he", "we", "the train"]
verbs = ["sat", "ran", "walked", "laughed", "left", "noticed", "reads",
         "plays", "sells", "sing", "practices", "wait"]
places = ["on the mat", "across the park", "to the old bridge",
          "in the tall trees", "at the station", "outside the shop",
          "before school", "after the rain", "on the platform",
          "every morning", "at night", "there"]
states = ["was warm", "was quiet", "was early", "was tall", "was small",
          "was old", "was there", "was outside"]

def pair(rng):
    s1 = rng.choice(subjects)
    a = "%s %s %s." % (s1, rng.choice(verbs), rng.choice(places))
    same = rng.random() < 0.5
    s2 = s1 if same else rng.choice([s for s in subjects if s != s1])
    b = "%s %s." % (s2, rng.choice(states))
    return a, b, "entailment" if same else "not_entailment"

def write(path, n, seed):
    rng = random.Random(seed)
    with open(path, "w") as f:
        f.write("index\tsentence1\tsentence2\tlabel\n")
        for i in range(n):
            a, b, lab = pair(rng)
            f.write("%d\t%s\t%s\t%s\n" % (i, a, b, lab))

def relations(path, n, seed):
    rng = random.Random(seed)
    with open(path, "w") as f:
        for i in range(n):
            subj, verb = rng.choice(subjects), rng.choice(verbs)
            words = subj.split() + [verb] + rng.choice(places).split() + ["."]
            toks = ["[CLS]"] + words + ["[SEP]"]
            for w in toks:
                assert w in ids, w
            head = len(subj.split())        # the subject's noun
            rec = {"id": "demo/relations/%d" % i, "tokens": toks,
                   "ids": [ids[w] for w in toks], "seg": [0] * len(toks),
                   "spans": [[[head], [head + 1]]]}
            f.write(json.dumps(rec) + "\n")

def wordpiece(word, ids):
    """BERT's greedy longest-match-first WordPiece of one lower-case word."""
    out, start = [], 0
    while start < len(word):
        end = len(word)
        while end > start:
            piece = ("##" if start else "") + word[start:end]
            if piece in ids:
                break
            end -= 1
        if end == start:
            return ["[UNK]"]
        out.append(piece)
        start = end
    return out

def relations_wp(path, n, seed, vocab_path):
    """The same sentences in another vocabulary: pieces and their spans."""
    wv = [w.rstrip("\n") for w in open(vocab_path)]
    wids = {w: i for i, w in enumerate(wv)}
    rng = random.Random(seed)
    with open(path, "w") as f:
        for i in range(n):
            subj, verb = rng.choice(subjects), rng.choice(verbs)
            words = subj.split() + [verb] + rng.choice(places).split() + ["."]
            toks, first = ["[CLS]"], []
            for w in words:
                first.append(len(toks))
                toks += wordpiece(w, wids)
            toks.append("[SEP]")
            first.append(len(toks) - 1)
            head = len(subj.split()) - 1        # the subject's noun
            noun = list(range(first[head], first[head + 1]))
            vb = list(range(first[head + 1], first[head + 2]))
            rec = {"id": "demo/relations/%d" % i, "tokens": toks,
                   "ids": [wids[w] for w in toks], "seg": [0] * len(toks),
                   "spans": [[noun, vb]]}
            f.write(json.dumps(rec) + "\n")

os.makedirs(os.path.join(top, "demo"), exist_ok=True)
write(os.path.join(top, "demo", "train.tsv"), 600, 1)
write(os.path.join(top, "demo", "dev.tsv"), 200, 2)
relations(os.path.join(top, "demo", "relations.jsonl"), 40, 3)
relations_wp(os.path.join(top, "demo", "relations-kjv.jsonl"), 40, 3,
             os.path.join(top, "pretrain-kjv-4000", "vocab.txt"))
