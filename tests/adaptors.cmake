# Tests of the resource adaptors.
