#!/usr/bin/env python3
"""Differential test of corral's TOML parser (common/toml.c) against
Python's tomllib: a seeded, deterministic corpus of generated documents
(valid ones built from random trees in varied syntax, and mutations of
them, most of which are invalid) is given to both; they must accept the
same documents and read the same values.  Usage: toml_diff.py TOML_DUMP [N]."""
import datetime, json, math, os, random, subprocess, sys, tempfile, tomllib

INT64 = (-(1 << 63), (1 << 63) - 1)
rng = random.Random(20261204)

def bare_key():
    return "".join(rng.choice("abcXYZ019_-") for _ in range(rng.randint(1, 6)))

def esc_basic(s):
    out = []
    for ch in s:
        o = ord(ch)
        if ch == '"': out.append('\\"')
        elif ch == '\\': out.append('\\\\')
        elif ch in '\b\t\n\f\r' and rng.random() < 0.7: out.append({'\b': '\\b', '\t': '\\t', '\n': '\\n', '\f': '\\f', '\r': '\\r'}[ch])
        elif o < 0x20 or o == 0x7f or rng.random() < 0.05: out.append('\\u%04x' % o if o < 0x10000 and rng.random() < 0.7 else '\\U%08X' % o)
        else: out.append(ch)
    return '"' + "".join(out) + '"'

def key_text(k):
    if all(c.isascii() and (c.isalnum() or c in "_-") for c in k) and k and rng.random() < 0.7:
        return k
    if "'" not in k and all(ord(c) >= 0x20 and ord(c) != 0x7f or c == '\t' for c in k) and rng.random() < 0.4:
        return "'" + k + "'"
    return esc_basic(k)

def rand_str():
    alphabet = "ab c'\"\\\t\n#=[]{}.,é€😀\x01\x7f"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8)))

def str_text(s):
    r = rng.random()
    if r < 0.15 and "'" not in s and all((ord(c) >= 0x20 and ord(c) != 0x7f) or c == '\t' for c in s):
        return "'" + s + "'"
    if r < 0.3 and "'''" not in s and not s.endswith("'") and all((ord(c) >= 0x20 and ord(c) != 0x7f) or c in '\t\n' for c in s):
        return "'''" + ("\n" if rng.random() < 0.5 else "") + s + "'''"
    if r < 0.45:
        body = esc_basic(s)[1:-1].replace('\\n', '\n') if rng.random() < 0.5 else esc_basic(s)[1:-1]
        if body.endswith('"'):
            body = body[:-1] + '\\"'
        nl = "\n" if rng.random() < 0.5 else ""
        cont = "\\\n   \n  " if rng.random() < 0.3 else ""
        return '"""' + nl + cont + body + '"""'
    return esc_basic(s)

def underscore(digits):
    if len(digits) > 1 and rng.random() < 0.3:
        i = rng.randint(1, len(digits) - 1)
        return digits[:i] + "_" + digits[i:]
    return digits

