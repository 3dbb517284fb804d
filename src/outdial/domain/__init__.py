"""Pure rules of outdial: no I/O, no framework imports."""
