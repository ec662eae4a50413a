"""The synthetic MMS-like archive: orbit, driver, boundaries, regions, CDF writer."""
