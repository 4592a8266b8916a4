#!/usr/bin/python3
# mktok.py -- the small tokenizers of the tests and the man page, learned
# from samples/tok-train.txt:
#   samples/tok-roberta  vocab.json, merges.txt: a byte-level BPE of 300
#                        merges (GPT-2's pattern and byte map; the most
#                        frequent pair first, the smaller pair on a tie)
#   samples/tok-albert   spiece.model: spm_train unigram, ALBERT's ids
#                        (pad 0, unk 1, [CLS] 2, [SEP] 3, [MASK] 4)
#   samples/tok-xlmr     sentencepiece.bpe.model: spm_train unigram,
#                        spm_train's default ids
# each with a config.json.  Needs python3-regex and spm_train
# (Debian's sentencepiece).
#
#	usage: mktok.py [SAMPLES]
import collections
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'test'))
from tokref import PAT, byte_map  # noqa: E402

NMERGE = 300


def learn_bpe(text):
    import regex
    bm = byte_map()
    freq = collections.Counter()
    for line in text.splitlines():
        for p in regex.findall(PAT, line):
            freq[tuple(bm[b] for b in p.encode('utf-8'))] += 1
    words = {w: list(w) for w in freq}
    merges = []
    for _ in range(NMERGE):
        pairs = collections.Counter()
        for w, syms in words.items():
            for i in range(len(syms) - 1):
                pairs[syms[i], syms[i + 1]] += freq[w]
        if not pairs:
            break
        top = max(pairs.values())
        a, b = min(p for p, n in pairs.items() if n == top)
        merges.append((a, b))
        for w, syms in words.items():
            out, i = [], 0
            while i < len(syms):
                if i + 1 < len(syms) and syms[i] == a and syms[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(syms[i])
                    i += 1
            words[w] = out
    vocab = {'<s>': 0, '<pad>': 1, '</s>': 2, '<unk>': 3}
    for b in range(256):
        vocab.setdefault(bm[b], len(vocab))
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    vocab['<mask>'] = len(vocab)
    return vocab, merges


def spm(train, prefix, extra):
    subprocess.run(['spm_train', '--input=' + train,
                    '--model_prefix=' + prefix, '--vocab_size=400',
                    '--model_type=unigram', '--character_coverage=1',
                    '--num_threads=1', '--minloglevel=2'] + extra,
                   check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def config(d, cfg):
    with open(os.path.join(d, 'config.json'), 'w') as f:
        json.dump(cfg, f)
        f.write('\n')


def main():
    top = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(__file__)
    train = os.path.join(top, 'tok-train.txt')
    with open(train, encoding='utf-8') as f:
        text = f.read()
    d = os.path.join(top, 'tok-roberta')
    os.makedirs(d, exist_ok=True)
    vocab, merges = learn_bpe(text)
    with open(os.path.join(d, 'vocab.json'), 'w', encoding='utf-8') as f:
        json.dump(vocab, f, ensure_ascii=False)
    with open(os.path.join(d, 'merges.txt'), 'w', encoding='utf-8') as f:
        f.write('#version: 0.2\n')
        for a, b in merges:
            f.write(a + ' ' + b + '\n')
    config(d, {'model_type': 'roberta', 'vocab_size': len(vocab),
               'max_position_embeddings': 66})
    with tempfile.TemporaryDirectory() as tmp:
        d = os.path.join(top, 'tok-albert')
        os.makedirs(d, exist_ok=True)
        spm(train, os.path.join(tmp, 'a'),
            ['--pad_id=0', '--unk_id=1', '--bos_id=-1', '--eos_id=-1',
             '--control_symbols=[CLS],[SEP],[MASK]'])
        os.replace(os.path.join(tmp, 'a.model'),
                   os.path.join(d, 'spiece.model'))
        config(d, {'model_type': 'albert', 'max_position_embeddings': 64})
        d = os.path.join(top, 'tok-xlmr')
        os.makedirs(d, exist_ok=True)
        spm(train, os.path.join(tmp, 'x'), [])
        os.replace(os.path.join(tmp, 'x.model'),
                   os.path.join(d, 'sentencepiece.bpe.model'))
        config(d, {'model_type': 'xlm-roberta',
                   'max_position_embeddings': 66})


if __name__ == '__main__':
    main()
