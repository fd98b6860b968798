"""The hand-curated concept lexicon behind the offline matcher: data only, no matching logic.

Each ``Concept`` says which filter phrases select it (``keys``) and how a post shows it:

* ``terms``: words and phrases that express the concept, with a weight. A post matches once the
  weights of the distinct terms it contains reach 1.0, so a 1.0 term matches alone, while weaker,
  ambiguous terms ("lunch", "ballot measure", "joel") need company.
* ``cues``: context that supports a term but never matches alone ("police" for a stabbing).
* ``pairs``: two word lists that express the concept only together, within a few words
  ("cat" near "hit by a car", "kid" near "youtuber").
* ``exclude``: idioms and homonyms. They compete with terms for the same words (the longest phrase
  wins), so "Spider-Man" consumes "spider" and "blood orange" consumes "blood".
* ``veto``: context words that cancel any hit of the concept nearby ("arcade" for "Centipede");
  ``term_veto`` cancels one term anywhere in the post ("knitting" for "needle"), since a title's
  word is often explained by the body.
* ``require_cue``: weak terms count only with a cue (a character name is not a spoiler until
  something happens to them).

Phrases are written in plain English and go through the same normaliser and stemmer as posts, so
"spiders" and "spider" are the same entry. ``*`` stands for any one word, ``#num`` for a number, and
``=word`` for exactly that word, unstemmed, where stemming would merge two meanings ("shelling" of a
city and sea "shells").
The entries come from general knowledge of each topic, not from any evaluation set.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


def _w(weight: float, *phrases: str) -> dict[str, float]:
    return dict.fromkeys(phrases, weight)


@dataclass(frozen=True)
class PairRule:
    left: tuple[str, ...]
    right: tuple[str, ...]
    weight: float = 1.0
    window: int = 10  # max distance in tokens between the two words
    right_first: bool = False  # only "<right> ... <left>": "baby is due", not "rent is due, the baby"


@dataclass(frozen=True)
class Concept:
    id: str
    keys: tuple[str, ...]
    terms: Mapping[str, float]
    cues: Mapping[str, float] = field(default_factory=dict)
    pairs: tuple[PairRule, ...] = ()
    exclude: tuple[str, ...] = ()
    veto: tuple[str, ...] = ()
    term_veto: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    includes: tuple[str, ...] = ()
    require_cue: bool = False


# Filter modifiers. "close-up photos of X" keeps X but drops image evidence that is explicitly distant.
DISTANCE_CUES: tuple[str, ...] = (
    "wide shot", "wide angle", "wide-angle shot", "distant", "in the distance", "far away", "far off",
    "from afar", "from a distance", "across the room", "across the yard", "across the street",
    "in the background", "barely visible", "tiny speck", "a speck", "long shot", "aerial", "zoomed out",
    "landscape shot", "panorama",
)

# Framing around what a user means in free filter text. Stripped from the start or end of a phrase.
LEADING_FRAMING: tuple[str, ...] = (
    "i'm recovering from", "i am recovering from", "im recovering from", "recovering from",
    "in recovery from",
    "i'm afraid of", "i am afraid of", "afraid of", "scared of", "terrified of", "fear of", "phobia of",
    "i hate", "i can't stand", "i don't want to see", "i dont want to see", "don't show me", "dont show me",
    "hide", "block", "no more", "please hide", "news about", "news of", "news on", "news around",
    "posts about", "posts on", "posts with", "content about", "content with", "anything about",
    "anything related to", "anything involving", "anything with", "stuff about", "talk about",
    "talking about", "discussion of", "discussions of", "mentions of", "mention of", "references to",
    "photos of", "photo of", "pictures of", "picture of", "pics of", "images of", "image of",
    "videos of", "video of", "clips of", "footage of", "close up", "close-up", "closeup", "macro",
    "zoomed in", "graphic", "detailed", "real", "other", "any", "all", "an", "a", "the", "some",
    "such as", "like", "including", "especially", "e.g.", "eg", "related to", "triggered by", "about",
    "of", "my", "seeing",
)
TRAILING_FRAMING: tuple[str, ...] = (
    "news", "content", "posts", "post", "photos", "photo", "pictures", "pics", "images", "videos",
    "stuff", "talk", "discussion", "discussions", "mentions", "in general", "etc", "and so on",
    "related stuff", "related content", "related posts",
)
CLOSEUP_WORDS: tuple[str, ...] = ("close up", "close-up", "closeup", "macro", "zoomed in", "up close")
SPOILER_WORDS: tuple[str, ...] = ("spoilers for", "spoilers about", "spoilers of", "spoilers on", "spoiler for")

STOPWORDS = frozenset(
    "a an the and or of for to in on at by with about from into over under as is are was were be been "
    "being it its this that these those my your our their his her i me we you they he she them us "
    "any all some other such very really just also not no etc".split()
)

# Generic plot-event words: a work's character or title becomes a spoiler only next to one of these.
PLOT_CUES: dict[str, float] = _w(
    0.5, "dies", "died", "death", "dead", "kills", "killed", "killing", "murdered", "shot", "shoots",
    "bitten", "infected", "turns", "turned into", "immune", "immunity", "the cure", "ending", "ended",
    "ends with", "twist", "reveal", "reveals", "revealed", "betrays", "betrayed", "sacrifice",
    "sacrificed", "survives", "survived", "revenge", "spares", "spared", "let go", "lets go", "final scene",
    "finale", "last episode", "flashback", "turns out", "lied", "lies to", "lie to", "the truth",
    "funeral", "grave", "real identity", "plot", "cliffhanger", "final boss",
)

CONCEPTS: tuple[Concept, ...] = (
    Concept(
        id="spider",
        keys=("spider", "arachnid", "tarantula", "arachnophobia", "daddy long legs"),
        terms={
            **_w(
                1.0, "spider", "spiders", "tarantula", "arachnid", "wolf spider", "black widow",
                "brown recluse", "jumping spider", "orb weaver", "orb-weaver", "daddy long legs",
                "daddy longlegs", "cellar spider", "garden spider", "funnel web", "funnel-web", "redback",
                "trapdoor spider", "eight-legged", "eight legged", "arachnophobia", "arachnophobic",
                "spiderling", "goliath birdeater", "birdeater", "camel spider", "huntsman spider",
                "peacock spider", "argiope", "salticid", "money spider", "house spider", "widow spider",
            ),
            **_w(0.8, "eight eyes", "8 legs", "8 eyes"),
            **_w(0.7, "huntsman"),
            **_w(0.6, "recluse", "cobweb", "cobwebs", "spiderweb", "spider web", "egg sac"),
        },
        cues={
            **_w(0.4, "web", "webs", "fangs", "venom", "venomous", "silk", "molt", "hairy legs", "legs"),
            **_w(
                0.3, "crawling", "bite", "bit me", "exterminator", "creepy", "in my shower", "on the wall",
            ),
        },
        exclude=(
            "spider man", "spiderman", "spider men", "spider verse", "spiderverse", "spider woman",
            "spider gwen", "spidey", "spider plant", "spider plants", "spider vein", "spider veins",
            "spider crab", "spider crabs", "spider monkey", "spider lily", "spider solitaire",
            "spider mite", "spider mites", "spider chart", "spider diagram", "spider graph",
            "web crawler", "crawler spider", "search spider", "search engine spider", "spider bot",
            "seo spider", "spider crack", "spiderweb crack", "spider web crack", "spiderweb cracks",
            "like a spider web", "like a spiderweb", "spider cam", "spidercam", "spider roll",
            "spider sense", "spider rig", "spider tack", "spider gear",
        ),
        veto=(
            "crawler", "crawlers", "scraper", "scraping", "scrapy", "seo", "googlebot", "indexing",
            "robots txt", "search engine", "windshield crack", "windscreen", "marvel", "peter parker",
            "superhero", "mcu",
        ),
    ),
    Concept(
        id="centipede",
        keys=("centipede", "scolopendra", "chilopoda", "house centipede"),
        terms={
            **_w(
                1.0, "centipede", "house centipede", "scolopendra", "chilopod", "chilopoda",
                "scutigera", "forcipules", "giant centipede",
            ),
            **_w(0.7, "hundred legs", "hundred-legged", "100 legs"),
        },
        cues=_w(0.4, "legs", "venom", "sting", "stung", "bite", "bit me", "crawling", "segments", "pincers"),
        exclude=(
            "human centipede", "centipede arcade", "centipede game", "centipede atari", "centipede 1981",
            "centipede high score", "centipede cabinet", "centipede yoga",
        ),
        veto=(
            "arcade", "atari", "high score", "joystick", "coin op", "cabinet", "retro game", "retro gaming",
            "8-bit", "trackball", "human centipede", "tom six",
        ),
    ),
    Concept(
        id="creepy_crawly",
        keys=("creepy crawly", "creepy crawlies", "creepy crawler", "crawly", "bug", "insect", "critter"),
        includes=("spider", "centipede"),
        terms={
            **_w(
                1.0, "creepy crawly", "creepy crawlies", "cockroach", "cockroaches", "scorpion",
                "millipede",
                "earwig", "silverfish", "maggot", "bed bug", "bedbug", "louse", "head lice", "deer tick",
                "tick bite", "termite", "weevil", "woodlouse", "pill bug", "pillbug", "stink bug",
                "palmetto bug", "hissing cockroach", "camel cricket", "cave cricket", "earthworm", "leech",
                "assassin bug", "praying mantis",
                "dust mite", "scabies mite", "grub worm", "mealworm", "waxworm", "stag beetle",
                "dung beetle", "giant water bug", "solifuge", "whip scorpion", "vinegaroon", "harvestman",
                "harvestmen",
            ),
            **_w(
                0.8, "roach", "beetle", "larva", "caterpillar", "grub", "slug", "wasp", "mite", "ant",
                "ants", "fire ant", "cricket", "worm", "worms", "cicada", "locust", "wasp nest", "hornet",
                "mantis",
            ),
            **_w(0.7, "insect", "insects", "bug", "bugs", "arthropod"),
            **_w(0.6, "tick", "ticks"),
            **_w(0.5, "critter", "critters"),
        },
        cues=_w(
            0.4, "antennae", "antenna", "mandibles", "pincers", "exoskeleton", "segmented", "legs",
            "crawling", "crawled", "skittering", "infestation", "exterminator", "close-up", "macro",
            "compound eyes", "stinger", "carapace", "creepy",
        ),
        exclude=(
            "software bug", "bug fix", "bug fixes", "bug report", "bug reports", "bug bounty",
            "stomach bug",
            "flu bug", "travel bug", "the bug", "caught the bug", "bitten by the bug", "bug out",
            "bug-out bag", "bug me", "bugs me", "bugging me", "bugged me", "computer worm", "bookworm",
            "can of worms", "early bird gets the worm", "cricket match", "cricket bat", "cricket team",
            "cricket ball", "test cricket", "roach clip", "tick the box", "tick box", "tick tock",
            "ticked off", "ticks me off", "tick off", "sea slug", "slug line", "ant man", "antman",
            "creepy guy", "creepy man", "creepy dude", "creepy pasta", "creepypasta", "creepy doll",
            "bug spray", "lady bug", "ladybug", "ladybird", "ant farm",
        ),
        veto=(
            "butterfly", "butterflies", "moth", "ladybug", "ladybird", "dragonfly", "firefly", "bumblebee",
            "honeybee", "debug", "debugging", "software", "firmware", "github", "compiler", "patch notes",
        ),
    ),
    Concept(
        id="pregnancy",
        keys=("pregnancy", "pregnant", "pregnancy announcement", "baby announcement", "expecting"),
        terms={
            **_w(
                1.0, "pregnant", "we're pregnant", "bun in the oven", "sonogram", "baby on the way",
                "little one on the way", "expectant", "trimester", "gender reveal", "baby bump",
                "mom to be", "mum to be", "mommy to be", "mama to be", "dad to be", "parents to be",
                "first ultrasound", "anatomy scan", "12 week scan", "20 week scan", "weeks along",
                "due date is", "two pink lines", "positive pregnancy test", "baby number two",
                "baby #2", "baby no 2", "rainbow baby", "eating for two",
            ),
            **_w(
                0.6, "pregnancy", "ultrasound", "growing our family", "family is growing",
                "morning sickness",
            ),
            **_w(0.5, "baby on board", "due in", "maternity leave"),
        },
        cues=_w(
            0.3, "announce", "announced", "announcement", "news", "baby", "due", "congrats",
            "congratulations",
            "heartbeat", "midwife", "obgyn", "nursery", "first child", "our first", "bump", "weeks",
            "baby shower", "announcing our", "pregnancy announcement",
        ),
        pairs=(
            PairRule(
                left=("expecting", "expect"),
                right=(
                    "baby", "our first", "our second", "our third", "our fourth", "first", "second",
                    "third",
                    "twins", "a boy", "a girl", "a little", "little one", "rainbow", "child", "kid",
                    "bundle", "in march", "in april", "in may", "in june", "in july", "in august",
                    "in september", "in october", "in november", "in december", "in january", "in february",
                    "in the spring", "in the fall", "in the summer", "in the winter",
                ),
                window=4,
            ),
            # "Little one arriving in March", "baby #3 due this fall".
            PairRule(
                left=("arriving", "arrives", "arrive", "due", "on the way", "coming"),
                right=(
                    "baby", "little one", "twins", "rainbow baby", "bundle of joy", "little brother", "little sister",
                    "baby brother", "baby sister",
                ),
                window=4,
                right_first=True,
            ),
        ),
        exclude=(
            "was pregnant", "were pregnant", "when i was pregnant", "while i was pregnant",
            "i was pregnant with", "been pregnant", "ever pregnant", "pregnant pause",
            "pregnant with meaning",
            "pregnant women", "pregnant woman", "pregnant people", "pregnant person", "pregnancy scare",
            "pregnancy test", "pregnancy tests", "during my pregnancy", "my pregnancy with",
            "teen pregnancy",
            "pregnancy loss", "expecting #num", "expecting guests", "expecting rain", "expecting a call",
            "expecting a package", "expecting a delivery", "expecting a lot", "expecting the worst",
            "expecting too much", "expecting company", "expecting it", "expecting that",
        ),
        term_veto={
            "bun in the oven": (
                "dough", "brioche", "recipe", "flour", "yeast", "proof", "proofed", "proofing", "buns",
                "bake",
                "baking", "baked", "knead", "bread", "burger", "preheat",
            ),
        },
        veto=(
            "cat", "dog", "kitten", "puppy", "pup", "mare", "horse", "cow", "goat", "ewe", "sheep",
            "hamster",
            "guinea pig", "rabbit", "guppy", "guppies", "litter", "heifer", "whelping", "foal", "pet",
            "my girl cat", "queen", "lol jk", "jk", "just kidding", "joking",
        ),
    ),
    Concept(
        id="food",
        keys=(
            "food", "eating", "eat", "meal", "diet", "eating disorder", "cooking", "recipe", "anorexia",
            "bulimia", "binge eating", "calorie", "weight loss", "restaurant", "dieting", "snack",
        ),
        terms={
            **_w(
                1.0, "recipe", "recipes", "mukbang", "calorie", "calories", "eating disorder",
                "eating disorders", "anorexia", "anorexic", "bulimia", "bulimic", "binge eating",
                "binge eat", "purging", "arfid", "ed recovery", "meal plan", "meal prep",
                "weight loss", "lose weight", "losing weight", "lost weight", "intermittent fasting",
                "keto",
                "foodie", "cuisine", "thinspo", "pro ana", "fear food", "fear foods", "safe food",
                "safe foods", "food journal", "food log", "calorie counting", "counting calories",
                "counting macros", "tracking macros", "nutritionist", "dietitian", "food photo",
                "home cooked", "home-cooked",
                "homemade", "cooked dinner", "made dinner", "made lunch", "made breakfast", "what i ate",
                "what i eat in a day", "food porn", "ice cream", "fried chicken", "mac and cheese",
                "taste test", "all you can eat", "tasting menu", "food truck", "food court",
            ),
            **_w(
                0.8, "food", "foods", "restaurant", "diet", "snack", "snacks", "dessert", "pizza", "burger",
                "pasta", "sushi", "ramen", "noodles", "steak", "takeout", "take out", "takeaway",
                "doordash", "uber eats", "grubhub", "buffet", "appetite", "nutrition", "cuisine", "bakery",
                "brunch", "baking", "baked", "cookies", "cupcake", "brownies", "pancakes", "waffles",
                "burrito", "tacos", "curry", "dumplings", "fries", "bbq", "barbecue", "cravings",
                "craving", "carbs", "binge", "water fast", "juice fast", "fasting window", "=fasting",
                "meal", "meals", "sandwich", "lasagna", "casserole",
                "hungry", "starving", "overeating", "undereating", "restricting",
            ),
            **_w(
                0.5, "eat", "eating", "ate", "lunch", "dinner", "breakfast", "supper", "cake", "chocolate",
                "cheese", "bread", "soup", "salad", "chicken", "rice", "eggs", "bacon", "cook", "cooking",
                "cooked", "chef", "groceries", "grocery", "kitchen", "menu", "protein", "sugar", "vegan",
                "vegetarian", "delicious", "tasty", "yummy", "flavor", "flavour", "taste", "fruit",
                "vegetables", "veggies", "=macros", "hunger", "weight", "pounds", "lbs", "bmi", "portion",
                "portions",
                "fork", "plate", "bite", "bites", "cookie", "apple", "banana", "onion", "potato",
                "potatoes",
                "sauce", "cereal", "donut", "doughnut", "pie", "smoothie", "juice", "topping", "toppings",
            ),
        },
        cues=_w(
            0.4, "delicious", "tasty", "yummy", "hungry", "homemade", "ate", "eat", "eating", "cook",
            "cooked",
            "bake", "oven", "fridge", "kitchen", "plate", "bite", "taste", "crispy", "sauce", "seasoning",
            "served", "serving", "dinner", "lunch", "breakfast", "order", "ordered", "therapist",
            "recovery",
            "body", "weight", "mirror", "guilt", "binge", "purge",
        ),
        exclude=(
            "food for thought", "pet food", "dog food", "cat food", "fish food", "bird food", "food chain",
            "piece of cake", "cake walk", "cakewalk", "icing on the cake", "have your cake",
            "word salad", "salad days", "eat my words", "eat crow", "eating me up", "what's eating",
            "eating into", "eats into", "eat into", "ate it up", "ate that", "she ate", "he ate",
            "they ate", "ate and left no crumbs", "we're cooked", "i'm cooked", "were cooked", "im cooked",
            "let him cook", "let them cook", "let her cook", "cooking up", "cooked up", "cook up",
            "hunger games", "binge watch", "binge watched", "binge watching", "binge-watch",
            "binge-watching", "=binged",
            "accept cookies", "cookie banner", "cookie policy", "tracking cookies",
            "third party cookies", "third-party cookies", "browser cookies", "cookie consent",
            "apple watch",
            "apple music", "apple tv", "apple pay", "apple store", "big apple", "top banana",
            "banana spider",
            "banana for scale", "bread and butter", "breadcrumbs", "sugar coat", "sugarcoat", "cheesy",
            "say cheese", "steady diet", "diet of", "low-hanging fruit", "low hanging fruit",
            "fruit of", "forbidden fruit", "tea party", "spill the tea", "spill tea", "the tea",
            "not my cup of tea", "cup of tea", "coffee table", "coffee shop meeting", "chicken out",
            "chickened out", "salad bowl", "lunch break", "over lunch", "at lunch", "lunch meeting",
            "after lunch", "before lunch", "after dinner", "before dinner", "at dinner", "over dinner",
            "dinner table", "after breakfast", "before breakfast", "weight room", "weight class",
            "dead weight", "pull your weight", "pulling my weight", "take a bite out of", "sound bite",
            "pie chart", "easy as pie", "rice university", "menu bar", "drop-down menu",
            "dropdown menu", "settings menu", "start menu", "protein folding", "wait list", "macro photo",
            "macro shot", "macro lens", "macro photography", "ultra macro", "macro mode",
        ),
    ),
    Concept(
        id="war",
        keys=(
            "war", "warfare", "armed conflict", "military conflict", "conflict zone", "civilian casualty",
            "casualty", "combat", "battle", "genocide", "invasion", "bombing", "airstrike", "military",
        ),
        terms={
            **_w(
                1.0, "war", "wars", "warfare", "airstrike", "air strike", "airstrikes", "=shelling",
                "missile strike", "missile strikes", "drone strike", "drone strikes", "bombing", "bombings",
                "bombardment", "civilian casualties", "killed in action", "ceasefire", "cease-fire",
                "artillery", "genocide", "=shelled", "insurgent", "insurgents", "insurgency", "war crime",
                "war crimes",
                "world war", "wwii", "ww2", "wwi", "ww1", "d-day", "landmine", "land mine",
                "cluster munition",
                "cluster munitions", "rocket attack", "rocket attacks", "armed conflict", "war-torn",
                "war torn", "invaded", "occupied territory", "frontline", "front line", "front lines",
                "mortar fire", "sniper fire", "ethnic cleansing", "troops", "death toll",
                "wartime",
            ),
            **_w(
                0.7, "invasion", "casualties", "casualty", "soldiers", "soldier", "military", "army",
                "militia",
                "massacre", "siege", "besieged", "refugees", "refugee", "guerrilla", "combat", "warzone",
                "war zone",
                "holocaust", "trench", "trenches", "missile", "missiles",
                "battle", "battlefield", "occupation", "hostages", "tanks", "fighter jets", "nato",
                "offensive", "counteroffensive", "air raid", "air raid sirens", "evacuation",
            ),
            **_w(0.4, "strikes", "strike"),
        },
        # "Civilians were killed" is how conflict is reported even when the word "war" is never used.
        pairs=(
            PairRule(
                left=("civilian", "civilians", "noncombatants", "non-combatants"),
                right=("killed", "dead", "wounded", "injured", "casualties", "died", "death toll"),
                weight=0.6,
                window=6,
            ),
        ),
        cues=_w(
            0.4, "civilian", "civilians", "killed", "wounded", "rubble", "evacuate", "evacuated", "sirens",
            "shelter", "displaced", "veteran", "veterans", "deployed", "deployment", "un", "humanitarian",
            "ruins", "destroyed", "invade", "border", "regime", "forces", "attack", "attacks",
        ),
        exclude=(
            "war on drugs", "war on drug", "war on christmas", "war on poverty", "war on cancer",
            "war on fun", "war on women", "price war", "price wars", "bidding war", "console war",
            "console wars", "flame war", "flame wars", "format war", "culture war", "culture wars",
            "war of words", "star wars", "war room", "war chest", "like it's wartime", "like its wartime",
            "war paint", "war games", "warcraft", "world of warcraft", "gears of war", "god of war",
            "war thunder", "tug of war", "tug-of-war", "pillow fight", "thumb war",
            "civil war era reenactment",
            "home invasion", "invasion of privacy", "alien invasion", "photobomb", "photobombed",
            "bath bomb", "bath bombs", "da bomb", "the bomb", "f bomb", "f-bomb", "bombed my",
            "bombed an", "bombed that", "bomb ass", "battle royale", "rap battle", "uphill battle",
            "battle with cancer", "battling cancer", "battle pass", "battle of the bands",
            "epic rap battles",
            "battle station", "battlestation", "battlefield 1", "battlefield 2042", "army of", "army knife",
            "swiss army", "bts army", "salvation army", "army green", "combat sports", "combat boots",
            "tanks top", "tank top", "fish tank", "think tank", "gas tank", "shells out", "sea shells",
            "seashells", "shell out", "front line workers", "frontline workers", "front line staff",
            "on the front lines of", "rally the troops", "war vet", "war vets", "war veteran",
            "war veterans", "war movie", "war movies", "war film", "war films", "war novel", "war game",
            "on strike", "labor strike", "labour strike", "general strike", "strike action",
            "three strikes",
            "lucky strike", "strike a pose", "strike a balance", "strike a deal", "strike out",
            "strikes out",
            "hunger strike", "bowling strike", "strike zone", "lightning strike", "lightning strikes",
        ),
        veto=(
            "game", "games", "gaming", "gameplay", "playthrough", "dlc", "multiplayer", "xbox",
            "playstation", "ps5", "nintendo", "steam", "warhammer", "tabletop", "board game", "novel",
            "fantasy", "fictional", "lore", "dungeons", "campaign mode", "rpg", "mmo", "fortnite",
            "players",
            "respawn", "loadout", "fps", "servers", "patch", "lobby", "new map", "maps", "mid-round",
        ),
    ),
    Concept(
        id="needles",
        keys=(
            "needle", "injection", "syringe", "vaccine", "vaccination", "iv", "blood draw", "shot",
            "trypanophobia", "jab", "inject",
        ),
        terms={
            **_w(
                1.0, "needle", "needles", "syringe", "syringes", "flu shot", "booster shot", "covid shot",
                "covid jab", "flu jab", "rabies shot", "tetanus shot", "allergy shot", "allergy shots",
                "insulin shot", "insulin pen", "insulin injection", "iv drip", "iv line", "iv bag",
                "iv fluids", "iv needle", "cannula", "blood draw", "drew blood", "draw blood",
                "blood drawn",
                "drawing blood", "phlebotomist", "phlebotomy", "venipuncture", "finger prick", "epipen",
                "epi pen", "tattoo gun", "tattoo needle", "acupuncture", "blood donation", "donate blood",
                "donated blood", "donating blood", "gave blood", "give blood", "giving blood",
                "blood drive",
                "plasma donation", "donate plasma", "donating plasma", "epidural", "lumbar puncture",
                "trypanophobia", "needle phobia", "vet shots", "puppy shots", "kitten shots", "shooting up",
                "got my shot", "get my shot", "got a shot", "got shots", "get shots", "getting shots",
                "getting my shot", "vaccine appointment", "got vaccinated",
                "get vaccinated", "getting vaccinated", "new tattoo", "got tattooed", "getting tattooed",
                "tattoo session",
                "tattoo artist", "tattoo appointment", "stick and poke", "biopsy needle", "botox",
                "lip filler", "dermal filler", "nose piercing", "ear piercing", "piercing", "pierced",
                "ivf shots", "trigger shot", "b12 shot", "depo shot", "cortisone shot",
            ),
            **_w(
                0.7, "injection", "injections", "inject", "injected", "injecting", "vaccine", "vaccines",
                "vaccinated", "vaccination",
                "jab", "jabs", "iv", "immunization", "immunizations", "blood test", "blood tests",
                "bloodwork", "blood work", "lancet", "catheter",
                "biopsy", "prick", "pricked", "fresh tattoo", "tattoo shop", "tattoo parlor",
            ),
            **_w(0.5, "tattoo", "tattoos"),
            **_w(
                0.4, "shots", "insulin", "ozempic", "semaglutide", "mounjaro", "wegovy", "heroin",
                "booster", "filler",
            ),
        },
        cues=_w(
            0.4, "nurse", "vein", "veins", "arm", "sore arm", "pinch", "poke", "poked", "clinic",
            "pharmacy",
            "pharmacist", "doctor", "hospital", "skin", "stitches", "dose", "doses", "appointment",
            "scared", "nervous", "faint", "fainted", "passed out", "phobia", "er visit", "emergency room",
            "urgent care", "the er", "taped", "drip", "fluids", "went in", "sting",
        ),
        exclude=(
            "needle in a haystack", "knitting needle", "knitting needles", "sewing needle",
            "sewing needles",
            "needle and thread", "pine needle", "pine needles", "record needle", "needle drop",
            "move the needle", "moved the needle", "moves the needle", "moving the needle",
            "needle nose", "needle-nose", "space needle", "needlepoint", "compass needle",
            "thread the needle",
            "threading the needle", "threads the needle", "pins and needles", "sql injection",
            "code injection", "prompt injection", "dependency injection", "fuel injection",
            "injection molding",
            "injection moulding", "cash injection", "capital injection", "injection of", "inject some",
            "injected some", "part iv", "chapter iv", "henry iv", "rocky iv", "episode iv", "season iv",
            "vol iv", "volume iv", "phase iv", "stage iv", "class iv", "booster seat", "booster club",
            "confidence booster", "mood booster", "piercing scream", "piercing eyes", "piercing gaze",
            "piercing blue", "ear piercing scream", "ear-piercing scream", "took a shot at", "cheap shot",
            "shot glass", "jab at", "took a jab", "taking jabs", "jabs at", "filler episode",
            "filler words",
            "filler arc", "space filler", "off the needles", "on the needles",
        ),
        veto=("haystack", "sql", "database", "boxing", "boxer"),
        term_veto={
            "needle": (
                "knit", "knitting", "knitted", "hand-knit", "yarn", "wool", "sweater", "scarf", "purl",
                "crochet", "sewing", "sew", "embroidery", "thread", "fabric", "circulars", "pine", "vinyl",
                "turntable", "record player",
            ),
        },
    ),
    Concept(
        id="self_harm",
        keys=(
            "self harm", "self-harm", "selfharm", "self injury", "self-injury", "cutting", "suicide",
            "suicidal", "self mutilation", "sh",
        ),
        terms={
            **_w(
                1.0, "self harm", "self-harm", "selfharm", "self harming", "self-harming", "self injury",
                "self-injury", "self injurious", "self mutilation", "self-mutilation", "cutting myself",
                "cut myself", "cuts on my", "harm myself", "harming myself", "hurt myself on purpose",
                "=hurting myself", "burning myself", "burned myself on purpose", "urge to cut",
                "urges to cut",
                "sh scars", "sh urges", "relapsed on sh", "clean from sh", "sh free", "suicide", "suicidal",
                "suicide attempt", "attempted suicide", "tried to kill myself", "wanted to kill myself",
                "want to kill myself", "end my life", "ending my life", "take my own life",
                "took my own life",
                "took their own life", "took his own life", "took her own life", "kill themselves",
                "killed himself", "killed herself", "killed themselves", "scratching myself",
                "hitting myself",
                "988", "crisis line", "crisis text line", "suicide hotline", "don't want to be alive",
                "dont want to be alive", "not want to be alive", "want to die", "wanted to die",
                "self-destruct",
                "self-inflicted",
            ),
            # Recovery milestones are about self-harm even though they say "without" or "free".
            **_w(
                1.0, "without self harm", "without self-harm", "without self harming", "without cutting",
                "without hurting myself", "self harm free", "self-harm free", "free from self harm",
                "free of self harm", "no self harm for", "clean from self harm", "since i last cut",
                "last time i cut",
            ),
            **_w(0.8, "cut again", "cutting again", "started cutting", "stopped cutting", "quit cutting"),
            **_w(
                0.6, "semicolon tattoo", "overdosed", "overdose", "kill myself", "sh", "self destructive",
                "self-destructive", "hurt myself", "end it all",
            ),
            **_w(0.3, "kms"),
        },
        cues=_w(
            0.4, "scars", "scar", "relapse", "relapsed", "razor", "blade", "blades", "wrist", "wrists",
            "thighs", "urges", "clean", "therapist", "recovery", "hotline", "bandages", "hide", "hiding",
            "sleeves", "long sleeves", "depressed", "depression", "psych ward",
        ),
        pairs=(
            PairRule(
                left=("scars", "scar", "scarring", "blade", "blades", "razor", "cut again", "cutting again",
                      "cuts", "fresh cuts", "old cuts", "burns"),
                right=(
                    "thighs", "thigh", "wrists", "wrist", "forearm", "forearms", "horizontal", "clean",
                    "days clean", "months clean", "years clean", "relapse", "relapsed", "urges", "sleeves",
                    "long sleeves", "hide", "hiding", "semicolon",
                ),
                window=12,
            ),
        ),
        exclude=(
            "suicide squad", "suicide door", "suicide doors", "suicide mission", "social suicide",
            "career suicide", "suicide run", "suicide sprints", "suicide drills", "political suicide",
            "cut myself slicing", "cut myself shaving", "cut myself chopping", "cut myself cooking",
            "cut myself on", "cut myself while", "cut myself with a", "cut myself by accident",
            "accidentally cut myself", "cut myself a", "cutting myself some slack", "cut myself some slack",
            "cutting myself a", "cut myself off", "cutting myself off", "hurt myself at the gym",
            "hurt myself lifting", "hurt myself working out", "hurt myself running", "want to die laughing",
            "wanted to die of embarrassment", "die of embarrassment", "kill myself laughing",
            "overdose on", "overdosed on caffeine", "sh t", "sh it",
        ),
        veto=(
            "lol", "lmao", "lmfao", "haha", "jk", "jokingly", "meeting", "meetings", "homework",
            "accidentally",
            "by accident", "paper cut", "mandoline", "slicing", "chopping", "shaving",
        ),
    ),
    Concept(
        id="violent_crime",
        keys=(
            "violent crime", "crime", "murder", "shooting", "homicide", "stabbing", "assault",
            "mass shooting",
            "gun violence", "armed robbery", "killing",
        ),
        terms={
            **_w(
                1.0, "homicide", "homicides", "murder suspect", "murder charge", "murder charges",
                "charged with murder", "fatal shooting", "mass shooting", "shot dead", "shot and killed",
                "fatally shot", "fatally stabbed", "stabbed to death", "beaten to death", "gunman",
                "gunmen", "opened fire", "drive-by", "drive by shooting",
                "armed robbery", "carjacking", "carjacked", "manslaughter", "fatal stabbing", "slay",
                "slaying",
                "bludgeoned", "strangled", "domestic violence", "cold case", "cold-case", "home invasion",
                "knife attack", "gang violence", "shootout", "shoot-out", "gun violence", "violent crime",
                "=stabbing", "=stabbings",
                "sexual assault", "aggravated assault", "was murdered", "were murdered", "murdered by",
                "body was found", "bodies were found", "remains were found", "found dead", "hate crime",
                "kidnapping", "kidnapped", "abducted", "abduction", "rape", "raped", "school shooting",
                "shooting victim", "shooting victims", "stabbing victim", "gunshot wound", "gunshot wounds",
                "died of gunshot", "murder-suicide", "murder suicide", "double homicide", "triple homicide",
            ),
            **_w(
                0.7, "murder", "murders", "murdered", "shooting", "shootings", "stabbed", "robbery",
                "mugged",
                "mugging", "assault", "assaulted", "gunfire", "gunshot", "gunshots", "killer", "attacker",
                "massacre", "=killings", "was shot", "were shot", "got shot", "been shot",
                "shot in the", "shot multiple times", "shot twice", "shot several times",
            ),
            **_w(
                0.5, "shot", "killed", "crime", "crimes", "robbed", "attacked", "beaten", "weapon", "gun",
                "knife",
            ),
        },
        cues=_w(
            0.4, "police", "cops", "suspect", "suspects", "arrested", "arrest", "charged", "charges",
            "authorities", "investigators", "detective", "detectives", "sheriff", "prosecutor",
            "prosecutors", "district attorney", "da", "sentenced", "convicted", "indicted", "victim",
            "victims",
            "in custody", "year-old", "coroner", "medical examiner", "dna", "motive", "breaking",
            "according to",
            "reported", "investigation", "witnesses", "surveillance footage", "trial", "jury", "verdict",
            "wounded", "injured", "hospitalized", "critical condition", "killed", "died", "dead",
        ),
        exclude=(
            "murdered that", "murdered it", "murdered this", "murder mystery", "murder mysteries",
            "murder hornet", "murder hornets", "murder of crows", "murder drones", "could murder a",
            "murder a burger", "murder a pizza", "killing it", "killed it", "killing me", "killing time",
            "killed time", "kill time", "killer app", "killer deal", "killer view", "killer views",
            "killer workout", "lady killer", "killing the game", "photo shoot", "photoshoot",
            "shooting photos", "shooting video", "shooting a video", "shooting film", "shooting on film",
            "shooting star", "shooting stars", "shooting range", "shooting guard", "shooting hoops",
            "shooting pain", "shooting pains", "shooting the breeze", "shooting my shot", "shot my shot",
            "shooting for", "shot glass", "flu shot", "booster shot", "covid shot", "screen shot",
            "shot of espresso", "espresso shot", "shot on iphone", "shot on film", "long shot",
            "big shot", "mug shot", "mugshot", "hot shot", "slam dunk", "stabbed in the back",
            "stabbing pain", "stabbing pains",
            "stab in the dark", "take a stab", "took a stab", "highway robbery", "daylight robbery",
            "assault rifle", "assault on the senses", "crime against fashion", "crimes against fashion",
            "partner in crime", "partners in crime", "true crime podcast", "crime drama", "crime novel",
            "crime thriller", "gun to my head", "knife edge", "butter knife", "pocket knife", "steak knife",
            "glue gun", "nail gun", "heat gun", "tattoo gun", "water gun", "nerf gun", "jumped the gun",
            "stick to your guns", "sticking to my guns", "wide shot", "close shot", "drop shot",
            "kill switch",
            "painkiller", "painkillers", "weed killer", "serial killer documentary",
        ),
        veto=(
            "novel", "fiction", "fictional", "movie", "film", "episode", "season", "series", "character",
            "characters", "video game", "game", "gta", "book", "chapter", "whodunit", "cluedo", "netflix",
            "hbo", "spoiler", "spoilers", "plot", "fanfic", "lol", "lmao", "presentation", "exam",
            "karaoke",
        ),
    ),
    Concept(
        id="animal_harm",
        keys=(
            "animal hurt", "animal harm", "animal abuse", "animal cruelty", "animal suffering",
            "animal death",
            "dead animal", "animal injury", "injured animal", "roadkill", "hunting", "animal killed",
            "animal violence", "animal neglect", "hurt animal", "animal attack", "animal being hurt",
        ),
        terms={
            **_w(
                1.0, "roadkill", "animal cruelty", "animal abuse", "animal neglect", "animal hoarding",
                "poaching", "poacher", "poachers", "dog fighting", "dogfighting", "cockfighting",
                "cock fight",
                "bullfight", "bullfighting", "trophy hunting", "trophy hunter", "slaughterhouse",
                "window strike", "window strikes", "bird strike", "field dressed", "field dressing",
                "glue trap", "glue traps", "tagged out", "first deer", "first buck", "hit a deer",
                "factory farming", "puppy mill", "puppy mills", "animal testing", "animal death",
            ),
            **_w(0.6, "slaughter", "slaughtered", "mauled", "carcass", "snare", "snares", "mousetrap",
                 "mouse trap", "rat poison", "predation"),
        },
        cues=_w(
            0.3, "rescue", "rescued", "vet", "wildlife", "rehab", "wildlife rescue", "shelter", "talons",
            "prey",
            "jaws",
        ),
        pairs=(
            PairRule(
                left=(
                    "animal", "animals", "dog", "puppy", "pup", "cat", "kitten", "kitty", "bird", "birds",
                    "deer", "fawn", "buck", "doe", "elk", "moose", "fox", "raccoon", "possum", "opossum",
                    "squirrel", "rabbit", "bunny", "hare", "mouse", "rat", "horse", "pony", "cow", "calf",
                    "pig", "piglet", "sheep", "lamb", "goat", "chicken", "hen", "duck", "duckling", "goose",
                    "owl", "hawk", "eagle", "osprey", "falcon", "songbird", "sparrow", "robin", "pigeon",
                    "crow", "turtle", "tortoise", "frog", "toad", "snake", "lizard", "fish", "trout",
                    "salmon", "whale", "dolphin", "shark", "bear", "wolf", "coyote", "lion", "lioness",
                    "tiger", "elephant", "rhino", "giraffe", "zebra", "monkey", "gorilla", "hedgehog",
                    "badger", "otter", "beaver", "hamster", "gerbil", "ferret", "pet", "pets", "wildlife",
                    "critter", "stray", "livestock", "cattle", "gazelle", "antelope", "bison", "boar",
                    "cub",
                    "chick", "koala", "kangaroo", "penguin", "hummingbird", "finch", "wren", "seagull",
                    "gull", "heron", "chipmunk", "vole", "shrew", "songbirds", "seal pup", "orca",
                    "parrot", "dove", "swan", "mule", "donkey", "camel", "alpaca",
                ),
                right=(
                    "hurt", "injured", "injury", "injuries", "wounded", "wound", "bleeding", "blood",
                    "killed", "kill", "kills", "dead", "dying", "die", "death", "carcass", "corpse",
                    "abused",
                    "abuse", "beaten", "beating", "kicked", "kicking", "tortured", "torture", "cruelty",
                    "neglect", "neglected", "starving", "starved", "emaciated", "maimed", "mauled",
                    "attacked",
                    "attack", "hit by", "run over", "ran over", "struck", "trapped", "snared",
                    "poisoned", "drowned", "drowning", "suffering", "limping", "broken wing", "broken leg",
                    "broke its", "caught a", "caught the", "eaten", "devoured", "devouring", "hunted",
                    "hunting", "slaughtered", "butchered", "gutted", "skinned", "crushed", "impaled",
                    "in its talons", "in its jaws", "in its mouth", "talons", "snatching", "snatched",
                    "throwing rocks at", "threw rocks at", "throwing stones at", "threw stones at", "pelting",
                    "rocks at", "stones at", "set fire to", "set on fire",
                    "prey", "kill shot", "harvested", "bagged", "thrown", "dumped", "abandoned", "choked",
                    "strangled", "stabbed", "mutilated", "decapitated", "headless", "torn apart",
                    "ripped apart", "flew into", "smacked into", "harmed", "harm", "hurting", "cruel",
                    "euthanized", "put down", "was shot", "got shot", "been shot", "shot a", "shot it",
                    "shot and killed", "shot and wounded", "shot dead",
                ),
                window=10,
            ),
        ),
        exclude=(
            "killing it", "killed it", "dog tired", "dead tired", "cat nap", "dog days", "sick puppy",
            "hot dog", "hot dogs", "chicken out", "chickened out", "cold turkey", "bear market",
            "bull market", "rat race", "dead ringer", "dead end", "dead serious", "dead set", "deadline",
            "drop dead gorgeous", "killing me", "no animals were harmed", "no animal was harmed",
            "dead battery", "dead phone", "dead zone", "dead weight", "dead center", "catfish", "catfished",
            "dogfood", "dog food", "cat food", "pet food", "fish food", "hurt my back", "hurt my knee",
            "my cat's dead", "horse around", "horsing around", "wolf whistle", "copycat", "fat cat",
            "puppy love", "bunny hop", "lone wolf", "seal the deal", "stone cold", "dogpile", "dog pile",
            "fish out of water", "bird of prey", "birds of prey", "panic attack",
            "panic attacks", "heart attack", "shot a photo", "shot a video", "shot a picture",
            "rabies shot",
            "rabies shots", "vet shots", "puppy shots", "kitten shots", "booster shot", "his shots",
            "her shots",
        ),
        veto=(
            "spay", "spayed", "neuter", "neutered", "checkup", "check-up", "vaccinated", "nail trim",
            "rabies",
            "vaccine", "vaccines", "vaccination", "booster",
        ),
    ),
    Concept(
        id="blood",
        keys=("blood", "bleeding", "gore", "bloody", "bloodshed"),
        terms={
            **_w(
                1.0, "blood", "bleeding", "bled", "=bloodied", "nosebleed", "nose bleed", "bloodstain",
                "bloodstained", "blood-stained", "blood-soaked", "blood soaked", "hemorrhage",
                "haemorrhage", "hemorrhaging", "blood donation", "gave blood", "donated blood",
                "donate blood",
                "blood draw", "drew blood", "blood drawn", "fake blood", "stage blood", "movie blood",
                "bloody nose", "bloody lip", "bloody mess", "bloody knuckles", "bloody sock",
                "bloody tissue",
                "bloody towel", "bloody hand", "bloody hands", "bloody gums", "bloody stool",
                "gushing blood",
                "pool of blood", "covered in blood", "bloodshed", "gory", "period blood",
                "menstrual blood", "blood clot", "blood clots", "coughing up blood", "blood everywhere",
                "bleeding out", "bled out", "open wound",
            ),
            **_w(0.8, "gore", "gash"),
            **_w(0.6, "bloodbath"),
            **_w(0.5, "bloody", "wound", "deep cut", "scab", "stitches", "oozing", "tourniquet"),
        },
        cues=_w(
            0.4, "cut", "wound", "dripping", "soaked", "bandage", "band-aid", "bandaid", "gauze",
            "stitches",
            "red", "vial", "vials", "needle", "nurse", "er", "urgent care", "injury",
        ),
        exclude=(
            "blood orange", "blood oranges", "blood moon", "blood pressure", "blood sugar", "blood sugars",
            "blood glucose", "blood type", "blood group", "blood relative", "blood relatives",
            "blood related", "blood-related", "blood brother", "blood brothers", "bad blood",
            "in cold blood",
            "cold-blooded", "cold blooded", "warm-blooded", "warm blooded", "hot-blooded", "hot blooded",
            "blue blood", "blue-blooded", "blood sweat and tears", "blood, sweat and tears", "first blood",
            "blood money", "bloodline", "bloodlines", "bloodhound", "bloodhounds", "true blood",
            "blood test results", "blood work results", "bloodborne", "blood borne", "blood and bone",
            "blood meal", "young blood", "new blood", "blood is thicker", "bleeding edge", "bleeding-edge",
            "bleeding heart", "bleeding hearts", "bleeding money", "bleeding cash", "ears are bleeding",
            "my ears bleed", "eyes are bleeding", "eyes bleed", "color bleeding", "colour bleeding",
            "bleeding the brakes", "bleed the brakes",
            "bleed the radiator", "bleeding the radiator", "bloody brilliant", "bloody hell", "bloody good",
            "bloody great", "bloody well", "bloody mary", "bloody awful", "bloody cold", "bloody typical",
            "bloody annoying", "bloody ridiculous", "bloody lovely", "bloody amazing", "bloody nora",
            "al gore", "gore-tex", "goretex", "bleed money", "in stitches", "market bloodbath",
        ),
        # Paint, ink and dye "bleed through" too, and stem exactly like "bled through two towels".
        term_veto={
            "bleed": ("paint", "primer", "watercolor", "watercolour", "marker", "markers", "dye", "printer",
                      "fabric", "wallpaper", "stain"),
        },
    ),
    Concept(
        id="tlou",
        keys=("the last of us", "last of us", "tlou", "tlou2", "tlou 2", "last of us part ii"),
        require_cue=True,
        terms={
            **_w(
                1.0, "joel dies", "joel's death", "joel died", "killed joel", "kills joel", "abby kills",
                "ellie is immune", "ellie's immunity", "ellie was bitten", "ellie got bitten",
                "ellie's bite", "missing two fingers", "two missing fingers", "missing fingers",
                "sarah dies", "sarah's death", "sarah died", "tess dies", "tess's death",
                "tess was bitten", "tess got bitten", "sam turns", "sam was bitten", "henry shoots",
                "riley dies", "riley was bitten", "jesse dies", "jesse's death", "ellie spares abby",
                "lets abby go", "lets abby live", "spares abby", "ellie's fingers", "lost two fingers",
                "joel lied", "joel lies", "swear to me", "kills the surgeon", "killed the surgeon",
                "shot the surgeon", "shoots the surgeon", "ellie kills", "ellie killed", "bill dies",
                "frank dies", "bill and frank die",
            ),
            # Distinctive names of the franchise; common first names weigh less.
            **_w(
                0.5, "joel", "ellie", "abby", "marlene", "yara", "henry and sam", "bill and frank",
                "fireflies",
                "firefly", "clicker", "clickers", "bloater", "bloaters", "cordyceps", "rattlers",
                "seraphites",
                "wlf", "the last of us", "tlou", "tlou2", "salt lake city", "golf club",
            ),
            **_w(0.35, "tommy", "dina", "jesse", "lev", "tess", "riley", "kathleen", "owen", "jackson",
                 "santa barbara"),
        },
        cues={**PLOT_CUES, **_w(0.5, "surgeon", "operate", "operating room", "the cure", "hospital", "cure",
                                 "giraffe", "giraffes", "museum", "guitar", "farmhouse", "scene")},
        exclude=("last of us to", "the last of us to", "last of us who", "last of us left"),
    ),
    Concept(
        id="student_loans",
        keys=(
            "student loan", "student loans", "student debt", "pslf", "fafsa", "loan forgiveness",
            "college debt", "student loan debt",
        ),
        terms={
            **_w(
                1.0, "student loan", "student loans", "student debt", "student-loan", "pslf",
                "public service loan forgiveness", "fafsa", "loan forgiveness", "parent plus",
                "parent plus loan",
                "loan servicer", "loan servicers", "navient", "nelnet", "mohela", "aidvantage",
                "edfinancial",
                "sallie mae", "income-driven repayment", "income driven repayment", "repaye",
                "federal loans",
                "federal student aid", "grad plus", "perkins loan", "stafford loan", "borrower defense",
                "studentaid", "studentaid gov", "college loans", "college debt", "school loans",
                "student loan payments", "subsidized loan", "unsubsidized loan", "subsidized loans",
                "unsubsidized loans", "direct loans", "direct loan",
            ),
            **_w(
                0.7, "servicer", "idr", "ibr", "save plan", "plus loan", "forbearance", "deferment",
                "subsidized", "unsubsidized", "loan payments", "loan offer",
            ),
            **_w(
                0.4, "loan", "loans", "forgiveness", "repayment", "borrowers", "debt relief", "aid package",
                "financial aid", "fsa",
            ),
        },
        cues=_w(
            0.4, "tuition", "college", "university", "degree", "grad school", "graduate", "semester",
            "department of education", "interest rate", "interest", "debt", "payments", "monthly payment",
            "public service", "teacher", "nonprofit", "qualifying payments", "ed dept", "borrower",
            "school",
        ),
        exclude=(
            "car loan", "car loans", "auto loan", "auto loans", "home loan", "home loans", "payday loan",
            "payday loans", "library loan", "interlibrary loan", "on loan", "personal loan",
            "personal loans",
            "business loan", "business loans", "mortgage loan", "loan shark", "bridge loan",
            "loan me", "loaned me", "sba loan", "ppp loan",
        ),
    ),
    Concept(
        id="election",
        keys=(
            "election", "elections", "vote", "voting", "ballot", "poll", "electoral", "midterm",
            "referendum",
            "primary election", "voter", "polling",
        ),
        terms={
            **_w(
                1.0, "election", "elections", "ballot", "ballots", "polling station", "polling place",
                "polling booth", "polling location", "polling stations", "exit poll", "exit polls",
                "went to the polls", "go to the polls", "head to the polls", "voter turnout", "voters",
                "voter", "electoral", "electoral college", "swing state", "swing states",
                "battleground state",
                "battleground states", "primary election", "presidential primary", "democratic primary",
                "republican primary", "gop primary", "=primaries", "early voting", "voter registration",
                "register to vote", "registered to vote", "gubernatorial", "senate race", "house race",
                "presidential race", "mayoral race", "governor's race", "race for governor",
                "race for mayor",
                "campaign trail", "electorate", "referendum", "i voted", "election day", "poll worker",
                "poll workers", "mail-in", "mail in ballot", "midterm elections",
                "concession speech", "ranked choice", "ranked-choice", "polls show", "polls close",
                "polls open",
                "the =polls", "=polling", "candidates", "candidate", "running for office", "ran for office",
                "run for office", "running for mayor", "running for governor", "running for senate",
                "running for congress", "running for president", "running for reelection",
                "city council race",
                "school board race", "reelection", "re-election", "vote count", "votes counted",
                "get out the vote",
            ),
            **_w(0.8, "vote for", "voting for", "voted for", "caucus", "caucuses", "absentee"),
            **_w(
                0.6, "vote", "votes", "voted", "voting", "poll", "polls", "midterm", "midterms", "campaign",
                "campaigning",
                "canvassing", "canvass", "precinct", "precincts", "mayoral", "elected", "=recount",
                "=recounts",
                "turnout", "incumbent", "runoff",
            ),
            **_w(0.4, "primary", "debate", "conceded"),
        },
        cues=_w(
            0.4, "democrat", "democrats", "republican", "republicans", "gop", "dnc", "rnc", "senator",
            "governor",
            "mayor", "congress", "congressional", "district", "seat", "margin", "points", "percent",
            "undecided", "results", "race", "party", "president", "presidential", "senate", "county",
            "registrar", "secretary of state", "constituents", "office", "endorsement",
        ),
        exclude=(
            "twitter poll", "instagram poll", "reddit poll", "straw poll", "strawpoll",
            "poll in the comments",
            "quick poll", "office poll", "poll below", "vote below", "vote in the comments",
            "vote in my poll",
            "vote in the poll", "in the poll", "this poll", "my poll", "poll results below",
            "poll in my story",
            "upvote", "upvotes", "downvote", "downvotes", "upvoted", "downvoted", "vote of confidence",
            "midterm exam", "midterm exams", "midterm grade", "midterm paper", "midterms week",
            "my midterm",
            "my midterms", "primary school", "primary care", "primary reason", "primary colors",
            "primary colours", "primary source", "primary key", "primary goal", "primary care doctor",
            "job candidate", "job candidates", "candidate for the position", "candidate for the role",
            "candidates for the role", "candidates for the job", "elected to", "debate club", "debate team",
            "campaign mode",
            "ad campaign", "marketing campaign", "fundraising campaign", "kickstarter campaign",
            "dnd campaign",
            "d&d campaign", "campaign in", "party on", "house party", "birthday party", "tea party",
            "polling rate", "polling interval", "absentee landlord", "absentee father", "absentee parent",
            "absentee parents", "water runoff", "stormwater runoff",
        ),
        veto=(
            "club", "book club", "hoa", "survey", "favorite", "favourite", "jury", "kickstarter",
            "marketing",
            "exam", "exams", "professor", "semester", "syllabus", "hiring", "interview", "recruiter",
            "resume", "the bill", "legislation", "lawmakers", "legislature", "amendment", "motion",
            "roll call", "filibuster", "senate passed", "house passed", "dnd", "d&d", "dungeon",
        ),
    ),
    Concept(
        id="child_influencer",
        keys=(
            "child influencer", "child influencers", "kid influencer", "kidfluencer", "family vlog",
            "family vlogger", "family channel", "sharenting", "child youtuber", "kid youtuber",
            "influencer kids", "family vloggers",
        ),
        terms={
            **_w(
                1.0, "kidfluencer", "kidfluencers", "child influencer", "child influencers",
                "kid influencer",
                "kid influencers", "kid youtuber", "kid youtubers", "child youtuber", "child youtubers",
                "family vlog", "family vlogs", "family vlogger", "family vloggers", "family vlogging",
                "family channel", "family channels", "family youtuber", "family youtubers", "sharenting",
                "mommy blogger", "mommy vlogger", "mom influencer", "momfluencer", "child content creators",
                "minor influencers", "child creators", "kid creators", "kids channel", "kid's channel",
                "unboxing channel", "coogan", "child labor laws for influencers", "child star influencer",
                "monetized kids", "monetizing kids", "monetizing children", "monetizing their kids",
                "monetizing their children", "kids' earnings", "children's earnings", "family content",
                "baby influencer", "toddler influencer", "teen influencer", "teen influencers",
            ),
        },
        cues=_w(0.3, "sponsored", "brand deal", "brand deals", "subscribers", "followers", "monetize",
                "monetized", "trust fund", "law", "bill", "earnings", "views"),
        pairs=(
            PairRule(
                left=(
                    "influencer", "influencers", "vlog", "vlogs", "vlogger", "vloggers", "youtuber",
                    "youtubers",
                    "tiktoker", "tiktokers", "content creator", "content creators", "channel", "brand deal",
                    "brand deals", "sponsored", "sponsorship", "subscribers", "followers", "monetize",
                    "monetized", "monetizing", "monetization", "creator", "creators", "instagram account",
                    "tiktok account", "famous on tiktok", "famous on youtube", "unboxing", "ad revenue",
                    "filming their", "films her", "films his", "filmed their", "content",
                ),
                right=(
                    "kid", "kids", "child", "children", "son", "daughter", "toddler", "baby", "babies",
                    "minor",
                    "minors", "preteen", "tween", "teen", "teens", "year-old", "year old", "little one",
                    "little ones", "8yo", "7yo", "6yo", "5yo", "9yo", "10yo", "11yo", "12yo",
                ),
                weight=0.7,
                window=8,
            ),
        ),
        exclude=(
            "child actor", "child actors", "child star", "child stars", "kids' menu", "content warning",
            "kid gloves",
        ),
    ),
)

CONCEPTS_BY_ID: dict[str, Concept] = {c.id: c for c in CONCEPTS}
