"""Common feed topics, written for this project: the backdrop a filter's similarity is measured against."""

# Topics a feed is full of, as descriptions shaped like a filter's. A post's mean similarity to these is
# how close it sits to "any topic at all" (image descriptions and long posts sit close to everything);
# subtracting it leaves what is specific to the filter.
BACKGROUND_TOPICS: tuple[str, ...] = (
    "cooking and recipes", "sports results", "pets and animals", "the weather", "music and concerts",
    "travel and holidays", "money and personal finance", "work and careers", "school and studying",
    "computers and phones", "gardening and plants", "movies and television", "video games", "fashion and clothes",
    "health and fitness", "family and children", "home repairs", "cars and driving", "politics", "science news",
    "books and reading", "art and drawing", "the ocean and beaches", "nature and hiking", "shopping and deals",
    "relationships and dating", "jokes and memes", "city life and neighbours", "a photo of a street",
    "a photo of a person", "a photo of an animal", "a photo of food", "a photo of a landscape",
)
