"""pytest suite of the apig Python package (run against the installed wheel)."""
