#!/usr/bin/python3
"""spmcheck.py SPMTEST DIR [N [SEED]]: common/spm.c against libsentencepiece.

Trains SentencePiece models of every kind with Debian's spm_train into DIR
(unigram, BPE, word and character; nmt_nfkc, nmt_nfkc_cf and identity
normalisation; with and without split_by_whitespace, the dummy prefix,
extra white space removal, white space as a suffix, byte fallback and
user-defined pieces), makes variants no trainer writes (every score equal,
so that ties decide; unused pieces; white space not escaped), and
segments N random texts (default 3000) with each: SPMTEST (test/spmtest.c,
the C code) and python3-sentencepiece (the library) must give the same
ids and the same byte spans, piece for piece.  The texts mix the training
words with accents, combining marks, CJK, Hangul, emoji, fullwidth and
compatibility characters, control characters and NUL, runs of every kind
of space, U+2581 itself, the models' special pieces and very long words.
Prints one line per model; exits 1 after the first few differences.
"""
import os
import random
import zlib
import struct
import subprocess
import sys

import sentencepiece

TOP = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
WS = '\u2581'


# ---- protocol buffers, enough to read and rewrite a ModelProto ----

def varint(b, i):
    r = s = 0
    while True:
        c = b[i]
        i += 1
        r |= (c & 0x7f) << s
        s += 7
        if c < 0x80:
            return r, i


def fields(b):
    """(field, wire type, value) of a message; bytes for wire type 2."""
    i = 0
    while i < len(b):
        k, i = varint(b, i)
        f, w = k >> 3, k & 7
        if w == 0:
            v, i = varint(b, i)
        elif w == 1:
            v, i = b[i:i + 8], i + 8
        elif w == 5:
            v, i = b[i:i + 4], i + 4
        else:
            n, i = varint(b, i)
            v, i = b[i:i + n], i + n
        yield f, w, v


