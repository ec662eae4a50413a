"""One reader per data product (MMS FGM/FPI/MEC, Dst/OMNI), the SDC layout, and fetch."""
