"""The open-vocabulary matcher on filters nobody curated: concepts, decisions, explanations, spans."""

from __future__ import annotations

import pytest

from shared.config import load_settings
from shared.models import Filter
from shared.moderation.concepts import compile_concept
from shared.moderation.offline import load_offline_model
from shared.moderation.open_vocab import OpenVocabMatcher, curated
from shared.moderation.types import Post
from shared.moderation.vectors import MemoVectors


def test_the_users_own_exclusion_is_split_off() -> None:
    concept = compile_concept("snakes, but cartoon snakes are fine")
    assert concept.topic == "snakes"
    assert concept.user_exclusions == ("cartoon snakes",)
    assert compile_concept("spiders (not spider plants)").user_exclusions == ("spider plants",)
    assert compile_concept("sharks").user_exclusions == ()


def test_an_exclusion_that_does_not_name_the_subject_is_also_said_of_it() -> None:
    # "food" alone sits far from "grilled octopus with lemon"; said of the subject it is what the user allows.
    octopus = compile_concept("octopus and squid, but food is fine")
    assert octopus.user_exclusions == ("food",)  # what the user typed (the cloud prompt's reader_says_fine)
    assert octopus.user_exclusion_descriptions == ("food", "a post about food involving octopus and squid")
    # one that names the subject is already said of it
    assert compile_concept("snakes, but cartoon snakes are fine").user_exclusion_descriptions == ("cartoon snakes",)
    assert compile_concept("sharks").user_exclusion_descriptions == ()
    assert "a post about food involving octopus and squid" in octopus.texts()


def test_framing_is_not_the_subject_and_news_is_information() -> None:
    rats = compile_concept("close-up photos of rats")
    assert (rats.subject, rats.visual, rats.information) == ("rats", True, False)
    layoffs = compile_concept("layoff announcements")
    assert layoffs.information and layoffs.subject == "layoff"
    assert any("idiom" in e for e in layoffs.exclusions)


@pytest.mark.parametrize("text", ["celebrity deaths", "crypto prices", "gas prices", "election results",
                                  "F1 race results", "comments about people's weight", "jokes about bald men",
                                  "talk about diets", "layoff announcements"])
def test_news_prices_deaths_results_and_talk_are_information(text: str) -> None:
    assert compile_concept(text).information


@pytest.mark.parametrize("text", ["sharks", "cults", "close-up photos of rats", "bad turbulence on flights",
                                  "dead birds", "worms and maggots"])
def test_things_are_not_information(text: str) -> None:
    assert not compile_concept(text).information


def test_an_information_filter_is_described_as_the_news_it_names() -> None:
    deaths = compile_concept("royal deaths").descriptions
    assert "a royal has died" in deaths and "news: royal deaths" in deaths
    assert "who won the election" in compile_concept("election results").descriptions
    assert "the price of gas" in compile_concept("gas prices").descriptions
    talk = compile_concept("jokes about bald men").descriptions
    assert "a remark about bald men" in talk
    # a filter about a thing keeps the thing's descriptions only
    assert not any("died" in d or "remark" in d for d in compile_concept("sharks").descriptions)


def test_curated_means_the_lexicon_knows_the_topic() -> None:
    assert curated("spiders") and curated("student loans")
    assert not curated("sharks") and not curated("earthquakes")


@pytest.fixture(scope="module")
def matcher() -> OpenVocabMatcher:
    model = load_offline_model(load_settings())
    return OpenVocabMatcher(MemoVectors(model.embedder), model.words)


SHARKS = Filter(id=7, filter_text="sharks", content_type="all", intensity=1)


async def test_a_paraphrase_matches_and_says_why(matcher: OpenVocabMatcher) -> None:
    post = Post("p1", title="Surfer bitten near the pier",
                body="Officials believe a bull shark bit a surfer on Sunday. He is in hospital.")
    verdict = (await matcher.judge([post], [SHARKS]))["p1"]
    assert verdict.matched_filter_ids == [7]
    match = verdict.matches[0]
    assert match.reason and match.spans
    assert all(s in post.title or s in post.body for s in match.spans)
    assert 0.8 <= match.confidence <= 0.99