def rand_scalar():
    t = rng.choice(["int", "int", "float", "bool", "str", "str", "dt", "odt", "date", "time", "radix"])
    if t == "int":
        v = rng.choice([0, 1, -1, 42, 10**18, INT64[0], INT64[1], rng.randint(-10**6, 10**6)])
        s = str(v)
        sign = s[0] if s[0] == '-' else ("+" if rng.random() < 0.2 else "")
        return sign + underscore(s.lstrip('-'))
    if t == "radix":
        v = rng.randint(0, 1 << rng.choice([3, 16, 40, 63]))
        base = rng.choice(["x", "o", "b"])
        digits = {"x": "%x" % v, "o": "%o" % v, "b": bin(v)[2:]}[base]
        if base == "x" and rng.random() < 0.5: digits = digits.upper()
        return "0" + base + underscore(digits)
    if t == "float":
        r = rng.random()
        if r < 0.1: return rng.choice(["inf", "+inf", "-inf", "nan", "+nan", "-nan"])
        ip = str(rng.choice([0, 1, 3, 12345]))
        s = rng.choice(["", "-", "+"]) + underscore(ip)
        if rng.random() < 0.7: s += "." + underscore(str(rng.randint(0, 99999)).zfill(rng.randint(1, 5)))
        if rng.random() < 0.5 or "." not in s: s += rng.choice("eE") + rng.choice(["", "+", "-"]) + underscore(str(rng.randint(0, 300)).zfill(rng.randint(1, 3)))
        return s
    if t == "bool": return rng.choice(["true", "false"])
    if t == "str": return str_text(rand_str())
    y, mo = rng.randint(1, 9999), rng.randint(1, 12)
    d = rng.randint(1, 28 if mo == 2 else 30)
    if rng.random() < 0.05: y, mo, d = rng.choice([2000, 2024, 1900, 2023]), 2, 29
    date = "%04d-%02d-%02d" % (y, mo, d)
    time = "%02d:%02d:%02d" % (rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59))
    if rng.random() < 0.4: time += "." + "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 9)))
    if t == "date": return date
    if t == "time": return time
    sep = rng.choice(["T", "t", " "])
    if t == "dt": return date + sep + time
    off = rng.choice(["Z", "z", "+00:00", "-00:00", "+05:30", "-12:00", "+23:59"])
    return date + sep + time + off

def rand_inline(depth):
    r = rng.random()
    if depth > 0 and r < 0.15:
        items = [rand_inline(depth - 1) for _ in range(rng.randint(0, 3))]
        if rng.random() < 0.3:
            sep = rng.choice([",\n", ", # c\n", ","])
            return "[\n" + sep.join(items) + ("," if items and rng.random() < 0.5 else "") + "\n]"
        return "[" + ", ".join(items) + "]"
    if depth > 0 and r < 0.25:
        keys = list(dict.fromkeys(bare_key() for _ in range(rng.randint(0, 3))))
        return "{" + ", ".join(key_text(k) + " = " + rand_inline(depth - 1) for k in keys) + "}"
    return rand_scalar()

def gen_valid():
    lines, used = [], set()
    def kv(prefix):
        for _ in range(rng.randint(0, 4)):
            k = bare_key()
            if (prefix, k) in used: continue
            used.add((prefix, k))
            if rng.random() < 0.2:
                k2 = bare_key()
                if (prefix, k, k2) in used: continue
                used.add((prefix, k, k2))
                lines.append("%s.%s = %s" % (key_text(k), key_text(k2), rand_inline(2)))
            else:
                lines.append("%s%s=%s%s" % (key_text(k), rng.choice([" ", "", "\t"]), rng.choice([" ", ""]), rand_inline(2)))
            if rng.random() < 0.2: lines[-1] += "  # comment é"
    kv(())
    for _ in range(rng.randint(0, 4)):
        name = [bare_key() for _ in range(rng.randint(1, 3))]
        if rng.random() < 0.3:
            lines.append("[[%s]]" % ".".join(key_text(n) for n in name))
            kv(("aot", tuple(name), len(lines)))
        else:
            if ("tbl", tuple(name)) in used: continue
            used.add(("tbl", tuple(name)))
            lines.append("[ %s ]" % " . ".join(key_text(n) for n in name) if rng.random() < 0.2 else "[%s]" % ".".join(key_text(n) for n in name))
            kv(tuple(name))
        if rng.random() < 0.2: lines.append("# a comment")
        if rng.random() < 0.2: lines.append("")
    nl = "\r\n" if rng.random() < 0.15 else "\n"
    return nl.join(lines) + (nl if rng.random() < 0.8 else "")

TOKENS = ["=", "[", "]", "[[", "]]", ".", '"', "'", '"""', "'''", "#", "\n", "\r", "\r\n", "_", "0", "00", "\\", "\\u", "\\x",
          "\x00", "\x01", "\x7f", "\t", "{", "}", ",", "+", "-", ":", " ", "1979-05-27", "T", "Z", "e", "inf", "nan",
          "0x", "0o", "0b", "true", "a.b", "\ufeff", "\udc80", "é", "2000-02-30", "24:00:00", "1e", "1.", ".5", "a = 1"]

