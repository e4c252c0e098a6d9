"""Task families and their mixture: what a family is and the fixed splits (base.py), the
families (multihop.py, reasoning.py, function_calling.py), what the question-answering ones
share (questions.py), calibration offsets (offsets.py), and the
weighted mixture an env draws from (suite.py). Answers are matched by `orchestra_env.answers`."""
