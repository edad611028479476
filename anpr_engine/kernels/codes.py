"""The constants and status codes the kernels share with the rest of the package, importable without
numba (the console scripts' --help and the config must not pay numba's import). The kernel modules
take them from here; code outside kernels/ imports them from here too.

A kernel reads these as compile-time constants, and numba's cache of a kernel does not notice a
change made here: delete the kernels' __pycache__ after changing a value.
"""

# Plate codes (kernels/normalize.py): up to MAX_LEN characters coded 1..36 ('0'-'9' → 1..10,
# 'A'-'Z' → 11..36), 0-padded; a key packs them in base BASE, 0 is "no plate".
MAX_LEN = 12
BASE = 37
WILDCARD = BASE  # a `*` of a wildcard pattern (kernels/wildcards.py): one past the last character code

# Values of the code-point table normalize_batch takes (besides the character codes 1..36).
SEPARATOR = 0
INVALID = -1

# Per-plate status codes written by normalize_batch.
PLATE_OK = 0
PLATE_EMPTY = 1
PLATE_TOO_LONG = 2
PLATE_BAD_CHAR = 3
PLATE_BAD_UTF8 = 4

# The hash table (kernels/hashindex.py): slot contents and status codes.
EMPTY_KEY = 0
TOMBSTONE = -1
TABLE_OK = 0
TABLE_FULL = 1
NOT_FOUND = 2

# Deletion variants (kernels/variants.py): the largest budget of differences.
MAX_DELETIONS = 2

# A read's country as format_candidates takes it (kernels/formats.py), besides a country's number.
ANY_COUNTRY = -1  # unknown: every country's formats
NO_FORMATS = -2  # a country without formats: exact only

# JSON field kinds: of the parser (kernels/json_objects.py) and of the writer (kernels/json_write.py,
# STRING and INT only).
FIELD_STRING = 0
FIELD_INT = 1
FIELD_FLOAT = 2
FIELD_STRINGS = 3

# Per-unit status codes of the JSON parser.
UNIT_OK = 0
UNIT_FALLBACK = 1  # not the common shape: a full JSON parser decides
UNIT_BLANK = 2  # whitespace only

# write_objects' return value when its output buffer is too small.
NO_ROOM = -1
