"""The Panel dashboard over an atlas built by ``atlas_core``."""
