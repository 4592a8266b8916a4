#!/usr/bin/python3
# score-mp.py: JSON lines on stdin -> a msgpack record stream on stdout, for
# score's and ablate's tests (no msgpack module needed). Floats as float64.
import json, struct, sys
def pk(o, out):
    if o is None: out.append(b'\xc0')
    elif o is True: out.append(b'\xc3')
    elif o is False: out.append(b'\xc2')
    elif isinstance(o, int):
        if 0 <= o < 128: out.append(struct.pack('>B', o))
        elif -32 <= o < 0: out.append(struct.pack('>b', o))
        elif o < 0: out.append(struct.pack('>Bq', 0xd3, o))
        else: out.append(struct.pack('>BQ', 0xcf, o))
    elif isinstance(o, float): out.append(struct.pack('>Bd', 0xcb, o))
    elif isinstance(o, str):
        b = o.encode()
        out.append((struct.pack('>B', 0xa0 | len(b)) if len(b) < 32
            else struct.pack('>BI', 0xdb, len(b))) + b)
    elif isinstance(o, list):
        out.append(struct.pack('>B', 0x90 | len(o)) if len(o) < 16
            else struct.pack('>BI', 0xdd, len(o)))
        for x in o: pk(x, out)
    elif isinstance(o, dict):
        out.append(struct.pack('>B', 0x80 | len(o)) if len(o) < 16
            else struct.pack('>BI', 0xdf, len(o)))
        for k, v in o.items(): pk(k, out); pk(v, out)
out = []
for line in sys.stdin:
    if line.strip(): pk(json.loads(line), out)
sys.stdout.buffer.write(b''.join(out))
