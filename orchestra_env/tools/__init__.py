"""The tools a policy calls: what an executor takes and returns (base.py), the tool specs
(spec.py) and their priced descriptions (catalogue.py), the question-answering executors
(qa.py), BM25 retrieval over the knowledge world (retrieval.py), and the code sandbox
(sandbox.py)."""
