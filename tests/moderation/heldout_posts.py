"""A small held-out set, written independently of the evaluation set with different wording.

Filter ids and texts are those of the reference evaluation set (``FILTERS``), so scores compare;
``bench/eval_sets.py`` falls back to this set when the reference set is absent.
``expected`` is what a reasonable person who typed each filter would want caught.
"""

from __future__ import annotations

from shared.models import Filter
from shared.moderation.types import Post

FILTERS: list[Filter] = [
    Filter(id=1, filter_text="spiders", content_type="all", intensity=4),
    Filter(id=2, filter_text="close-up photos of spiders or other creepy crawlies", content_type="image", intensity=5),
    Filter(id=3, filter_text="pregnancy announcements", content_type="all", intensity=3),
    Filter(
        id=4, filter_text="food and eating, I'm recovering from an eating disorder", content_type="all", intensity=4
    ),
    Filter(id=5, filter_text="war and civilian casualties", content_type="all", intensity=3),
    Filter(id=6, filter_text="needles and injections", content_type="all", intensity=2),
    Filter(id=7, filter_text="self-harm", content_type="all", intensity=5),
    Filter(id=8, filter_text="violent crime news", content_type="all", intensity=2),
    Filter(id=9, filter_text="animals being hurt", content_type="all", intensity=4),
    Filter(id=10, filter_text="blood", content_type="all", intensity=3),
    Filter(id=11, filter_text="spoilers for The Last of Us", content_type="all", intensity=1),
    Filter(id=12, filter_text="student loans", content_type="text", intensity=1),
    Filter(id=13, filter_text="news about elections", content_type="text", intensity=2),
    Filter(id=14, filter_text="child influencers", content_type="all", intensity=2),
    Filter(id=15, filter_text="centipedes", content_type="all", intensity=5),
]

# (post, expected filter ids)
HELDOUT: list[tuple[Post, set[int]]] = [
    (
        Post(
            "h01",
            title="What is this thing in my garage?",
            body="Brown, hairy, about the size of a coin. "
            "My neighbour swears it's a wolf spider and that they're harmless.",
        ),
        {1},
    ),
    (
        Post(
            "h02",
            title="Tarantula molt!",
            body="Rosie shed overnight and left a perfect copy of herself.",
            image_alt="Close-up of a Mexican red-knee tarantula next to its shed exoskeleton.",
            has_image=True,
        ),
        {1, 2},
    ),
    (Post("h03", body="Rewatched Spider-Man 2 with the kids tonight, the train scene still holds up."), set()),
    (
        Post(
            "h04",
            title="Roach in the kitchen at 2am",
            body="Thing was the size of my thumb.",
            image_alt="Macro shot of a large cockroach on a white tile floor, antennae raised.",
            has_image=True,
        ),
        {2},
    ),
    (Post("h05", body="We went to the beach and I spotted a centipede under a rock, no photo sadly"), {15}),
    (Post("h06", body="Hit a new high score on Centipede at the retro arcade bar last night!"), set()),
    (
        Post(
            "h07",
            body="Can finally say it: baby #2 arrives this autumn and we're over the moon. "
            "Big sister is already picking names.",
        ),
        {3},
    ),
    (
        Post("h08", body="Took a test this morning and I'm definitely not pregnant, phew. Back to planning the trip."),
        set(),
    ),
    (
        Post(
            "h09",
            title="Three weeks of meal prep on a student budget",
            body="Lentil curry, chicken and rice bowls, overnight oats. Recipe links in the comments.",
        ),
        {4},
    ),
    (Post("h10", body="That keynote was food for thought. Grabbed the slides afterwards."), set()),
    (
        Post(
            "h11",
            body="Artillery pounded the outskirts overnight and the hospital says dozens of civilians were wounded.",
        ),
        {5},
    ),
    (Post("h12", body="My nephew won't stop talking about the console wars, Xbox vs PlayStation forever."), set()),
    (
        Post(
            "h13",
            title="Passed out at my blood donation again",
            body="Nurse said the needle went in fine, I just don't do well watching the bag fill up.",
        ),
        {6, 10},
    ),
    (Post("h14", body="Found my grandma's knitting needles in the attic and finally learned to purl."), set()),
    (Post("h15", body="Eight months without self-harm today. The urges still come but I ride them out."), {7}),
    (
        Post(
            "h16",
            body="Police say a 23-year-old man was stabbed outside a nightclub early Sunday; a suspect is in custody.",
        ),
        {8},
    ),
    (Post("h17", body="Our team absolutely murdered that pitch meeting, drinks are on me."), set()),
    (
        Post(
            "h18", body="Saw a fox that had been hit by a car on the bypass, still breathing. Called wildlife rescue."
        ),
        {9},
    ),
    (Post("h19", body="Blood orange and fennel salad for lunch, ridiculously good."), {4}),
    (Post("h20", body="Ellie finally gets her revenge in Santa Barbara and it is brutal. Abby barely survives."), {11}),
    (Post("h21", body="Mohela says my IDR recertification is 'processing' for the fourth month running."), {12}),
    (
        Post(
            "h22", body="Early voting starts Tuesday; the county clerk expects record turnout for the governor's race."
        ),
        {13},
    ),
    (Post("h23", body="Which pizza topping wins? Vote in the poll below!"), {4}),
    (
        Post(
            "h24",
            body="A new state law makes family vloggers set aside earnings for the kids who appear in their videos.",
        ),
        {14},
    ),
    (
        Post(
            "h25", title="Election results are in", body="", image_alt="Chart of vote shares by county.", has_image=True
        ),
        {13},
    ),
]
