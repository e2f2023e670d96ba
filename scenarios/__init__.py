"""The named scenarios shipped with occ (TOML files and their data), as package data."""
