"""Hand-written stand-ins for a cloud model's filter expansions (``bench/data/expansions_by_hand.json``).

Written from the first author's twelve filter texts alone, without reading the posts, in the shape and
within the bounds of the expansion schema; not model output. ``bench/calibrate_open_vocab.py`` fits the
expanded variant of the calibration on them and ``bench/eval_expansion.py`` reports it.
"""

from __future__ import annotations

import json
from pathlib import Path

from bench.open_vocab_data import LabelledGroup
from shared.models import Filter
from shared.moderation.expansion import Expansions, normalise_filter_text, parse_expansion

EXPANSIONS_FILE = Path(__file__).with_name("data") / "expansions_by_hand.json"


def load_expansions(filters: list[Filter]) -> Expansions:
    """The stand-in expansion of each filter that has one, keyed as the gateway keys them."""
    raw = json.loads(EXPANSIONS_FILE.read_text())
    return {normalise_filter_text(f.filter_text): parse_expansion(raw[f.filter_text])
            for f in filters if f.filter_text in raw}


def expanded_groups(groups: list[LabelledGroup]) -> list[LabelledGroup]:
    """The groups whose filters all have a stand-in expansion (the first author's twelve: dev and heldout)."""
    raw = json.loads(EXPANSIONS_FILE.read_text())
    return [g for g in groups if all(f.filter_text in raw for f in g.filters)]
