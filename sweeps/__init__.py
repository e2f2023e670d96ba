"""The example sweeps shipped with occ (TOML files), as package data."""