def put_varint(v):
    out = bytearray()
    v &= (1 << 64) - 1
    while v >= 0x80:
        out.append(v & 0x7f | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def put(f, w, v):
    key = put_varint(f << 3 | w)
    if w == 0:
        return key + put_varint(v)
    if w == 2:
        return key + put_varint(len(v)) + v
    return key + v


def rewrite(data, piece=None, normalizer=None):
    """The ModelProto with each piece (piece, score, type) through piece(),
    and normalizer fields {number: varint} set."""
    out = b''
    for f, w, v in fields(data):
        if f == 1 and w == 2 and piece is not None:
            d = {ff: vv for ff, ww, vv in fields(v)}
            p = (d.get(1, b''), struct.unpack('<f', d[2])[0] if 2 in d
                 else 0.0, d.get(3, 1))
            s, score, ty = piece(*p)
            v = (put(1, 2, s) + put(2, 5, struct.pack('<f', score)) +
                 put(3, 0, ty))
        elif f == 3 and w == 2 and normalizer:
            v = b''.join(put(ff, ww, vv) for ff, ww, vv in fields(v)
                         if ff not in normalizer)
            v += b''.join(put(ff, 0, vv) for ff, vv in normalizer.items())
        out += put(f, w, v)
    return out


# ---- the models ----

def train(d, name, text, args):
    prefix = os.path.join(d, name)
    subprocess.run(['spm_train', '--input=' + text,
                    '--model_prefix=' + prefix, '--character_coverage=0.98',
                    '--num_threads=1', '--minloglevel=2',
                    '--hard_vocab_limit=false'] + args, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return prefix + '.model'


def variant(d, name, src, **kw):
    path = os.path.join(d, name + '.model')
    with open(src, 'rb') as f:
        data = f.read()
    with open(path, 'wb') as f:
        f.write(rewrite(data, **kw))
    return path


def models(d, text):
    user = '--user_defined_symbols=<u1>,' + WS + 'xy,@@,ab' + WS + 'c'
    m = {}
    m['unigram'] = train(d, 'unigram', text, ['--vocab_size=1000'])
    m['unigram-identity'] = train(d, 'unigram-identity', text, [
        '--vocab_size=1000', '--normalization_rule_name=identity',
        '--split_by_whitespace=false', '--remove_extra_whitespaces=false',
        '--add_dummy_prefix=false'])
    m['unigram-cf-bytes-user'] = train(d, 'unigram-cf-bytes-user', text, [
        '--vocab_size=1000', '--normalization_rule_name=nmt_nfkc_cf',
        '--byte_fallback=true', user])
    m['unigram-suffix'] = train(d, 'unigram-suffix', text, [
        '--vocab_size=1000', '--treat_whitespace_as_suffix=true',
        '--allow_whitespace_only_pieces=true',
        '--split_by_whitespace=false'])
    m['bpe'] = train(d, 'bpe', text, ['--vocab_size=1000',
                                      '--model_type=bpe'])
    m['bpe-nosplit'] = train(d, 'bpe-nosplit', text, [
        '--vocab_size=1000', '--model_type=bpe',
        '--split_by_whitespace=false'])
    m['bpe-identity-bytes-user'] = train(d, 'bpe-identity-bytes-user', text, [
        '--vocab_size=1000', '--model_type=bpe', '--byte_fallback=true',
        '--normalization_rule_name=identity',
        '--remove_extra_whitespaces=false', user])
    m['bpe-suffix'] = train(d, 'bpe-suffix', text, [
        '--vocab_size=1000', '--model_type=bpe',
        '--treat_whitespace_as_suffix=true'])
    m['char'] = train(d, 'char', text, ['--model_type=char',
                                        '--vocab_size=400'])
    m['word'] = train(d, 'word', text, ['--model_type=word',
                                        '--vocab_size=400'])
    m['word-wsonly'] = train(d, 'word-wsonly', text, [
        '--model_type=word', '--vocab_size=400',
        '--allow_whitespace_only_pieces=true',
        '--remove_extra_whitespaces=false'])
    m['word-suffix'] = train(d, 'word-suffix', text, [
        '--model_type=word', '--vocab_size=400',
        '--treat_whitespace_as_suffix=true',
        '--remove_extra_whitespaces=false'])

    # ties everywhere: every normal piece's score the same
    def same(s, score, ty):
        return s, (-1.0 if ty == 1 else score), ty
    m['unigram-ties'] = variant(d, 'unigram-ties', m['unigram'], piece=same)

    # near ties: scores in quarters, each off by a few float steps, so
    # that paths differ by less than the float sums' rounding on long text
    def near(s, score, ty):
        if ty != 1:
            return s, score, ty
        q = round(score * 4) / 4
        return s, q + (zlib.crc32(s) % 7 - 3) * 2 ** -20, ty
    m['unigram-near-ties'] = variant(d, 'unigram-near-ties', m['unigram'],
                                     piece=near)
    m['bpe-ties'] = variant(d, 'bpe-ties', m['bpe'], piece=same)
    m['bpe-nosplit-ties'] = variant(d, 'bpe-nosplit-ties',
                                    m['bpe-nosplit'], piece=same)

    # unused pieces: every third normal piece of two bytes or more
    def unused(s, score, ty):
        if ty == 1 and len(s) > 1 and zlib.crc32(s) % 3 == 0:
            ty = 5
        return s, score, ty
    m['unigram-unused'] = variant(d, 'unigram-unused', m['unigram'],
                                  piece=unused)
    m['bpe-unused'] = variant(d, 'bpe-unused', m['bpe'], piece=unused)
    # spaces as spaces, kept
    m['unigram-noescape'] = variant(d, 'unigram-noescape', m['unigram'],
                                    normalizer={4: 0, 5: 0})
    m['bpe-noescape'] = variant(d, 'bpe-noescape', m['bpe'],
                                normalizer={5: 0, 3: 0})
    return m


# ---- the texts ----

POOLS = [
    [chr(c) for c in range(0x20, 0x7f)],
    [chr(c) for c in range(0, 0x20)] + ['\x7f', '\x85'],
    [chr(c) for c in range(0xa0, 0x180)],
    [chr(c) for c in range(0x300, 0x370)],
    [chr(c) for c in range(0x4e00, 0x4e00 + 300)] +
    [chr(c) for c in range(0x3040, 0x30ff)],
    [chr(c) for c in range(0xac00, 0xac00 + 200)] +
    [chr(c) for c in range(0x1100, 0x1175)],
    [chr(c) for c in range(0x1f600, 0x1f650)] + ['\u200d', '\ufe0f'],
    [chr(c) for c in range(0xff01, 0xff5f)] +
    [chr(c) for c in range(0xfb00, 0xfb07)] +
    ['\u2160', '\u216b', '\u00b2', '\u2075', '\ufdfa', '\u3371', '\u2474'],
    [' ', '  ', '\t', '\u3000', '\xa0', '\u2028', '\u200b', '\ufeff',
     '\u2002', WS, WS + WS, '\n', '\r'],
    [chr(c) for c in range(0x600, 0x650)] +
    [chr(c) for c in range(0x900, 0x950)] +
    [chr(c) for c in range(0x391, 0x3c9)] +
    [chr(c) for c in range(0x410, 0x44f)],
]
SPECIAL = ['<s>', '</s>', '<unk>', '<pad>', '<0x41>', '[CLS]', '<u1>',
           WS + 'xy', 'xy', '@@', 'ab' + WS + 'c', 'ab c', '\u2581']


def texts(n, words, seed):
    rng = random.Random(seed)
    out = ['', ' ', '   ', WS, WS * 3, '\x00', 'a', ' a ', 'ab' + WS + 'c',
           ''.join(words[:40]), 'a' * 3000, 'ab' * 1500, '\u4e00' * 700,
           ' '.join(words) * 2]
    while len(out) < n:
        parts = []
        for _ in range(rng.choice([1, 2, 5, 10, 20, 60])):
            r = rng.random()
            if r < 0.45:
                w = rng.choice(words)
                if rng.random() < 0.2:
                    w = w.upper() if rng.random() < 0.5 else w.title()
                parts.append(w)
            elif r < 0.5:
                parts.append(rng.choice(SPECIAL))
            elif r < 0.52:
                parts.append(rng.choice(words) * rng.randint(20, 200))
            else:
                pool = rng.choice(POOLS)
                parts.append(''.join(rng.choice(pool)
                                     for _ in range(rng.randint(1, 6))))
            parts.append(rng.choice([' ', ' ', ' ', '', '  ', '\t',
                                     '\u3000', WS]))
        out.append(''.join(parts))
    return out


def library(path, ts):
    sp = sentencepiece.SentencePieceProcessor()
    sp.Load(path)
    out = []
    for t in ts:
        try:
            b = sp.EncodeAsSerializedProto(t)
        except RuntimeError:
            out.append('error')
            continue
        pieces = []
        for f, w, v in fields(b):
            if f == 2:
                d = {ff: vv for ff, ww, vv in fields(v)}
                pieces.append('%d:%d:%d' % (d.get(2, 0), d.get(4, 0),
                                            d.get(5, 0)))
        out.append(' '.join(pieces))
    return out


def ours(spmtest, path, ts):
    inp = ''.join(t.encode('utf-8').hex() + '\n' for t in ts)
    r = subprocess.run([spmtest, path], input=inp.encode(),
                       stdout=subprocess.PIPE, check=True)
    return r.stdout.decode().split('\n')[:len(ts)]


def main():
    spmtest, d = sys.argv[1], sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 3000
    seed = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    os.makedirs(d, exist_ok=True)
    text = os.path.join(d, 'train.txt')
    src = [os.path.join(TOP, 'samples', 'tok-train.txt'),
           os.path.join(TOP, 'test', 'golden', 'tokenize-families-in.txt')]
    body = ''
    for s in src:
        with open(s, encoding='utf-8') as f:
            body += f.read()
    words = body.split()
    with open(text, 'w', encoding='utf-8') as f:
        f.write(body)
        f.write(''.join(texts(60, words, seed + 1000)[14:]).replace(
            '\r', '\n'))
    bad = 0
    ts = texts(n, words, seed)
    for name, path in models(d, text).items():
        want = library(path, ts)
        got = ours(spmtest, path, ts)
        diff = [i for i in range(len(ts)) if want[i] != got[i]]
        print('%s: %d texts, %d differ' % (name, len(ts), len(diff)))
        for i in diff[:3]:
            print('  text %r\n  library %s\n  spm.c   %s' %
                  (ts[i][:200], want[i][:300], got[i][:300]))
        bad += len(diff)
    sys.exit(1 if bad else 0)


if __name__ == '__main__':
    main()
