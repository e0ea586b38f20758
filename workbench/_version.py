"""The workbench version, alone: the signature and the dataset card import it from here."""

__version__ = "0.1.0"