def mutate(doc):
    for _ in range(rng.randint(1, 3)):
        if not doc: doc = "x"
        i = rng.randint(0, len(doc))
        r = rng.random()
        if r < 0.35: doc = doc[:i] + doc[i + 1:]
        elif r < 0.8: doc = doc[:i] + rng.choice(TOKENS) + doc[i:]
        else:
            ls = doc.split("\n")
            j = rng.randrange(len(ls))
            ls.insert(rng.randint(0, len(ls)), ls[j])
            doc = "\n".join(ls)
    return doc

# Hand-written corner cases of the redefinition rules and the lexical
# grammar, given to both parsers before the generated ones.
FIXED = [
    "[fruit]\napple.color = 1\napple.taste.sweet = true\n[fruit.apple.texture]\nsmooth = true\n",
    "[fruit]\napple.color = 1\n[fruit.apple]\n", "[fruit]\napple.color = 1\n[fruit.apple.taste]\n",
    "[a.b.c]\n[a]\nb.x = 1\n", "[a.b.c]\n[a]\nb.x = 1\n[a.b]\n", "[a.b.c]\n[a]\nb.c.d = 1\n",
    "[a.b]\nx = 1\n[a]\nb.y = 2\n", "a.b = 1\n[a]\n", "a.b = 1\n[a.c]\n", "[a]\n[a]\n", "[a.b]\n[a]\n[a]\n",
    "a = {b = 1}\n[a.c]\n", "a = {b = 1}\na.c = 2\n", "a = []\n[[a]]\n", "[[a]]\n[a]\n", "[[a]]\n[a.b]\n[[a]]\n[a.b]\n",
    "[[a.b]]\n[a]\nb.c = 1\n", "a = {x.y = 1, x.z = 2}\n", "a = {x = {y = 1}, x.z = 2}\n", "a = {b = 1,}\n",
    "a = {\nb = 1}\n", "a = [1,\n# c\n2,]\n", "a = [,]\n", "a = 1\na = 2\n", "[a]\nb = 1\n[a.b]\n",
    "a = 1979-05-27 07:32:00Z\n", "a = 1979-05-27 # d\n", "a = 07:32\n", "a = 1979-05-27T25:00:00\n",
    "a = 2023-02-29\n", "a = 2024-02-29\n", "a = 1979-05-27T00:00:60\n", "a = +0x10\n", "a = 0x\n", "a = 1__0\n",
    "a = _1\n", "a = 1_\n", "a = 01\n", "a = -0\n", "a = 0.\n", "a = .5\n", "a = 1e_5\n", "a = 1_e5\n", "a = 1e05\n",
    "a = 9223372036854775808\n", "a = -9223372036854775808\n", "a = 0x7fffffffffffffff\n", "a = 0x8000000000000000\n",
    "a = \"\\ud800\"\n", "a = \"\\U00110000\"\n", "a = \"\\e\"\n", "a = '\n", "a = ''\n",
    'a = """\\  \n  b"""\n', 'a = """\\ b"""\n', "a = \"x\ty\"\n", "a = 'x\x01'\n", "# \x7f\n", "a = 1\r\n", "a = 1\rb = 2\n",
    "\ufeffa = 1\n", "a.\"b\".'c' = 1\n", "a . b = 1\n", "3.14 = 1\n", "\"\" = 1\n", "= 1\n", "a = \n", "a = true false\n",
    "[ a ]\n", "[a\n]\n", "[[a]\n", "[a]]\n", "a = nan\nb = -inf\nc = +nan\n", "a = inf_\n", "a = 1.5e+3_0\n",
]

