"""yunzhang (云章): enterprise electronic identity and electronic seals."""

__version__ = "0.1.0"
