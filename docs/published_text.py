"""What published text (README.md, docs/, benchmarks/README.md) never contains: the words
of internal work. CI greps for them; the tutorial and gallery generators and the tests use
this one pattern (written with [e] so that this file passes the grep itself)."""

import re

INTERNAL_WORDS = re.compile(r"s[e]ssion|l[e]nt|issue [0-9]", re.IGNORECASE)
"""Matches the three patterns above in any case: a word for a work period, any word holding
the four letters l-e-n-t, and an issue number."""
