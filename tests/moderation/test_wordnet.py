"""WordNet's nouns from the committed extract: checked at load, and what the concepts take from it."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from shared.moderation.concepts import compile_concept, rule_concept, senses_subject
from shared.moderation.embedder import ModelUnavailable
from shared.moderation.evidence import related_evidence
from shared.moderation.related import plain_word
from shared.moderation.senses import filter_senses, subject_senses
from shared.moderation.text import tokenize
from shared.moderation.wordnet import EXTRACT_FILE, WordNet, WordNetUnavailable, load_wordnet, shared_wordnet


def test_a_damaged_extract_stops_the_load_with_the_fix(tmp_path: Path) -> None:
    damaged = tmp_path / "wordnet_nouns.txt.gz"
    data = bytearray(EXTRACT_FILE.read_bytes())
    data[1000] ^= 0xFF
    damaged.write_bytes(bytes(data))
    with pytest.raises(WordNetUnavailable, match=r"corrupt or a different version.*git checkout"):
        load_wordnet(damaged)
    # a ModelUnavailable: the gateway's start stops on it with the message
    with pytest.raises(ModelUnavailable, match=r"cannot be read.*devtools\.wordnet_extract"):
        load_wordnet(tmp_path / "absent.txt.gz")


def test_an_extract_of_another_format_is_refused() -> None:
    with pytest.raises(WordNetUnavailable, match="format"):
        WordNet(gzip.decompress(gzip.compress(b"something-else\t0\t0\t0\tnoun.Tops\n")))


def test_words_find_their_senses_most_frequent_first() -> None:
    wordnet = shared_wordnet()
    assert wordnet.base_form("Earthquakes") == "earthquake"
    assert wordnet.base_form("mice") == "mouse"
    assert wordnet.base_form("dental procedures") == "dental procedure"
    assert wordnet.base_form("trypophobia") is None and wordnet.senses("") == []
    shark = wordnet.senses("sharks")
    assert [s.lexname for s in shark] == ["noun.animal", "noun.person", "noun.person"]
    assert shark[0].definition.startswith("any of numerous elongate mostly marine carnivorous fishes")
    kinds = {w for s in wordnet.hyponyms(shark[0], 3) for w in s.words}
    assert {"hammerhead", "mako", "great white shark"} <= kinds
    assert wordnet.hyponyms(shark[0], 1) and len(wordnet.hyponyms(shark[0], 1)) < len(wordnet.hyponyms(shark[0], 3))


def test_related_words_follow_the_meant_sense() -> None:
    wordnet = shared_wordnet()
    sharks = set(subject_senses(wordnet, "sharks").related)
    assert {"hammerhead shark", "mako", "great white shark"} <= sharks
    assert "hammerhead" not in sharks  # its first sense is the head of a hammer: the price of the first-sense test
    quake = subject_senses(wordnet, "earthquakes")
    assert {"quake", "temblor", "aftershock"} <= set(quake.related)
    assert "shock" not in quake.related  # its own first sense is not an earthquake
    assert "play" not in subject_senses(wordnet, "gambling").related
    assert "usurer" not in subject_senses(wordnet, "sharks").related  # the ruthless person is not meant
    assert [s.lexname for s in subject_senses(wordnet, "sharks").others] == ["noun.person", "noun.person"]


def test_what_the_user_allows_is_never_a_related_word() -> None:
    birds = compile_concept("birds, but chickens are fine")
    assert birds.user_exclusions == ("chickens",)
    assert {"owl", "falcon", "sparrow"} <= set(birds.related)
    assert not {"chicken", "hen", "rooster", "cock"} & set(birds.related)
    # "cartoon snakes" is not in WordNet: its head word must not rule out every snake
    assert {"python", "cobra", "viper"} <= set(compile_concept("snakes, but cartoon snakes are fine").related)


def test_the_concept_gains_the_definition_and_a_few_kinds() -> None:
    rules, concept = rule_concept("sharks"), compile_concept("sharks")
    added = concept.descriptions[len(rules.descriptions):]
    assert concept.descriptions[:len(rules.descriptions)] == rules.descriptions
    assert added[0].startswith("any of numerous elongate mostly marine carnivorous fishes")
    assert added[1].startswith("sharks, such as ") and added[1].count(",") == 6
    assert rules.related == () and concept.exclusions == rules.exclusions
    nothing = compile_concept("trypophobia pictures")  # not in WordNet: the rule concept as it was
    assert nothing == rule_concept("trypophobia pictures")


@pytest.mark.parametrize(("word", "plain"), [("honeybees", "honeybee"), ("rat's", "rat"), ("flies", "fly"),
                                             ("bushes", "bush"), ("grass", "grass"), ("gaming", "gaming"),
                                             ("games", "game"), ("octopus", "octopus")])
def test_plain_words_drop_plural_and_possessive_endings(word: str, plain: str) -> None:
    assert plain_word(word) == plain


def test_related_mentions_are_whole_and_not_negated() -> None:
    related = ("mako", "great white shark", "gaming")
    assert related_evidence(related, [tokenize("Fought a Mako for 40 minutes, then two great white sharks")]) == [
        "Mako", "great white sharks"]
    assert related_evidence(related, [tokenize("no mako this year, just a white shark")]) == []
    assert related_evidence(related, [tokenize("Orbital Games is laying off 300 people")]) == []


def test_a_subject_wordnet_does_not_know_as_a_whole_is_read_part_by_part() -> None:
    wordnet = shared_wordnet()
    assert subject_senses(wordnet, "drinking and alcohol") == subject_senses(wordnet, "no such thing")  # empty
    senses = filter_senses(wordnet, "drinking and alcohol")
    assert [part for part, _ in senses.parts] == ["drinking", "alcohol"]
    assert {"boozing", "alcoholic beverage"} <= set(senses.related)  # one from each part
    concept = compile_concept("drinking and alcohol")
    assert concept.related == senses.related and "boozing" in concept.related
    added = concept.descriptions[len(rule_concept("drinking and alcohol").descriptions):]
    assert added == ("the act of consuming liquids", f"drinking, such as {', '.join(senses.parts[0][1].related[:6])}",
                     "a liquor or brew containing alcohol as the active agent",
                     f"alcohol, such as {', '.join(senses.parts[1][1].related[:6])}")
    # parts in parentheses and lists; a part WordNet does not know adds nothing
    eyes = filter_senses(wordnet, "stuff touching eyeballs (contacts, eye drops, lasik)")
    assert [part for part, _ in eyes.parts] == ["contacts", "lasik"]
    # a subject WordNet knows as a whole is read whole, and one with a single part is as before
    assert filter_senses(wordnet, "sharks") == subject_senses(wordnet, "sharks")
    assert filter_senses(wordnet, "trypophobia") == subject_senses(wordnet, "trypophobia")


@pytest.mark.parametrize(("subject", "read"), [
    ("tight spaces like caves and crawlspaces", "tight spaces, caves and crawlspaces"),
    ("insects such as ants", "insects, ants"),
    ("bugs, e.g. roaches", "bugs, roaches"),
    ("fish including sharks", "fish, sharks"),
    ("horror movies, especially clowns", "horror movies, clowns"),
    # "like" as a verb introduces no examples
    ("people who like cats", "people who like cats"),
    ("things I like", "things I like"),
    ("likely stuff", "likely stuff"),
])
def test_examples_of_the_subject_are_read_beside_it(subject: str, read: str) -> None:
    assert senses_subject(subject) == read


def test_a_subject_given_by_examples_takes_the_examples_senses() -> None:
    wordnet = shared_wordnet()
    concept = compile_concept("tight spaces like caves and crawlspaces")
    # the examples are parts of their own, not "tight spaces like caves" (which WordNet does not know)
    senses = filter_senses(wordnet, "tight spaces, caves and crawlspaces")
    assert [part for part, _ in senses.parts] == ["caves", "crawlspaces"]
    assert concept.related == senses.related and {"grotto", "crawl space"} <= set(concept.related)
    # the descriptions keep the user's words; only WordNet's definitions and kinds are added
    rules = rule_concept("tight spaces like caves and crawlspaces")
    assert rules.subject == "tight spaces like caves and crawlspaces"
    assert concept.descriptions[:len(rules.descriptions)] == rules.descriptions
    assert any(d.startswith("caves, such as") for d in concept.descriptions[len(rules.descriptions):])


def test_what_the_user_allows_is_no_related_word_of_any_part() -> None:
    assert {"earthworm", "tapeworm"} <= set(compile_concept("worms and maggots").related)
    concept = compile_concept("worms and maggots, but earthworms are fine")
    assert "tapeworm" in concept.related and "earthworm" not in concept.related