async def test_negation_and_team_names_do_not_match(matcher: OpenVocabMatcher) -> None:
    posts = [
        Post("n1", body="thank god, no sharks this year at the lake house. just ducks and an angry goose"),
        Post("n2", body="Finally finished repainting the spare room, went with a pale green."),
    ]
    verdicts = await matcher.judge(posts, [SHARKS])
    assert verdicts["n1"].matches == [] and verdicts["n2"].matches == []


async def test_a_kind_named_by_wordnet_is_the_words_that_carried_the_match(matcher: OpenVocabMatcher) -> None:
    quakes = Filter(id=2, filter_text="earthquakes", content_type="all", intensity=3)
    posts = [
        Post("k1", body="Fought a mako for 40 minutes off the shelf before we tagged and released it."),
        Post("k2", body="a temblor rattled the windows at 3am, car alarms everywhere"),
        Post("k3", body="no temblor here, just thunder"),
    ]
    verdicts = await matcher.judge(posts, [SHARKS, quakes])
    assert [(m.filter_id, m.spans, m.reason) for m in verdicts["k1"].matches] == [
        (7, ["mako"], "mentions 'mako', related to 'sharks'")]
    assert [(m.filter_id, m.spans) for m in verdicts["k2"].matches] == [(2, ["temblor"])]
    assert verdicts["k3"].matches == []


async def test_content_type_limits_what_a_filter_sees(matcher: OpenVocabMatcher) -> None:
    image_only = Filter(id=1, filter_text="close-up photos of rats", content_type="image")
    in_text = Post("t", body="a huge rat ran over my shoe on the subway platform, right up close")
    in_image = Post("i", image_alt="Close-up of a brown rat's face and whiskers in a compost bin.", has_image=True)
    verdicts = await matcher.judge([in_text, in_image], [image_only])
    assert verdicts["t"].matches == []
    assert verdicts["i"].matched_filter_ids == [1] and verdicts["i"].matches[0].on == "image"


async def test_duplicate_post_ids_are_refused(matcher: OpenVocabMatcher) -> None:
    from shared.moderation.types import ProviderError

    with pytest.raises(ProviderError):
        await matcher.judge([Post("a"), Post("a")], [SHARKS])


def test_cloud_providers_receive_the_compiled_concept() -> None:
    from gateway.moderation.page_prompt import page_document, render_page

    flt = Filter(id=3, filter_text="spiders, but drawings are fine", content_type="all", intensity=2)
    news = Filter(id=4, filter_text="layoff announcements", content_type="text", intensity=3)
    docs = page_document(render_page([Post("p")], [flt, news]))["filters"]
    assert (docs[0]["topic"], docs[0]["reader_says_fine"], docs[0]["one_sentence_is_enough"]) == (
        "spiders", ["drawings"], False)
    assert docs[1]["one_sentence_is_enough"] is True


def test_the_filters_own_words_are_masked_in_every_form() -> None:
    from shared.moderation.evidence import without_subject

    assert without_subject("sharks", "A shark! Two Sharks, and a whale.") == "A it! Two it, and a whale."
    assert without_subject("car crashes", "my laptop crashed") == "my laptop it"
    assert without_subject("sharks", "nothing here about fish") == "nothing here about fish"


async def test_context_similarity_is_measured_only_where_the_filters_word_appears(matcher: OpenVocabMatcher) -> None:
    team = Post("team", body="the San Jose Sharks blew a 3-goal lead again. I can't keep doing this every night")
    unnamed = Post("unnamed", body="a great white circled our boat for ten minutes, its fin cutting the water")
    evidence = await matcher.gather([team, unnamed], [SHARKS])
    team_ev, unnamed_ev = evidence[("team", 7)], evidence[("unnamed", 7)]
    # Without its word the team's post reads much less like the filter; the other post has no word to mask.
    assert team_ev.context_similarity is not None and team_ev.context_similarity < team_ev.similarity - 0.1
    assert unnamed_ev.context_similarity is None
    assert unnamed_ev.vector()[1] == unnamed_ev.vector()[0]
