"""Words with several well-known meanings, and the question to ask when one arrives on its own.

"Jordan" alone could be a country, a basketball player or a shoe brand; a filter for the wrong one hides
the wrong posts. Only a bare word is ambiguous: "Michael Jordan" or "Jordan the country" is already clear.
"""

from __future__ import annotations

import re

from gateway.chat.state import Choice

# term -> its meanings: (button label, filter text, initial_type)
_TABLE: dict[str, list[tuple[str, str, str]]] = {
    "jordan": [
        ("Michael Jordan (basketball)", "Michael Jordan, the basketball player", "person"),
        ("Jordan (the country)", "Jordan, the country in the Middle East", "topic"),
        ("Air Jordan (sneakers)", "Air Jordan sneakers and the Jordan brand", "topic"),
    ],
    "paris": [
        ("Paris (the city)", "Paris, the city in France", "topic"),
        ("Paris Hilton", "Paris Hilton", "person"),
    ],
    "apple": [
        ("Apple (the company)", "Apple, the tech company, and its products", "topic"),
        ("Apples (the fruit)", "apples, the fruit", "topic"),
    ],
    "amazon": [
        ("Amazon (the company)", "Amazon, the online retailer and tech company", "topic"),
        ("Amazon rainforest", "the Amazon rainforest", "topic"),
    ],
    "mercury": [
        ("Mercury (the planet)", "Mercury, the planet", "topic"),
        ("Mercury (the element)", "mercury, the toxic metal", "topic"),
        ("Freddie Mercury", "Freddie Mercury", "person"),
        ("Mercury retrograde (astrology)", "Mercury retrograde and astrology", "topic"),
    ],
    "corona": [
        ("COVID-19 (coronavirus)", "COVID-19 and the coronavirus pandemic", "topic"),
        ("Corona (the beer)", "Corona beer", "topic"),
    ],
    "python": [
        ("Pythons (the snake)", "pythons and other snakes", "topic"),
        ("Python (programming)", "the Python programming language", "topic"),
        ("Monty Python", "Monty Python", "topic"),
    ],
    "java": [
        ("Java (programming)", "the Java programming language", "topic"),
        ("Java (the island)", "Java, the Indonesian island", "topic"),
        ("Coffee", "coffee", "topic"),
    ],
    "jaguar": [
        ("Jaguars (the animal)", "jaguars, the big cat", "topic"),
        ("Jaguar (the car brand)", "Jaguar cars", "topic"),
        ("Jacksonville Jaguars", "the Jacksonville Jaguars football team", "topic"),
    ],
    "turkey": [
        ("Turkey (the country)", "Turkey, the country", "topic"),
        ("Turkey (the bird or meat)", "turkeys, the bird, and turkey meat", "topic"),
    ],
    "georgia": [
        ("Georgia (US state)", "Georgia, the US state", "topic"),
        ("Georgia (the country)", "Georgia, the country in the Caucasus", "topic"),
    ],
    "washington": [
        ("Washington, D.C. (US politics)", "Washington, D.C. and US federal politics", "topic"),
        ("Washington State", "Washington State", "topic"),
        ("George Washington", "George Washington", "person"),
    ],
    "phoenix": [
        ("Phoenix (the city)", "Phoenix, Arizona", "topic"),
        ("Phoenix (the mythical bird)", "the phoenix, the mythical bird", "topic"),
        ("Joaquin Phoenix", "Joaquin Phoenix", "person"),
    ],
    "mars": [
        ("Mars (the planet)", "Mars, the planet, and missions to it", "topic"),
        ("Bruno Mars", "Bruno Mars", "person"),
        ("Mars (chocolate)", "Mars chocolate bars", "topic"),
    ],
    "cancer": [
        ("Cancer (the illness)", "cancer, the illness, and its treatment", "topic"),
        ("Cancer (zodiac sign)", "the Cancer zodiac sign and horoscopes", "topic"),
    ],
    "shooting": [
        ("Gun violence", "shootings and gun violence", "topic"),
        ("Shooting sports and hunting", "shooting sports and hunting", "topic"),
        ("Photo and film shoots", "photo and film shoots", "topic"),
    ],
    "shots": [
        ("Vaccines and injections", "vaccines, injections and needles", "topic"),
        ("Gunshots", "gunshots and gun violence", "topic"),
        ("Alcohol shots", "shots of alcohol and drinking", "topic"),
    ],
    "crash": [
        ("Car and plane crashes", "car, plane and other vehicle crashes", "topic"),
        ("Market crashes", "stock market and crypto crashes", "topic"),
    ],
    "bat": [
        ("Bats (the animal)", "bats, the animal", "topic"),
        ("Baseball and cricket bats", "baseball and cricket", "topic"),
    ],
    "seal": [
        ("Seals (the animal)", "seals, the marine animal", "topic"),
        ("Seal (the singer)", "Seal, the singer", "person"),
        ("Navy SEALs", "Navy SEALs and the military", "topic"),
    ],
    "bass": [
        ("Bass (the fish)", "bass fish and fishing", "topic"),
        ("Bass (music)", "bass guitars and bass-heavy music", "topic"),
    ],
}
ANY_MEANING = "Any of these"
SOMETHING_ELSE = "Something else"


def _key(text: str) -> str:
    words = re.findall(r"[^\W_]+", text.casefold())
    if words and words[0] == "the":
        words = words[1:]
    return " ".join(words)


def meanings(text: str) -> tuple[str, list[Choice]] | None:
    """(term, its meanings as buttons) when ``text`` is nothing but an ambiguous word, else None."""
    key = _key(text)
    term = next((k for k in (key, key.removesuffix("s"), key.removesuffix("es")) if k in _TABLE), None)
    if term is None:
        return None
    choices = [Choice(label, filter_text, kind) for label, filter_text, kind in _TABLE[term]]
    display = text.strip().strip(".!?") or term
    choices.append(Choice(ANY_MEANING, f"anything called {display}, in any sense", "ambiguous"))
    return term, choices


def question(text: str, choices: list[Choice]) -> str:
    labels = [c.label for c in choices if c.label != ANY_MEANING]
    listed = ", ".join(labels[:-1]) + f" or {labels[-1]}" if len(labels) > 1 else labels[0]
    return f'"{text.strip()}" can mean different things. Which one do you mean: {listed}?'


def options(choices: list[Choice]) -> list[str]:
    return [c.label for c in choices] + [SOMETHING_ELSE]
