"""Behaviour of the offline matcher."""

from __future__ import annotations

import time

import pytest

from shared.models import Filter
from shared.moderation import LocalMatcher, ModerationProvider, Post, ProviderError
from tests.moderation.heldout_posts import FILTERS as EVAL_FILTERS

SPIDERS = Filter(id=1, filter_text="spiders", content_type="all")
CLOSEUP = Filter(id=2, filter_text="close-up photos of spiders or other creepy crawlies", content_type="image")
PREGNANCY = Filter(id=3, filter_text="pregnancy announcements")
NEEDLES = Filter(id=6, filter_text="needles and injections")
CRIME = Filter(id=8, filter_text="violent crime news")
BLOOD = Filter(id=10, filter_text="blood")
ELECTIONS = Filter(id=13, filter_text="news about elections", content_type="text")
CENTIPEDES = Filter(id=15, filter_text="centipedes")
WAR = Filter(id=5, filter_text="war and civilian casualties")
FOOD = Filter(id=4, filter_text="food and eating, I'm recovering from an eating disorder")
ALL = [SPIDERS, CLOSEUP, PREGNANCY, FOOD, WAR, NEEDLES, CRIME, BLOOD, ELECTIONS, CENTIPEDES]


def judge(post: Post, filters: list[Filter] = ALL) -> dict[int, object]:
    verdict = LocalMatcher().judge_sync([post], filters)[post.id]
    return {m.filter_id: m for m in verdict.matches}


def ids(body: str, filters: list[Filter] = ALL, title: str = "", image_alt: str = "") -> set[int]:
    return set(judge(Post("p", title=title, body=body, image_alt=image_alt), filters))


def test_implements_the_provider_protocol() -> None:
    matcher = LocalMatcher()
    assert isinstance(matcher, ModerationProvider)
    assert (matcher.name, matcher.can_rewrite) == ("local", False)


async def test_judge_is_async_and_returns_one_verdict_per_post() -> None:
    posts = [Post("a", body="a tarantula!"), Post("b", body="nice weather")]
    verdicts = await LocalMatcher().judge(posts, [SPIDERS])
    assert set(verdicts) == {"a", "b"}
    assert verdicts["a"].matched_filter_ids == [1] and verdicts["b"].matches == []
    assert verdicts["a"].rewritten_title is None and verdicts["a"].rewritten_body is None


@pytest.mark.parametrize(
    ("body", "filter_id"),
    [
        ("Look at this tarantula I found", 1),
        ("an arachnid the size of my palm", 1),
        ("There's an eight-legged monster in my sink", 1),
        ("We have a bun in the oven, due in May!", 3),
        ("Sharing our first sonogram pic", 3),
        ("The phlebotomist missed my vein twice", 6),
        ("Got my flu shot and the syringe was tiny", 6),
        ("Nosebleed all over my pillow this morning", 10),
        ("Turnout in the midterms was the highest in decades, the recount starts Monday", 13),
        ("Ballots are being counted in three counties", 13),
        ("Scolopendra under the log, 20cm easy", 15),
        ("Airstrikes flattened the market and dozens of civilians were killed", 5),
        ("Counting calories again and my therapist says it's a warning sign", 4),
    ],
)
def test_related_terms_match_without_the_filter_word(body: str, filter_id: int) -> None:
    assert filter_id in ids(body)


@pytest.mark.parametrize(
    ("body", "filter_id"),
    [
        ("So many SPIDERS in the shed", 1),
        ("Both injections went fine and the nurse was gentle", 6),
        ("Centipedes everywhere after the rain", 15),
        ("The stabbing happened near the station, police say a suspect was arrested", 8),
        ("She was bleeding from the knee", 10),
    ],
)
def test_inflected_forms_match(body: str, filter_id: int) -> None:
    assert filter_id in ids(body)


def test_multi_word_phrases_beat_their_words() -> None:
    assert ids("Our new daddy long legs roommate", [SPIDERS]) == {1}
    assert ids("Just a long day, my legs hurt", [SPIDERS]) == set()
    match = judge(Post("p", body="Saw a wolf spider today"), [SPIDERS])[1]
    assert "wolf spider" in match.spans