def canon_py(v):
    if isinstance(v, dict): return {k: canon_py(x) for k, x in v.items()}
    if isinstance(v, list): return [canon_py(x) for x in v]
    if isinstance(v, bool): return ("boolean", v)
    if isinstance(v, int): return ("integer", v)
    if isinstance(v, float): return ("float", "nan" if math.isnan(v) else v)
    if isinstance(v, str): return ("string", v)
    if isinstance(v, datetime.datetime):
        off = v.utcoffset()
        return ("datetime" if off is not None else "datetime-local",
                (v.year, v.month, v.day, v.hour, v.minute, v.second, v.microsecond, off and off.total_seconds() // 60 or 0 if off is not None else None))
    if isinstance(v, datetime.date): return ("date-local", (v.year, v.month, v.day))
    if isinstance(v, datetime.time): return ("time-local", (v.hour, v.minute, v.second, v.microsecond))
    raise TypeError(type(v))

def parse_c_time(s):
    hms, _, frac = s.partition(".")
    h, m, sec = map(int, hms.split(":"))
    return h, m, sec, int(frac[:6].ljust(6, "0")) if frac else 0

def canon_c(v):
    if isinstance(v, list): return [canon_c(x) for x in v]
    if set(v) != {"type", "value"} or not isinstance(v["type"], str):
        return {k: canon_c(x) for k, x in v.items()}
    t, s = v["type"], v["value"]
    if t == "boolean": return (t, s == "true")
    if t == "integer": return (t, int(s))
    if t == "float": return (t, "nan" if s == "nan" else float(s))
    if t == "string": return (t, s)
    if t == "date-local": return (t, tuple(map(int, s.split("-"))))
    if t == "time-local": return (t, parse_c_time(s))
    date, time = s[:10], s[11:]
    off = None
    if t == "datetime":
        if time.endswith("Z"): time, off = time[:-1], 0
        else:
            time, o = time[:-6], time[-6:]
            off = (1 if o[0] == "+" else -1) * (int(o[1:3]) * 60 + int(o[4:6]))
    return (t, tuple(map(int, date.split("-"))) + parse_c_time(time) + (off,))

def c_limits_refuse(v):
    """Documents tomllib accepts but corral refuses by design: integers past
    64 bits and keys holding U+0000 (documented in docs/harbor.md)."""
    if isinstance(v, dict): return any("\x00" in k or c_limits_refuse(x) for k, x in v.items())
    if isinstance(v, list): return any(c_limits_refuse(x) for x in v)
    return isinstance(v, int) and not isinstance(v, bool) and not INT64[0] <= v <= INT64[1]

def main():
    dump = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 4000
    fails, stats = [], {"valid": 0, "invalid": 0}
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "doc.toml")
        for i in range(n + len(FIXED)):
            doc = FIXED[i] if i < len(FIXED) else gen_valid()
            if i >= len(FIXED) and i % 2: doc = mutate(doc)
            data = doc.encode("utf-8", "surrogatepass")
            with open(path, "wb") as f: f.write(data)
            try:
                want = tomllib.loads(data.decode("utf-8"))
                if c_limits_refuse(want): want = None
            except (tomllib.TOMLDecodeError, UnicodeDecodeError, ValueError):
                want = None
            p = subprocess.run([dump, path], capture_output=True)
            if p.returncode not in (0, 1):
                fails.append((i, doc, "toml_dump crashed (%d): %s" % (p.returncode, p.stderr.decode(errors="replace"))))
                continue
            got = canon_c(json.loads(p.stdout)) if p.returncode == 0 else None
            stats["valid" if want is not None else "invalid"] += 1
            if want is None and got is not None:
                fails.append((i, doc, "tomllib refuses it, corral accepts it"))
            elif want is not None and got is None:
                fails.append((i, doc, "tomllib accepts it, corral says " + p.stdout.decode(errors="replace").strip()))
            elif want is not None and canon_py(want) != got:
                fails.append((i, doc, "values differ:\n  tomllib %r\n  corral  %r" % (canon_py(want), got)))
    print("%d documents: %d valid, %d invalid (per tomllib), %d disagreements" % (n + len(FIXED), stats["valid"], stats["invalid"], len(fails)))
    for i, doc, why in fails[:15]:
        print("--- document %d: %s\n%r" % (i, why, doc))
    return 1 if fails else 0

if __name__ == "__main__":
    sys.exit(main())
