#!/usr/bin/python3
"""tokref.py FAMILY MODEL [MAXLEN] <lines: ids as JSON lines, {"ids": [...]}.

The tokenizers of Hugging Face's slow classes written out in Python, the
reference that tokenize is held to on hard text and measured against:
  roberta MODEL/vocab.json+merges.txt   RobertaTokenizer: GPT-2's pattern
                                        (the regex module), byte map, BPE
  albert  MODEL/spiece.model            AlbertTokenizer: preprocess_text,
                                        sentencepiece, the digit-comma rule
  xlmr    MODEL/sentencepiece.bpe.model XLMRobertaTokenizer: fairseq's ids
A line is a text, or a pair with a TAB between; encode_plus's template and
longest-first truncation to MAXLEN (128).
"""
import json
import os
import sys
import unicodedata

PAT = (r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+"""
       r"""|\s+(?!\S)|\s+""")


def byte_map():
    keep = (list(range(ord('!'), ord('~') + 1)) +
            list(range(0xa1, 0xac + 1)) + list(range(0xae, 0xff + 1)))
    m, n = {}, 0
    for b in range(256):
        if b in keep:
            m[b] = chr(b)
        else:
            m[b] = chr(256 + n)
            n += 1
    return m


class Roberta:
    def __init__(self, d):
        import regex
        with open(os.path.join(d, 'vocab.json'), encoding='utf-8') as f:
            self.vocab = json.load(f)
        with open(os.path.join(d, 'merges.txt'), encoding='utf-8') as f:
            lines = f.read().split('\n')
        if lines and lines[0].startswith('#version'):
            lines = lines[1:]
        pairs = [tuple(l.split()) for l in lines if l.split()]
        self.rank = dict(zip(pairs, range(len(pairs))))
        self.pat = regex.compile(PAT)
        self.bm = byte_map()
        self.cache = {}
        self.first, self.last = self.vocab['<s>'], self.vocab['</s>']
        self.sep2, self.segb = self.last, 0

    def bpe(self, word):
        if word in self.cache:
            return self.cache[word]
        w = list(word)
        while len(w) > 1:
            best = min(((self.rank.get((w[i], w[i + 1]), float('inf')), i)
                        for i in range(len(w) - 1)))
            if best[0] == float('inf'):
                break
            a, b = w[best[1]], w[best[1] + 1]
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and w[i] == a and w[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            w = out
        self.cache[word] = w
        return w

    def ids(self, text):
        if not text.strip():
            return []
        out = []
        unk = self.vocab.get('<unk>')
        for piece in self.pat.findall(text):
            mapped = ''.join(self.bm[b] for b in piece.encode('utf-8'))
            out += [self.vocab.get(t, unk) for t in self.bpe(mapped)]
        return out


class Albert:
    def __init__(self, path, lower=True, keep_accents=False):
        import sentencepiece
        self.sp = sentencepiece.SentencePieceProcessor()
        self.sp.Load(path)
        self.lower, self.keep = lower, keep_accents
        self.first = self.sp.PieceToId('[CLS]')
        self.last = self.sp.PieceToId('[SEP]')
        self.sep2, self.segb = None, 1

    def pre(self, text):
        if self.lower:		# tokenize(): each character apart
            text = ''.join(c if c == '\n' else c.lower() for c in text)
        text = ' '.join(text.strip().split())
        text = text.replace('``', '"').replace("''", '"')
        if not self.keep:
            text = unicodedata.normalize('NFKD', text)
            text = ''.join(c for c in text if not unicodedata.combining(c))
        if self.lower:
            text = text.lower()
        return text

    def pieces(self, text):
        out = []
        for p in self.sp.EncodeAsPieces(self.pre(text)):
            if len(p) > 1 and p[-1] == ',' and p[-2].isdigit():
                cur = self.sp.EncodeAsPieces(p[:-1].replace('\u2581', ''))
                if p[0] != '\u2581' and cur[0][0] == '\u2581':
                    if len(cur[0]) == 1:
                        cur = cur[1:]
                    else:
                        cur[0] = cur[0][1:]
                cur.append(p[-1])
                out += cur
            else:
                out.append(p)
        return out

    def ids(self, text):
        if not text.strip():
            return []
        return [self.sp.PieceToId(p) for p in self.pieces(text)]


class Xlmr:
    def __init__(self, path):
        import sentencepiece
        self.sp = sentencepiece.SentencePieceProcessor()
        self.sp.Load(path)
        self.first, self.last, self.sep2, self.segb = 0, 2, 2, 0

    def ids(self, text):
        if not text.strip():
            return []
        out = []
        for p in self.sp.EncodeAsPieces(text):
            i = self.sp.PieceToId(p)
            out.append(i + 1 if i else 3)
        return out


def encode(tok, a, b, maxlen):
    x, y = tok.ids(a), tok.ids(b) if b is not None else None
    n = 2 if y is None else 4 if tok.sep2 is not None else 3
    while len(x) + len(y or []) > max(maxlen - n, 0):
        if y is None or len(x) > len(y):
            x.pop()
        else:
            y.pop()
    ids = [tok.first] + x + [tok.last]
    if y is not None:
        ids += ([tok.sep2] if tok.sep2 is not None else []) + y + [tok.last]
    return ids


def main():
    fam, path = sys.argv[1], sys.argv[2]
    maxlen = int(sys.argv[3]) if len(sys.argv) > 3 else 128
    if fam == 'roberta':
        tok = Roberta(path)
    elif fam == 'albert':
        tok = Albert(os.path.join(path, 'spiece.model'))
    elif fam == 'xlmr':
        tok = Xlmr(os.path.join(path, 'sentencepiece.bpe.model'))
    else:
        sys.exit('tokref.py: unknown family ' + fam)
    out = sys.stdout
    for line in sys.stdin.buffer:
        line = line.decode('utf-8').rstrip('\r\n')
        if not line:
            continue
        a, _, b = line.partition('\t')
        ids = encode(tok, a, b if '\t' in line else None, maxlen)
        out.write(json.dumps({'ids': ids}, separators=(',', ':')) + '\n')


if __name__ == '__main__':
    main()