@pytest.mark.parametrize(
    "body",
    [
        "Spider-Man: No Way Home is on tonight",
        "My spider plant has babies",
        "Our web crawler spiders hit the API rate limit again",
        "Blood orange sorbet is elite",
        "The blood moon was gorgeous last night",
        "That gig was bloody brilliant",
        "She's absolutely killing it at work",
        "Another decade of the war on drugs",
        "Finding that bug was a needle in a haystack",
        "We patched an SQL injection in the login form",
        "The Human Centipede is the worst film I've ever seen",
        "Played Centipede on the Atari arcade cabinet",
        "She murdered that presentation",
        "Check my blood pressure monitor readings",
    ],
)
def test_idioms_and_homonyms_do_not_match(body: str) -> None:
    assert ids(body) == set()


@pytest.mark.parametrize(
    ("body", "filter_id"),
    [
        ("Checked the whole basement and found zero spiders", 1),
        ("No spiders this year, the peppermint spray works", 1),
        ("Good news: I'm not pregnant, the test was negative", 3),
        ("There were no centipedes under the boards", 15),
    ],
)
def test_a_negated_mention_alone_does_not_match(body: str, filter_id: int) -> None:
    assert filter_id not in ids(body)


def test_a_disclaimer_does_not_hide_a_post_about_the_thing() -> None:
    body = "Moved this wolf spider outside with a cup. No spiders were harmed!"
    assert 1 in ids(body)


def test_figures_of_speech_around_negators_are_not_negations() -> None:
    assert 1 in ids("No joke, a tarantula was sitting on my boot")
    assert 1 in ids("No, that's definitely a spider on your wall")


def test_text_filters_ignore_the_image_and_image_filters_ignore_the_text() -> None:
    post_image_only = Post("p", body="what a night", image_alt="Chart of election results and ballots cast")
    assert 13 not in judge(post_image_only)
    post_text_only = Post("q", body="A huge tarantula walked over my foot")
    assert 2 not in judge(post_text_only)
    post_image = Post("r", body="look", image_alt="Close-up of a hairy tarantula on a leaf")
    matches = judge(post_image)
    assert {1, 2} <= set(matches)
    assert matches[2].on == "image" and matches[2].spans == []


def test_all_filters_see_both_text_and_image() -> None:
    matches = judge(Post("p", body="guess what I found", image_alt="A spider in a bathtub"), [SPIDERS])
    assert matches[1].on == "image"
    matches = judge(Post("p", body="a spider!", image_alt="A spider in a bathtub"), [SPIDERS])
    assert matches[1].on == "text"


def test_close_up_filter_skips_distant_shots() -> None:
    distant = "Wide shot of a meadow; far off a tiny spider sits in its web"
    near = "Macro photo of a spider's eyes and fangs"
    assert ids("", [CLOSEUP], image_alt=distant) == set()
    assert ids("", [CLOSEUP], image_alt=near) == {2}
    # "Creepy crawlies" extends past spiders, but not to butterflies.
    assert ids("", [CLOSEUP], image_alt="Macro shot of a cockroach's antennae") == {2}
    assert ids("", [CLOSEUP], image_alt="Macro shot of a butterfly on a flower") == set()


def test_spans_are_exact_substrings_that_can_be_blurred() -> None:
    post = Post(
        "p",
        title="TARANTULA\u2019s new home",
        body="My tarantula (a Brachypelma) and the wolf-spider next door. Spider-Man is not one.",
    )
    match = judge(post, [SPIDERS])[1]
    assert match.spans
    for span in match.spans:
        assert span in post.title or span in post.body
    blurred = post.body
    for span in match.spans:
        blurred = blurred.replace(span, f"__BLUR_START__{span}__BLUR_END__")
    assert "__BLUR_START__tarantula__BLUR_END__" in blurred
    assert "__BLUR_START__wolf-spider__BLUR_END__" in blurred
    assert "Spider-Man" in blurred.replace("__BLUR_START__", "").replace("__BLUR_END__", "")
    assert "__BLUR_START__Spider__BLUR_END__-Man" not in blurred


