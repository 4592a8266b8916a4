#!/usr/bin/python3
"""mktokjson.py FAMILY DIR >tokenizer.json: a tokenizer's files written as
Hugging Face's tokenizer.json, the way the library's converters write them
(roberta: vocab.json and merges.txt; albert: spiece.model; xlmr:
sentencepiece.bpe.model, fairseq's ids).  The SentencePiece model is read
with a small protobuf reader of its own: pieces, scores, types and the
normaliser's precompiled charsmap."""
import base64
import json
import os
import struct
import sys


def fields(buf):
    """(field, wire type, value) of a protobuf message."""
    i = 0
    while i < len(buf):
        key, i = varint(buf, i)
        f, wt = key >> 3, key & 7
        if wt == 0:
            v, i = varint(buf, i)
        elif wt == 1:
            v, i = buf[i:i + 8], i + 8
        elif wt == 2:
            n, i = varint(buf, i)
            v, i = buf[i:i + n], i + n
        elif wt == 5:
            v, i = buf[i:i + 4], i + 4
        else:
            raise ValueError('wire type %d' % wt)
        yield f, wt, v


def varint(buf, i):
    v = s = 0
    while True:
        b = buf[i]
        i += 1
        v |= (b & 0x7f) << s
        s += 7
        if b < 0x80:
            return v, i


def spm_model(path):
    pieces, charsmap = [], b''
    with open(path, 'rb') as f:
        buf = f.read()
    for f, _, v in fields(buf):
        if f == 1:
            p, sc, ty = '', 0.0, 1
            for g, _, w in fields(v):
                if g == 1:
                    p = w.decode('utf-8')
                elif g == 2:
                    sc = struct.unpack('<f', w)[0]
                elif g == 3:
                    ty = w
            pieces.append((p, sc, ty))
        elif f == 3:
            for g, _, w in fields(v):
                if g == 2:
                    charsmap = w
    return pieces, charsmap


def special(s, i):
    return {'id': i, 'content': s, 'single_word': False, 'lstrip': False,
            'rstrip': False, 'normalized': False, 'special': True}


def tmpl(a, b, bseg):
    def sp(t, seg):
        return {'SpecialToken': {'id': t, 'type_id': seg}}

    def sq(x, seg):
        return {'Sequence': {'id': x, 'type_id': seg}}
    return ([sp(a, 0), sq('A', 0), sp(b, 0)],
            [sp(a, 0), sq('A', 0), sp(b, 0), sq('B', bseg), sp(b, bseg)])


def main():
    fam, d = sys.argv[1], sys.argv[2]
    out = {'version': '1.0', 'truncation': None, 'padding': None}
    if fam == 'roberta':
        with open(os.path.join(d, 'vocab.json'), encoding='utf-8') as f:
            vocab = json.load(f)
        with open(os.path.join(d, 'merges.txt'), encoding='utf-8') as f:
            merges = [l for l in f.read().split('\n')[1:] if l]
        out['added_tokens'] = [special(s, vocab[s]) for s in
                               ('<s>', '<pad>', '</s>', '<unk>', '<mask>')]
        out['normalizer'] = None
        out['pre_tokenizer'] = {'type': 'ByteLevel',
                                'add_prefix_space': False,
                                'trim_offsets': True}
        out['post_processor'] = {'type': 'RobertaProcessing',
                                 'sep': ['</s>', vocab['</s>']],
                                 'cls': ['<s>', vocab['<s>']],
                                 'trim_offsets': True,
                                 'add_prefix_space': False}
        out['decoder'] = {'type': 'ByteLevel'}
        out['model'] = {'type': 'BPE', 'dropout': None,
                        'unk_token': '<unk>',
                        'continuing_subword_prefix': '',
                        'end_of_word_suffix': '', 'fuse_unk': False,
                        'vocab': vocab, 'merges': merges}
    elif fam == 'albert':
        pieces, cmap = spm_model(os.path.join(d, 'spiece.model'))
        ids = {p: i for i, (p, _, _) in enumerate(pieces)}
        unk = [i for i, (_, _, t) in enumerate(pieces) if t == 2][0]
        out['added_tokens'] = [special(p, i) for i, (p, _, t) in
                               enumerate(pieces) if t in (2, 3)]
        out['normalizer'] = {'type': 'Sequence', 'normalizers': [
            {'type': 'Replace', 'pattern': {'String': '``'}, 'content': '"'},
            {'type': 'Replace', 'pattern': {'String': "''"}, 'content': '"'},
            {'type': 'NFKD'}, {'type': 'StripAccents'},
            {'type': 'Lowercase'},
            {'type': 'Precompiled', 'precompiled_charsmap':
             base64.b64encode(cmap).decode('ascii')}]}
        out['pre_tokenizer'] = {'type': 'Sequence', 'pretokenizers': [
            {'type': 'WhitespaceSplit'},
            {'type': 'Metaspace', 'replacement': '\u2581',
             'add_prefix_space': True}]}
        single, pair = tmpl('[CLS]', '[SEP]', 1)
        out['post_processor'] = {
            'type': 'TemplateProcessing', 'single': single, 'pair': pair,
            'special_tokens': {s: {'id': s, 'ids': [ids[s]], 'tokens': [s]}
                               for s in ('[CLS]', '[SEP]')}}
        out['decoder'] = {'type': 'Metaspace', 'replacement': '\u2581',
                          'add_prefix_space': True}
        out['model'] = {'type': 'Unigram', 'unk_id': unk,
                        'vocab': [[p, s] for p, s, _ in pieces]}
    elif fam == 'xlmr':
        pieces, cmap = spm_model(os.path.join(d, 'sentencepiece.bpe.model'))
        vocab = [['<s>', 0.0], ['<pad>', 0.0], ['</s>', 0.0], ['<unk>', 0.0]]
        vocab += [[p, s] for p, s, _ in pieces[3:]] + [['<mask>', 0.0]]
        out['added_tokens'] = [special(s, i) for i, s in enumerate(
            ['<s>', '<pad>', '</s>', '<unk>'])] + [
            special('<mask>', len(vocab) - 1)]
        out['normalizer'] = {'type': 'Sequence', 'normalizers': [
            {'type': 'Precompiled', 'precompiled_charsmap':
             base64.b64encode(cmap).decode('ascii')}]}
        out['pre_tokenizer'] = {'type': 'Metaspace', 'replacement': '\u2581',
                                'add_prefix_space': True}
        out['post_processor'] = {'type': 'RobertaProcessing',
                                 'sep': ['</s>', 2], 'cls': ['<s>', 0],
                                 'trim_offsets': True,
                                 'add_prefix_space': True}
        out['decoder'] = {'type': 'Metaspace', 'replacement': '\u2581',
                          'add_prefix_space': True}
        out['model'] = {'type': 'Unigram', 'unk_id': 3, 'vocab': vocab}
    else:
        sys.exit('mktokjson.py: unknown family ' + fam)
    json.dump(out, sys.stdout, ensure_ascii=False)


if __name__ == '__main__':
    main()
