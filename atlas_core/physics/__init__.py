"""Physics: constants and units, coordinate transforms, boundary models."""