def test_nested_spans_are_dropped_in_favour_of_the_enclosing_one() -> None:
    both = Filter(id=9, filter_text="needles and blood")
    match = judge(Post("p", body="Had a blood draw this morning"), [both])[9]
    assert match.spans == ["blood draw"]


def test_reason_and_confidence() -> None:
    match = judge(Post("p", body="A tarantula escaped"), [SPIDERS])[1]
    assert match.reason == "mentions 'tarantula', related to 'spiders'"
    strong = judge(Post("p", body="A tarantula and a wolf spider and a black widow"), [SPIDERS])[1]
    assert 0.8 <= match.confidence < strong.confidence <= 0.99


def test_unknown_filters_fall_back_to_their_own_words() -> None:
    snakes = Filter(id=20, filter_text="snakes")
    distress = Filter(id=21, filter_text="dogs in distress")
    assert ids("A snake in the garden!", [snakes, distress]) == {20}
    assert ids("The dog was in real distress after the storm", [snakes, distress]) == {21}
    assert ids("Walked the dog this morning", [snakes, distress]) == set()


def test_spoilers_need_a_plot_event_not_just_a_name() -> None:
    tlou = Filter(id=11, filter_text="spoilers for The Last of Us")
    assert ids("Can't wait for season 3 of The Last of Us, Ellie's actor is great", [tlou]) == set()
    assert ids("Joel dies in the first hour of Part II and I wasn't ready", [tlou]) == {11}


def test_expired_filters_are_ignored() -> None:
    expired = Filter(id=30, filter_text="spiders", is_temporary=True, expires_at="2000-01-01T00:00:00+00:00")
    assert ids("a tarantula", [expired]) == set()


def test_duplicate_post_ids_are_a_provider_error() -> None:
    with pytest.raises(ProviderError):
        LocalMatcher().judge_sync([Post("x"), Post("x")], [SPIDERS])


def test_a_page_is_fast() -> None:
    more = ["self-harm", "student loans", "child influencers", "animals being hurt", "spoilers for The Last of Us"]
    filters = ALL + [Filter(id=90 + i, filter_text=t) for i, t in enumerate(more)]
    body = "Long post about a tarantula, a ballot, my flu shot, dinner and the news. " * 6
    posts = [Post(str(i), title="A title", body=body, image_alt="Close-up of a spider") for i in range(25)]
    matcher = LocalMatcher()
    matcher.judge_sync(posts, filters)  # compiles the filter set once
    began = time.perf_counter()
    for _ in range(5):
        matcher.judge_sync(posts, filters)
    per_page_ms = (time.perf_counter() - began) * 1000 / 5
    assert per_page_ms < 50, per_page_ms  # a few ms normally; generous for a loaded CI machine


def test_exclamations_of_surprise_are_not_negations() -> None:
    assert 1 in ids("Can't stop thinking about the tarantula in the shower")
    assert 1 in ids("I can't believe how big this spider is")


def test_a_term_veto_uses_context_from_anywhere_in_the_post() -> None:
    post = Post("p", title="Needles everywhere!", body="Finally learned to purl, bamboo set from my aunt.")
    assert 6 not in judge(post)
    post = Post("q", title="Needles everywhere!", body="Three blood draws and an IV in one day.")
    assert 6 in judge(post)


def test_word_order_matters_where_the_lexicon_says_so() -> None:
    assert 3 in ids("Little one arriving in October and we can't wait")
    assert 3 not in ids("Rent is due and the baby needs new shoes")


def test_everyday_posts_match_nothing() -> None:
    everyday = [
        "Crushed my interview today, they called back within an hour!",
        "The Warriors got killed in the fourth quarter last night",
        "Debugging this race condition is killing me",
        "Our HOA voted to ban inflatable decorations",
        "Shot some photos of the sunset at the lake",
        "He cut himself shaving before the wedding",
        "Expecting a big delivery today so working from home",
        "Bought a used car, the loan rate was 7%",
    ]
    for body in everyday:
        assert ids(body, EVAL_FILTERS) == set(), body
