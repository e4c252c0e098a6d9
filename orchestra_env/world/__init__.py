"""The generated knowledge world: its document corpus and FRAMES-like multi-hop questions.

One world per seed: people, organisations, places, creative works and events drawn with a
seeded `Faker` and a seeded `random.Random`, tied together by typed relations

    person -> birthplace (place), employer (organisation), spouse (person)
    organisation -> founder (person), headquarters (place)
    place -> mayor (person)
    work -> creator (person: author / director / artist / designer), publisher (organisation)
    event -> location (place), organiser (organisation)

and carrying attributes (person.birth_year; organisation.founded_year, .employees;
place.population, .founded_year, .country; work.release_year; event.year, .attendance).
Every entity gets one encyclopedic document that states all of its facts (and mentions a few
facts pointing at it). Names come in deliberate look-alike clusters — people sharing surnames,
"Halvorsen Group" / "Halvorsen Holdings" / a person called Halvorsen, "North Jessicaton" /
"Jessicaton", the same title for a novel and a film, yearly editions of one festival — so that
a vague query retrieves the wrong document and a targeted one the right one. About a quarter of
the documents (fewer among popular entities) are web-only: the local corpus lacks them.

Questions are generated lazily and deterministically from (seed, index): chains of 2–4 hops
("In which year was the founder of the company that published the novel 'X' born?"),
arithmetic over hop values ("How many years after its founder's birth was ... founded?",
sums and differences over two chains), and comparisons of two chains ("Which was founded
earlier, ... or ...?"). A question names only its starting entities, never the intermediate
ones. Each hop records the document that states it and the targeted query a competent
searcher writes for it. Difficulty (per skill, logit scale, clipped to ±3) grows with the
number of hops, web-only hops, look-alike density of the hops' subjects, their obscurity
(1 − popularity), and arithmetic / comparison.

Everything is byte-identical for a seed in any process: no `hash()` of strings, no iteration
over sets, no global random state.

Modules: records.py (the public records), vocabulary.py (kinds, relations, phrasing),
documents.py (each entity's text), builder.py (drawing the entities), questions.py
(`KnowledgeWorld` and its questions).
"""

from orchestra_env.world.questions import KnowledgeWorld, hidden_names, knowledge_world
from orchestra_env.world.records import Document, Entity, Hop, MultihopQuestion

__all__ = [
    "Document",
    "Entity",
    "Hop",
    "KnowledgeWorld",
    "MultihopQuestion",
    "hidden_names",
    "knowledge_world",
]
