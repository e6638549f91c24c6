#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""
Man pages from the kernel-doc of uttm's public headers: one page in
section 3 per function, so the pages say exactly what the headers say and
can never drift from them.

  kdoc-man.py list HEADER...            names of the pages, one per line
  kdoc-man.py pages OUTDIR VERSION HEADER...
                                        writes OUTDIR/NAME.3 for each
  kdoc-man.py functions HEADER...       the functions the headers declare

A function without a kernel-doc comment is an error: every public
function is documented, and so has its page.
"""
import os
import re
import sys

DOC = re.compile(r'/\*\*\n(.*?)\n \*/\n(.*?)(?=;\n|\n\{)', re.S)
DECLARED = re.compile(r'^(?!typedef)[a-z][^\n;(]*?\b(uttm_[a-z0-9_]+)\(', re.M)
SECTION = re.compile(r'^(Context|Return|Returns):\s*(.*)$')


def strip_comment(body):
    """The text of a kernel-doc comment without its leading ' * '."""
    lines = []
    for line in body.split('\n'):
        if line.startswith(' * '):
            lines.append(line[3:])
        elif line.strip() in ('*', ''):
            lines.append('')
        elif line.startswith(' *\t'):
            lines.append(line[2:])
        else:
            lines.append(line.lstrip(' *'))
    return lines


def members(lines):
    """The @name: description lines after a comment's first line."""
    args = []
    i = 1
    while i < len(lines) and lines[i].startswith('@'):
        arg, _, desc = lines[i][1:].partition(':')
        i += 1
        while i < len(lines) and lines[i] and not lines[i].startswith('@'):
            desc += ' ' + lines[i].strip()
            i += 1
        args.append((arg, desc.strip()))
    return args, i


def parse_types(paths):
    """Documented structures and enums: name -> (summary, members, text)."""
    types = {}
    for path in paths:
        for m in DOC.finditer(open(path).read()):
            lines = strip_comment(m.group(1))
            head = re.match(r'((?:struct|enum) [a-z0-9_]+) - (.*)', lines[0])
            if head:
                args, i = members(lines)
                types[head.group(1)] = (head.group(2), args, lines[i:])
    return types


def parse(path):
    """The documented functions of a header: name, summary, prototype..."""
    text = open(path).read()
    docs = []
    for m in DOC.finditer(text):
        lines = strip_comment(m.group(1))
        head = re.match(r'([a-z0-9_]+)\(\) - (.*)', lines[0])
        if not head:
            continue            # a struct, an enum, a typedef
        name, summary = head.groups()
        decl = m.group(2).strip()
        decl = re.sub(r'^static inline ', '', decl)
        args, i = members(lines)
        sections = {'Description': [], 'Context': [], 'Return': []}
        current = 'Description'
        for line in lines[i:]:
            s = SECTION.match(line)
            if s:
                current = 'Return' if s.group(1).startswith('Return') \
                    else 'Context'
                line = s.group(2)
            sections[current].append(line)
        docs.append(dict(name=name, summary=summary, decl=decl, args=args,
                         header=os.path.basename(path), **sections))
    return docs


def declared(paths):
    names = set()
    for path in paths:
        names.update(DECLARED.findall(open(path).read()))
    return names


def roff_text(text):
    """Kernel-doc markup as roff: @arg italic, name() bold."""
    text = text.replace('\\', '\\e')
    text = re.sub(r'@([a-z_][a-z0-9_]*)', r'\\fI\1\\fP', text)
    text = re.sub(r'\b([a-z_][a-z0-9_]*)\(\)', r'\\fB\1\\fP()', text)
    text = re.sub(r'%([A-Z_0-9]+)', r'\\fB\1\\fP', text)
    return text


def roff_lines(lines):
    """Paragraphs of text, with tab-indented blocks kept as they are."""
    out, para, code = [], [], False
    for line in lines + ['']:
        if line.startswith('\t'):
            if para:
                out.append(' '.join(para))
                para = []
            if not code:
                out.append('.PP\n.nf\n.RS')
                code = True
            out.append(line[1:].replace('\\', '\\e'))
            continue
        if code:
            out.append('.RE\n.fi')
            code = False
        if line.strip():
            para.append(roff_text(line.strip()))
        elif para:
            out.append('.PP\n' + ' '.join(para))
            para = []
    body = '\n'.join(out)
    return re.sub(r'^([.\'])', r'\\&\1', body, flags=re.M) \
        .replace('\\&.PP', '.PP').replace('\\&.nf', '.nf') \
        .replace('\\&.RS', '.RS').replace('\\&.RE', '.RE') \
        .replace('\\&.fi', '.fi')


def types_section(doc, types):
    """The documented structures and enums the prototype names."""
    out = []
    for name in dict.fromkeys(re.findall(r'\b((?:struct|enum) uttm_[a-z0-9_]+)',
                                         doc['decl'])):
        if name not in types or not types[name][1]:
            continue            # opaque: nothing for the caller to fill
        summary, args, text = types[name]
        out += ['.SS %s' % name, roff_text(summary)]
        for arg, desc in args:
            out += ['.TP', '.I %s' % arg, roff_text(desc)]
        body = roff_lines(text).strip()
        if body:
            out.append(body)
    return ['.SH STRUCTURES'] + out if out else []


def page(doc, version, others, types):
    out = ['.\\" Generated from include/uttm/%s by scripts/kdoc-man.py;'
           ' do not edit.' % doc['header'],
           '.TH %s 3 "" "uttm %s" "uttm library"' % (doc['name'].upper(),
                                                   version),
           '.SH NAME',
           '%s \\- %s' % (doc['name'], roff_text(doc['summary'])),
           '.SH SYNOPSIS',
           '.nf',
           '.B #include <uttm/%s>' % doc['header'],
           '.PP',
           '.B "%s;"' % ' '.join(doc['decl'].split()).replace('"', '\\(dq'),
           '.fi']
    if doc['args']:
        out.append('.SH ARGUMENTS')
        for arg, desc in doc['args']:
            out += ['.TP', '.I %s' % arg, roff_text(desc)]
    for title, key in (('DESCRIPTION', 'Description'),
                       ('CONTEXT', 'Context'),
                       ('RETURN VALUE', 'Return')):
        text = roff_lines(doc[key]).strip()
        if text:
            out += ['.SH ' + title, text]
    out += types_section(doc, types)
    see = ['.BR uttm (7)'] + ['.BR %s (3)' % n for n in others[:8]]
    out += ['.SH SEE ALSO', ',\n'.join(see)]
    return '\n'.join(out).replace('\n.PP\n.SH', '\n.SH') + '\n'


def main(argv):
    cmd = argv[1]
    if cmd == 'functions':
        print('\n'.join(sorted(declared(argv[2:]))))
        return 0
    headers = argv[2:] if cmd == 'list' else argv[4:]
    docs = [d for h in headers for d in parse(h)]
    missing = declared(headers) - {d['name'] for d in docs}
    if missing:
        sys.stderr.write('kdoc-man: no kernel-doc for %s\n' %
                         ', '.join(sorted(missing)))
        return 1
    if cmd == 'list':
        print('\n'.join(d['name'] + '.3' for d in docs))
        return 0
    outdir, version = argv[2], argv[3]
    types = parse_types(headers)
    os.makedirs(outdir, exist_ok=True)
    for d in docs:
        others = [o['name'] for o in docs
                  if o['header'] == d['header'] and o is not d]
        with open(os.path.join(outdir, d['name'] + '.3'), 'w') as f:
            f.write(page(d, version, others, types))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
